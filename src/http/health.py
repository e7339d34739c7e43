"""What the API answers when part of it cannot: a read model stuck, the database away.

- A read of a tenant whose answer needs a projection stuck for that tenant
  (projections/failures.py) is refused 503 ``read_model_stuck`` with ``Retry-After``:
  never a stale answer presented as current. Reads of other tenants, and of the same
  tenant from other projections or from the event store, keep answering.
- A database that cannot be reached (availability.py) is 503
  ``database_unavailable`` with ``Retry-After``, on any route, instead of a 500.
- ``GET /healthz``: ``{"ok": true}`` when all is well; ``{"ok": false, "status":
  "degraded", "stuck": [...]}`` (still 200: the process is alive and most of the API
  answers; another instance would not do better, they share the database) when some
  projection is stuck; 503 ``database_unavailable`` when the database is away.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import ConnectionUnavailableError, PersistenceError
from starlette.requests import Request
from starlette.responses import Response

from classledger.availability import RETRY_AFTER, unavailable
from classledger.http.errors import ApiError, error_response
from classledger.system import System

log = logging.getLogger("classledger.http")

STUCK_RETRY_AFTER = 60  # a stuck read model waits for a fix, not for a blip

# The projections each read answers from; a read not listed needs every projection (a
# new read is refused rather than answered from a stuck one). Reads of the event store
# itself (a pass, a cabinet user, the audit chain) never catch up and are never refused.
# ``clients`` is there for the tenant's time zone and the client lookups.
READS_FROM: dict[str, tuple[str, ...]] = {
    "list_clients": ("clients", "activity"),
    "client_card": ("clients", "activity", "books", "passes"),
    "client_balance": ("clients", "books"),
    "client_finance": ("clients", "books"),
    "active_clients": ("activity",),
    "activity_report": ("activity",),
    "passes_report": ("clients", "passes"),
    "journal": ("clients", "books"),
    "trial_balance": ("books",),
    "cabinet": ("cabinet", "clients", "passes", "books"),
    "payments_report": ("clients", "books"),
    "list_branches": ("clients", "catalogue"),
    "list_lesson_types": ("clients", "catalogue"),
    "list_custom_fields": ("clients", "catalogue"),
    "list_courses": ("clients", "catalogue"),
    "list_pass_templates": ("clients", "catalogue"),
    "list_groups": ("clients", "catalogue"),
    "group_detail": ("clients", "catalogue"),
    "recalculation_preview": ("clients", "catalogue"),
    "client_history": ("clients", "trail"),
    "list_lessons": ("clients", "lessons"),
    "client_lessons": ("clients", "lessons"),
    "lesson": ("clients", "lessons"),
    "list_rooms": ("clients", "lessons"),
    "list_instructors": ("clients", "lessons"),
    "room_week": ("clients", "lessons"),
    "instructor_week": ("clients", "lessons"),
    "cabinet_me": ("cabinet_users", "cabinet", "books"),  # a parent's cabinet (DOMAIN §8.2)
    "cabinet_link": ("cabinet_users",),  # its identity index finds the clients a proof may match
}

# The read being served (its route name and tenant), set once the caller is known and
# checked once the projections have caught up (``Handlers.catch_up``).
_reading: ContextVar[tuple[str, UUID] | None] = ContextVar("classledger_reading", default=None)


def reading(request: Request, tenant_id: UUID) -> None:
    """Note which tenant this read is for (when the route is a read of projections)."""
    name = request.scope.get("classledger.read")
    if isinstance(name, str):
        _reading.set((name, tenant_id))


def mark_read(name: str, scope: MutableMapping[str, Any]) -> None:
    scope["classledger.read"] = name
    _reading.set(None)


def check_current(system: System, name: str | None = None, tenant_id: UUID | None = None) -> None:
    """Refuse (503) when a projection this read needs is stuck for its tenant. Without
    arguments, the read noted by ``reading`` (none: nothing to check)."""
    if name is None or tenant_id is None:
        noted = _reading.get()
        if noted is None:
            return
        name, tenant_id = noted
    stuck = system.runner.stuck(tenant_id)
    if not stuck:
        return
    needs = READS_FROM.get(name)
    hit = [f for f in stuck if needs is None or f.projection in needs]
    if hit:
        raise ApiError(
            503, "read_model_stuck",
            "this read depends on a read model that cannot apply one of this school's events; "
            "it has been logged and the operators are told by /healthz",
            headers={"Retry-After": str(STUCK_RETRY_AFTER)},
            projections=sorted({f.projection for f in hit}),
            since_notification_id=min(f.notification_id for f in hit),
        )


def database_unavailable() -> Response:
    return error_response(
        503, "database_unavailable", "the database cannot be reached right now; try again shortly",
        headers={"Retry-After": str(RETRY_AFTER)},
    )


async def on_database_error(request: Request, exc: Exception) -> Response:
    """A database error at request time: 503 when the database is out of reach, else a bug."""
    if unavailable(exc):
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return database_unavailable()
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "something went wrong on our side; it has been logged")


# Registered by class, so they answer before starlette's last-resort 500 handler.
DATABASE_HANDLERS: dict[Any, Any] = {
    sqlite3.Error: on_database_error,
    psycopg.Error: on_database_error,
    PersistenceError: on_database_error,
    ConnectionUnavailableError: on_database_error,
}
