"""What every staff route's handler stands on: the System, the caller, read models caught up,
and the tenant's calendar for the instant parameters.

A handler parses the request, calls one command (``System.execute``) or one read
(``classledger.views``, a read model), and renders the answer. The pipeline and the read
models are synchronous, so they run in the thread pool.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID
from zoneinfo import ZoneInfo

from starlette.requests import Request

from classledger import views
from classledger.application.principal import Principal
from classledger.http.auth import StaffKeyLookup, authenticate
from classledger.http.health import check_current, reading
from classledger.http.instants import instant_us
from classledger.http.offload import run_in_threadpool
from classledger.instants import from_us
from classledger.system import System, now


class Handlers:
    def __init__(self, system: System, body_limit: int) -> None:
        self.system = system
        self.body_limit = body_limit
        self.keys = StaffKeyLookup(system)

    async def principal(self, request: Request) -> Principal:
        principal = await authenticate(self.keys, request)
        reading(request, principal.tenant_id)
        return principal

    async def catch_up(self) -> None:
        await run_in_threadpool(self.system.runner.catch_up)
        check_current(self.system)  # a read model stuck for this tenant is refused, not served stale

    def zone(self, tenant_id: UUID) -> ZoneInfo:
        return views.zone(self.system, tenant_id)

    def today(self, principal: Principal) -> date:
        return views.today(self.system, principal.tenant_id, now())

    def instant(self, principal: Principal, value: date | datetime | None, field: str = "") -> datetime:
        """``as_of``/``at``: the instant asked (default: now), a day its local midnight, with the
        tenant's offset."""
        if value is None:
            return now()
        if isinstance(value, datetime):
            return value
        zone = self.zone(principal.tenant_id)  # one indexed lookup, only when a day is given
        at = instant_us(value, zone, field=field)
        assert at is not None
        return from_us(at).astimezone(zone)
