"""The HTTP API (API §3): thin routes that parse, call one command or one query, render.

Every ``/v1`` route needs ``Authorization: Bearer KEY``; the key decides the tenant, the
staff member and the role. Writes go through ``System.execute`` (the pipeline: role,
validation, idempotency, one atomic save), reads through the projections, which are
caught up first so that they see what other processes wrote. Nothing here knows SQL.
The pipeline and the read models are synchronous, so they run in the thread pool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from classledger.aggregates.client import cabinet_token_hash
from classledger.application.cabinet_users import cabinet_user_status
from classledger.application.clients import client_history as history_of
from classledger.application.principal import Principal
from classledger.application.registry import COMMANDS, CommandSpec
from classledger.http.auth import authenticate
from classledger.http.cabinet_page import cabinet_page
from classledger.http.errors import HANDLERS, ApiError, render
from classledger.http.family_cabinet import FamilyCabinet
from classledger.http.health import (
    DATABASE_HANDLERS,
    check_current,
    health_body,
    mark_read,
    reading,
)
from classledger.http.inputs import (
    BODY_LIMIT,
    idempotency_key,
    parse_query,
    path_id,
    read_json_object,
)
from classledger.http.openapi import DOCS_HTML, openapi
from classledger.http.routes import (
    CABINET_ROUTES,
    READS,
    ROUTE_OF,
    TEXT_PARAMS,
    WRITES,
    AsOfQuery,
    AtQuery,
    ClientsQuery,
    FinanceQuery,
    JournalQuery,
    MonthQuery,
    PassesQuery,
    WriteRoute,
    runnable,
)
from classledger.projections import exports
from classledger.projections.activity import ActivityTimeline
from classledger.projections.activity_model import day_start, us
from classledger.projections.books import Books
from classledger.projections.cabinet import Cabinet
from classledger.projections.clients import ClientDirectory, CursorError
from classledger.projections.passes import PassBook
from classledger.store import hashchain
from classledger.system import System, now

Endpoint = Callable[[Request], Awaitable[Response]]
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "beancount": "text/plain; charset=utf-8",
}


def create_app(system: System, *, body_limit: int = BODY_LIMIT) -> Starlette:
    api = Api(system, body_limit)
    family = FamilyCabinet(system, body_limit)
    endpoints: dict[str, dict[str, Endpoint]] = {}  # path → method → endpoint
    # First: starlette tries routes in order, and GET /cabinet/{token} would take /cabinet/me.
    for c in CABINET_ROUTES:
        endpoints.setdefault(c.path, {})[c.method] = getattr(family, c.name)
    for w in WRITES:
        endpoints.setdefault(w.path, {})[w.method] = api.write_endpoint(w)
    endpoints.setdefault("/v1/commands", {})["POST"] = api.run_command
    for r in READS:
        # A read route is served by the Api method of its name, or is not built yet.
        endpoints.setdefault(r.path, {})["GET"] = _read(r.name, getattr(api, r.name, api.not_built))
    # One Route per path, dispatching on the method: with one Route per method, starlette
    # would answer a wrong method with the Allow header of whichever route came first.
    return Starlette(
        routes=[Route(path, _by_method(methods), methods=list(methods)) for path, methods in endpoints.items()],
        exception_handlers={**HANDLERS, **DATABASE_HANDLERS},
    )


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


class Api:
    def __init__(self, system: System, body_limit: int) -> None:
        self.system = system
        self.body_limit = body_limit
        self.directory = system.view(ClientDirectory)
        self.activity = system.view(ActivityTimeline)
        self.books = system.view(Books)
        self.passes = system.view(PassBook)
        self.cabinet_links = system.view(Cabinet)
        self.spec = openapi(unbuilt_reads=[r.name for r in READS if not hasattr(self, r.name)])

    async def principal(self, request: Request) -> Principal:
        principal = await authenticate(self.system, request)
        reading(request, principal.tenant_id)
        return principal

    async def catch_up(self) -> None:
        await run_in_threadpool(self.system.runner.catch_up)
        check_current(self.system)  # a read model stuck for this tenant is refused, not served stale

    # ---- writes --------------------------------------------------------------------------

    def write_endpoint(self, route: WriteRoute) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            principal = await self.principal(request)
            spec = command_spec(route.command)
            key = idempotency_key(request)
            args = await read_json_object(request, self.body_limit)
            for param, arg in route.params.items():
                value = request.path_params[param] if param in TEXT_PARAMS else str(path_id(request, param))
                if arg in args and not _same(args[arg], value):
                    raise ApiError(422, "conflicting_ids", f"{arg} in the body differs from the path", field=arg)
                args[arg] = value
            return await self.execute(principal, spec, args, key)

        return endpoint

    async def run_command(self, request: Request) -> Response:
        """``POST /v1/commands``: ``{"command", "args", "reason"?}``, answered as the command's route."""
        principal = await self.principal(request)
        key = idempotency_key(request)
        body = await read_json_object(request, self.body_limit)
        unknown = sorted(body.keys() - {"command", "args", "reason"})
        if unknown:
            raise ApiError(422, "invalid_body", "the body has only command, args and reason", unknown=unknown)
        command, args, reason = body.get("command"), body.get("args", {}), body.get("reason")
        if not isinstance(command, str):
            raise ApiError(422, "invalid_body", "command must be a command's name", field="command")
        if not isinstance(args, dict):
            raise ApiError(422, "invalid_body", "args must be a JSON object", field="args")
        if reason is not None and not isinstance(reason, str):
            raise ApiError(422, "invalid_body", "reason must be a string", field="reason")
        return await self.execute(principal, command_spec(command), args, key, reason)

    async def execute(
        self, principal: Principal, spec: CommandSpec, args: dict[str, Any], key: str | None, reason: str | None = None
    ) -> Response:
        answer = await run_in_threadpool(
            self.system.execute, principal, spec.name, args, reason=reason, idempotency_key=key
        )
        route = ROUTE_OF.get(spec.name)
        return render(answer, route.status if route is not None else 200)

    # ---- reads: clients ------------------------------------------------------------------

    async def list_clients(self, request: Request) -> Response:
        principal = await self.principal(request)
        q = parse_query(request, ClientsQuery)
        await self.catch_up()
        at = now()

        def search() -> dict[str, Any]:
            return self.directory.search(
                principal.tenant_id, q=q.q, tag=q.tag, status=q.status, branch_id=q.branch_id,
                include=q.include, limit=q.limit, cursor=q.cursor, at=at,
                active_sql=self.activity.active_subquery(principal.tenant_id, us(at)),
            )

        try:
            page = await run_in_threadpool(search)
        except CursorError as e:
            raise ApiError(422, "invalid_cursor", str(e), parameter="cursor") from None
        return render(page)

    async def client_card(self, request: Request) -> Response:
        principal = await self.principal(request)
        client_id = path_id(request)
        await self.catch_up()
        at = now()

        def read() -> dict[str, Any] | None:
            card = self.directory.card(principal.tenant_id, client_id, at=at)
            if card is not None:
                # The card's other parts live in other read models.
                card["active"] = self.activity.is_active(principal.tenant_id, client_id, us(at))
                card["registrations"] = self.activity.registrations_of(principal.tenant_id, client_id)
                card["balance"] = self.books.balance(principal.tenant_id, client_id, as_of=us(at))
                card.update(self.passes.card_part(principal.tenant_id, client_id, self._today(principal, at)))
            return card

        card = await run_in_threadpool(read)
        if card is None:
            raise _no_client(client_id)
        return render(card)

    async def client_history(self, request: Request) -> Response:
        principal = await self.principal(request)
        client_id = path_id(request)
        # Read from the event store itself, which is always current: no catch-up needed.
        items = await run_in_threadpool(history_of, self.system.app, principal.tenant_id, client_id)
        if items is None:
            raise _no_client(client_id)
        return render({"items": items})

    async def client_balance(self, request: Request) -> Response:
        principal = await self.principal(request)
        client_id = path_id(request)
        at = parse_query(request, AsOfQuery).as_of or now()
        await self.catch_up()
        await self.require_client(principal, client_id)
        balance = await run_in_threadpool(lambda: self.books.balance(principal.tenant_id, client_id, as_of=us(at)))
        return render({"as_of": at.isoformat(), **balance})

    async def client_finance(self, request: Request) -> Response:
        """A client's finance history (DOMAIN §6.7): the journal of their transactions."""
        principal = await self.principal(request)
        client_id = path_id(request)
        q = parse_query(request, FinanceQuery)
        await self.catch_up()
        await self.require_client(principal, client_id)
        return await self.journal_of(principal, q, client_id)

    async def require_client(self, principal: Principal, client_id: UUID) -> None:
        if await run_in_threadpool(self.directory.card, principal.tenant_id, client_id) is None:
            raise _no_client(client_id)

    # ---- reads: reports, ledger, audit ---------------------------------------------------

    async def active_clients(self, request: Request) -> Response:
        principal = await self.principal(request)
        at = parse_query(request, AtQuery).at or now()
        await self.catch_up()
        counts = await run_in_threadpool(self.activity.active_counts, principal.tenant_id, us(at))
        return render({"at": at.isoformat(), **counts})

    async def activity_report(self, request: Request) -> Response:
        principal = await self.principal(request)
        month = parse_query(request, MonthQuery).month
        await self.catch_up()
        report = await run_in_threadpool(lambda: self.activity.report(principal.tenant_id, month, as_of=us(now())))
        if report is None:
            raise ApiError(404, "tenant_not_found", "this tenant has no activity records yet")
        return render(report)

    async def cabinet_user(self, request: Request) -> Response:
        """A parent's login as the front desk sees it when the parent calls (DOMAIN §8.2):
        why linking is refused today (the attempts left), which clients are linked. Read
        from the event store, always current; no secret or hash in it."""
        principal = await self.principal(request)
        user_id = path_id(request)
        today = self._today(principal, now())
        status = await run_in_threadpool(cabinet_user_status, self.system.app, principal.tenant_id, user_id, today)
        if status is None:
            raise ApiError(404, "cabinet_user_not_found", f"no cabinet user {user_id}", id=str(user_id))
        return render(status)

    def _today(self, principal: Principal, at: datetime) -> date:
        return at.astimezone(ZoneInfo(self.directory.timezone(principal.tenant_id) or "UTC")).date()

    async def passes_report(self, request: Request) -> Response:
        """Passes whose validity overlaps a range (DOMAIN §4.5, §4.11): expired ones only if asked."""
        principal = await self.principal(request)
        q = parse_query(request, PassesQuery)
        await self.catch_up()
        at = now()

        def read() -> list[dict[str, Any]]:
            return self.passes.report(principal.tenant_id, start=q.from_, end=q.to,
                                      include_expired=q.include_expired, today=self._today(principal, at))

        return render({"items": await run_in_threadpool(read)})

    async def journal(self, request: Request) -> Response:
        principal = await self.principal(request)
        q = parse_query(request, JournalQuery)
        await self.catch_up()
        return await self.journal_of(principal, q, q.client_id)

    async def journal_of(self, principal: Principal, q: FinanceQuery, client_id: UUID | None) -> Response:
        tenant_id = principal.tenant_id

        def read() -> tuple[list[dict[str, Any]], str, ZoneInfo]:
            zone = ZoneInfo(self.directory.timezone(tenant_id) or "UTC")
            items = self.books.journal(
                tenant_id, from_us=_instant_us(q.from_, zone), to_us=_instant_us(q.to, zone, end=True),
                kind=q.kind, client_id=client_id, status=q.status,
                # A page of JSON for a screen; an export wants everything.
                limit=q.limit or (1000 if q.format == "json" else 1_000_000),
            )
            return items, (self.books.tenant_currency(tenant_id) if q.format == "beancount" else ""), zone

        items, currency, zone = await run_in_threadpool(read)
        if q.format == "json":
            return render({"items": items})
        if q.format == "csv":
            content: bytes | str = exports.to_csv(items)
        elif q.format == "xlsx":
            content = exports.to_xlsx(items)
        else:
            content = exports.to_beancount(items, currency, zone)
        disposition = {"Content-Disposition": f'attachment; filename="journal.{q.format}"'}
        return Response(content, media_type=MEDIA[q.format], headers=disposition)

    async def trial_balance(self, request: Request) -> Response:
        principal = await self.principal(request)
        at = parse_query(request, AsOfQuery).as_of or now()
        await self.catch_up()
        tb = await run_in_threadpool(lambda: self.books.trial_balance(principal.tenant_id, as_of=us(at)))
        return render({"as_of": at.isoformat(), **tb})

    async def audit_verify(self, request: Request) -> Response:
        principal = await self.principal(request)
        recorder = self.system.store.recorder
        report = await run_in_threadpool(
            lambda: hashchain.verify(principal.tenant_id, recorder.chain_rows(principal.tenant_id))
        )
        return render({
            "ok": report.ok, "events_checked": report.events_checked,
            "first_bad_notification_id": report.first_bad_notification_id, "detail": report.detail,
        })

    # ---- service -------------------------------------------------------------------------

    async def cabinet(self, request: Request) -> Response:
        """DOMAIN §8.1: the client's read-only cabinet, opened by its link alone: balance,
        attendance, passes with the lessons left and their validity. JSON for ``Accept:
        application/json``, an HTML page otherwise. A revoked or replaced link, or a
        deleted client, is a 404 like a link that never existed."""
        token = str(request.path_params["token"])
        await self.catch_up()
        at = now()

        def read() -> dict[str, Any] | None:
            found = self.cabinet_links.lookup(cabinet_token_hash(token))
            if found is None:
                return None
            tenant_id, client_id = found
            check_current(self.system, "cabinet", tenant_id)
            zone = ZoneInfo(self.directory.timezone(tenant_id) or "UTC")
            today = at.astimezone(zone).date()
            card = self.directory.card(tenant_id, client_id, today=today)
            if card is None or card["deleted"]:
                return None
            passes = self.passes.card_part(tenant_id, client_id, today)
            return {
                "name": card["name"],
                "as_of": at.isoformat(),
                "balance": self.books.balance(tenant_id, client_id, as_of=us(at)),
                "remainders": passes["remainders"],
                "passes": [{k: p[k] for k in ("lesson_type", "lessons_total", "lessons_remaining", "valid_from",
                                              "valid_until", "state")} for p in passes["passes"]],
                "attendance": self.cabinet_links.attendance(tenant_id, client_id),
            }

        view = await run_in_threadpool(read)
        if view is None:
            raise ApiError(404, "cabinet_not_found", "this cabinet link does not exist or no longer works")
        if "application/json" in request.headers.get("accept", ""):
            return render(view)
        return HTMLResponse(cabinet_page(view))

    async def health(self, request: Request) -> Response:
        return render(await run_in_threadpool(health_body, self.system))

    async def openapi_json(self, request: Request) -> Response:
        return render(self.spec)

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(DOCS_HTML)

    async def not_built(self, request: Request) -> Response:
        if request.url.path.startswith("/v1/"):
            await self.principal(request)  # a /v1 route says 401 before anything else
        raise ApiError(501, "not_implemented", f"{request.url.path} is part of the API but not built yet")


def command_spec(name: str) -> CommandSpec:
    """The command to run over HTTP. Tenant set-up (``need="system"``) is CLI-only: over
    HTTP it does not exist (404), since no key can ever be allowed to run it, whereas a 403
    would suggest that a stronger role could."""
    spec = COMMANDS.get(name)
    if runnable(spec):
        return spec
    if name in ROUTE_OF:
        raise ApiError(501, "not_implemented", f"{name} is part of the API but not built yet", command=name)
    raise ApiError(404, "unknown_command", f"no command {name!r}", command=name)


def _same(given: Any, value: str) -> bool:
    if given == value:
        return True
    try:
        return UUID(str(given)) == UUID(value)
    except ValueError:
        return False


def _instant_us(value: date | datetime | None, zone: ZoneInfo, *, end: bool = False) -> int | None:
    """An instant as is; a day as the start of that day in the tenant's calendar (with
    ``end``, the start of the next one, so that a ``to`` day is included whole)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return us(value)
    return day_start(value + timedelta(days=1) if end else value, zone)


def _no_client(client_id: UUID) -> ApiError:
    return ApiError(404, "client_not_found", f"no client {client_id}", id=str(client_id))
