"""The HTTP API (API §3): the app, assembled from the route tables.

Every ``/v1`` route needs ``Authorization: Bearer KEY``; the key decides the tenant, the
staff member and the role. Writes go through ``System.execute`` (``writes``), reads
through ``classledger.views`` and the read models, which are caught up first so that they
see what other processes wrote (``reads``, ``readback``, ``schedule``, ``cabinet``). A
parent's own cabinet is ``family_cabinet``. Nothing here knows SQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from classledger.bootstrap import COMMANDS
from classledger.http.about import About
from classledger.http.cabinet import LinkCabinet
from classledger.http.docs_assets import docs_assets_mount
from classledger.http.errors import HANDLERS
from classledger.http.family_cabinet import FamilyCabinet
from classledger.http.health import DATABASE_HANDLERS, mark_read
from classledger.http.inputs import BODY_LIMIT
from classledger.http.openapi import openapi
from classledger.http.paths import PathRouter
from classledger.http.readback import Readback
from classledger.http.reads import ClientReads
from classledger.http.routes import CABINET_ROUTES, READS, WRITES, runnable
from classledger.http.schedule import ScheduleReads
from classledger.http.writes import Endpoint, Writes
from classledger.system import System

H = TypeVar("H")


class Api(Writes, ClientReads, Readback, ScheduleReads, LinkCabinet, About):
    """Every staff and public route's handler, on one System."""

    def __init__(self, system: System, body_limit: int) -> None:
        super().__init__(system, body_limit)
        self.spec = openapi()


def create_app(system: System, *, body_limit: int = BODY_LIMIT) -> Starlette:
    for w in WRITES:
        if not runnable(COMMANDS.get(w.command)):  # the route table and the registry disagree: a bug
            raise RuntimeError(f"{w.method} {w.path} names {w.command}, which no staff key can run")
    api = Api(system, body_limit)
    family = FamilyCabinet(system, body_limit)
    endpoints: dict[str, dict[str, Endpoint]] = {}  # path → method → endpoint
    # First: starlette tries routes in order, and GET /cabinet/{token} would take /cabinet/me.
    for c in CABINET_ROUTES:
        endpoints.setdefault(c.path, {})[c.method] = _bound(c.endpoint, family)
    for w in WRITES:
        endpoints.setdefault(w.path, {})[w.method] = api.write_endpoint(w)
    endpoints.setdefault("/v1/commands", {})["POST"] = api.run_command
    for r in READS:
        endpoints.setdefault(r.path, {})["GET"] = _read(r.name, _bound(r.endpoint, api))
    # One Route per path, dispatching on the method: with one Route per method, starlette
    # would answer a wrong method with the Allow header of whichever route came first.
    routes = [*(Route(path, _by_method(methods), methods=list(methods)) for path, methods in endpoints.items()),
              docs_assets_mount()]
    app = Starlette(routes=routes, exception_handlers={**HANDLERS, **DATABASE_HANDLERS})
    app.router = PathRouter(routes)  # the same table, its fixed paths found by lookup (paths.py)
    return app


def _bound(endpoint: Callable[[H, Request], Awaitable[Response]], handlers: H) -> Endpoint:
    async def bound(request: Request) -> Response:
        return await endpoint(handlers, request)

    return bound


def _read(name: str, endpoint: Endpoint) -> Endpoint:
    async def read(request: Request) -> Response:
        mark_read(name, request.scope)  # which projections it needs (health.READS_FROM)
        return await endpoint(request)

    return read


def _by_method(methods: dict[str, Endpoint]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        # Starlette adds HEAD wherever GET is allowed; HEAD is answered as GET.
        return await (methods.get(request.method) or methods["GET"])(request)

    return endpoint
