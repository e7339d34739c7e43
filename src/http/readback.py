"""The reads of API §7: the catalogue, one group and one pass, the previews before money
moves, the payments report, the client's whole history, and the instant parameters.

Every list pages the same way (``projections.paging``). Every instant parameter (``as_of``,
``at``, ``from``, ``to``) is parsed once (``routes.DayOrInstant``) and resolved here, on the
tenant's calendar, the same on every route: a day means the tenant's local midnight at its
start (a ``to`` day is included whole: the range ends at the next day's midnight), an
instant with its offset means itself.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response

from classledger.application import readback
from classledger.application.principal import Principal
from classledger.http.errors import ApiError, render
from classledger.http.inputs import parse_query, path_id
from classledger.http.offload import run_in_threadpool
from classledger.http.queries import GroupsQuery, Paged, RecalculationQuery
from classledger.http.routes import PaymentsQuery
from classledger.instants import bound_us, from_us
from classledger.projections.books import Books
from classledger.projections.catalogue import Catalogue, Kind
from classledger.projections.clients import ClientDirectory
from classledger.projections.paging import CursorError
from classledger.projections.trail import ClientTrail
from classledger.system import System, now


def instant_us(value: date | datetime | None, zone: ZoneInfo, *, end: bool = False, field: str = "") -> int | None:
    """An instant parameter as microseconds (``instants.bound_us``); a day whose midnight
    the calendar cannot hold is a 422."""
    try:
        return bound_us(value, zone, end=end)
    except (OverflowError, ValueError):
        raise ApiError(422, "invalid_query", "the query parameters are not valid", errors=[
            {"field": field, "problem": "the day's midnight lies outside the calendar", "type": "out_of_range"}]) from None


def local_date(value: date | datetime | None, zone: ZoneInfo, *, field: str = "") -> date | None:
    """A day parameter: a day as is, an instant as its day on the tenant's calendar."""
    if value is None or not isinstance(value, datetime):
        return value
    try:
        return value.astimezone(zone).date()
    except (OverflowError, ValueError):
        raise ApiError(422, "invalid_query", "the query parameters are not valid", errors=[
            {"field": field, "problem": "the instant's day lies outside the calendar", "type": "out_of_range"}]) from None


def cursor_error(e: CursorError) -> ApiError:
    return ApiError(422, "invalid_cursor", str(e), parameter="cursor")


class Readback:
    """The handlers of API §7's reads, mixed into the app's ``Api``."""

    system: System
    directory: ClientDirectory

    if TYPE_CHECKING:  # the API this is mixed into authenticates and catches up
        async def principal(self, request: Request) -> Principal: ...

        async def catch_up(self) -> None: ...

    # ---- instants ------------------------------------------------------------------------

    def zone(self, tenant_id: UUID) -> ZoneInfo:
        return ZoneInfo(self.directory.timezone(tenant_id) or "UTC")

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

    # ---- the catalogue -------------------------------------------------------------------

    @property
    def catalogue(self) -> Catalogue:
        return self.system.view(Catalogue)

    async def _entries(self, request: Request, kind: Kind) -> Response:
        principal = await self.principal(request)
        q = parse_query(request, Paged)
        await self.catch_up()
        try:
            page = await run_in_threadpool(
                lambda: self.catalogue.entries(principal.tenant_id, kind, limit=q.limit, cursor=q.cursor))
        except CursorError as e:
            raise cursor_error(e) from None
        return render(page)

    async def list_branches(self, request: Request) -> Response:
        return await self._entries(request, "branch")

    async def list_lesson_types(self, request: Request) -> Response:
        return await self._entries(request, "lesson_type")

    async def list_custom_fields(self, request: Request) -> Response:
        return await self._entries(request, "custom_field")

    async def list_courses(self, request: Request) -> Response:
        return await self._entries(request, "course")

    async def list_pass_templates(self, request: Request) -> Response:
        return await self._entries(request, "pass_template")

    def today(self, principal: Principal) -> date:
        return now().astimezone(self.zone(principal.tenant_id)).date()

    async def list_groups(self, request: Request) -> Response:
        principal = await self.principal(request)
        q = parse_query(request, GroupsQuery)
        await self.catch_up()

        def read() -> dict[str, Any]:
            return self.catalogue.groups(principal.tenant_id, today=self.today(principal), course_id=q.course_id,
                                         branch_id=q.branch_id, state=q.state, limit=q.limit, cursor=q.cursor)

        try:
            return render(await run_in_threadpool(read))
        except CursorError as e:
            raise cursor_error(e) from None

    async def group_detail(self, request: Request) -> Response:
        """One group with its counts, every registration it holds (oldest first, with its
        state) and its waitlist in promotion order (DOMAIN §3.2)."""
        principal = await self.principal(request)
        group_id = path_id(request)
        await self.catch_up()

        def read() -> dict[str, Any] | None:
            group = self.catalogue.group(principal.tenant_id, group_id, today=self.today(principal))
            places = readback.group_places(self.system.app, principal.tenant_id, group_id)
            if group is None or places is None:
                return None
            held = [*places["seats"], *places["waitlist"]]
            states = self.catalogue.registration_states(principal.tenant_id, [p["registration_id"] for p in held])
            group["registrations"] = [
                {"id": p["registration_id"], "client_id": p["client_id"], "state": states.get(p["registration_id"])}
                for p in places["seats"]
            ]
            group["waitlist"] = [{**p, "state": states.get(p["registration_id"])} for p in places["waitlist"]]
            return group

        group = await run_in_threadpool(read)
        if group is None:
            raise ApiError(404, "group_not_found", f"no group {group_id}", id=str(group_id))
        return render(group)

    # ---- one pass and its previews ---------------------------------------------------------

    async def pass_detail(self, request: Request) -> Response:
        principal = await self.principal(request)
        pass_id = path_id(request)

        def read() -> dict[str, Any]:
            return readback.pass_view(self.system.app, principal.tenant_id, pass_id, self.today(principal))

        return render(await run_in_threadpool(read))

    async def recalculation_preview(self, request: Request) -> Response:
        principal = await self.principal(request)
        pass_id = path_id(request)
        q = parse_query(request, RecalculationQuery)
        await self.catch_up()

        def read() -> dict[str, Any]:
            ids = self.catalogue.keys(principal.tenant_id, "pass_template")
            return readback.recalculation_preview(self.system.app, principal.tenant_id, pass_id,
                                                  [UUID(i) for i in ids], q.template_id)

        return render(await run_in_threadpool(read))

    async def refund_preview(self, request: Request) -> Response:
        principal = await self.principal(request)
        pass_id = path_id(request)
        return render(await run_in_threadpool(readback.refund_preview, self.system.app, principal.tenant_id, pass_id))

    # ---- money and history ---------------------------------------------------------------

    async def payments_report(self, request: Request) -> Response:
        """DOMAIN §6.4: payments in time order; cancelled ones only with ``include_cancelled``."""
        principal = await self.principal(request)
        q = parse_query(request, PaymentsQuery)
        await self.catch_up()

        def read() -> dict[str, Any]:
            zone = self.zone(principal.tenant_id)
            return self.system.view(Books).payments(
                principal.tenant_id, from_us=instant_us(q.from_, zone, field="from"),
                to_us=instant_us(q.to, zone, end=True, field="to"),
                branch_id=q.branch_id, money=None if q.method is None else "cash" if q.method == "cash" else "bank",
                include_cancelled=q.include_cancelled, limit=q.limit, cursor=q.cursor)

        try:
            return render(await run_in_threadpool(read))
        except CursorError as e:
            raise cursor_error(e) from None

    async def client_history(self, request: Request) -> Response:
        """Every event of the client and of what is the client's, oldest first, paged (API §7)."""
        principal = await self.principal(request)
        client_id = path_id(request)
        q = parse_query(request, Paged)
        await self.catch_up()

        def read() -> dict[str, Any] | None:
            card = self.directory.card(principal.tenant_id, client_id)
            if card is None:
                return None
            page = self.system.view(ClientTrail).page(principal.tenant_id, client_id, limit=q.limit, cursor=q.cursor)
            page["items"] = readback.history_items(self.system.app, principal.tenant_id, page["items"])
            if card.get("erased"):
                # DOMAIN §2.9: the client's own events say their personal data is gone.
                page["erased"] = True
                for item in page["items"]:
                    if item["aggregate_id"] == str(client_id):
                        item["erased"] = True
            return page

        try:
            page = await run_in_threadpool(read)
        except CursorError as e:
            raise cursor_error(e) from None
        if page is None:
            raise ApiError(404, "client_not_found", f"no client {client_id}", id=str(client_id))
        return render(page)
