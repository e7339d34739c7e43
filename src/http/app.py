"""The HTTP API (API §3): thin routes that parse, call one command or one query, render.

Every ``/v1`` route needs ``Authorization: Bearer KEY``; the key decides the tenant, the
staff member and the role. Writes go through ``System.execute`` (the pipeline: role,
validation, idempotency, one atomic save), reads through the projections, which are
caught up first so that they see what other processes wrote. Nothing here knows SQL.
The pipeline and the read models are synchronous, so they run in the thread pool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from classledger.aggregates.client import cabinet_token_hash
from classledger.aggregates.tenant import Tenant
from classledger.application.audit import parse_head, staff_actions, verify_chain
from classledger.application.cabinet_users import cabinet_user_status
from classledger.application.fields import report_horizon
from classledger.application.principal import Principal
from classledger.application.readback import history_items
from classledger.application.registry import CommandSpec
from classledger.application.tenants import staff_keys
from classledger.bootstrap import COMMANDS
from classledger.http.auth import authenticate
from classledger.http.cabinet_page import (
    Presentation,
    browser_locale,
    cabinet_page,
    not_found_page,
    presentation,
)
from classledger.http.docs_assets import docs_assets_mount
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
from classledger.http.offload import run_in_threadpool
from classledger.http.openapi import DOCS_HTML, openapi
from classledger.http.readback import cursor_error, instant_us, local_date
from classledger.http.routes import (
    CABINET_ROUTES,
    READS,
    ROUTE_OF,
    TEXT_PARAMS,
    WRITES,
    AsOfQuery,
    AtQuery,
    AuditActionsQuery,
    AuditVerifyQuery,
    ClientsQuery,
    FinanceQuery,
    JournalQuery,
    KeysQuery,
    MonthQuery,
    PassesQuery,
    WriteRoute,
    runnable,
)
from classledger.http.schedule import ScheduleReads
from classledger.http.throttle import throttle_of
from classledger.instants import us
from classledger.projections import exports
from classledger.projections.activity import ActivityTimeline
from classledger.projections.books import Books
from classledger.projections.cabinet import Cabinet
from classledger.projections.catalogue import Catalogue
from classledger.projections.clients import ClientDirectory, CursorError
from classledger.projections.paging import CursorError as PageCursorError
from classledger.projections.paging import page as page_of
from classledger.projections.passes import PassBook
from classledger.projections.peak import with_peak_clients
from classledger.projections.trail import ClientTrail
from classledger.system import System, now

Endpoint = Callable[[Request], Awaitable[Response]]
# A cabinet page is one person's data behind a secret link: no cache keeps it, no Referer carries the link.
_PRIVATE_PAGE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "beancount": "text/plain; charset=utf-8",
}


def create_app(system: System, *, body_limit: int = BODY_LIMIT) -> Starlette:
    for w in WRITES:
        if not runnable(COMMANDS.get(w.command)):  # the route table and the registry disagree: a bug
            raise RuntimeError(f"{w.method} {w.path} names {w.command}, which no staff key can run")
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
        # A read route is served by the Api method of its name (an AttributeError here is a bug).
        endpoints.setdefault(r.path, {})["GET"] = _read(r.name, getattr(api, r.name))
    # One Route per path, dispatching on the method: with one Route per method, starlette
    # would answer a wrong method with the Allow header of whichever route came first.
    return Starlette(
        routes=[*(Route(path, _by_method(methods), methods=list(methods)) for path, methods in endpoints.items()),
                docs_assets_mount()],
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


class Api(ScheduleReads):
    def __init__(self, system: System, body_limit: int) -> None:
        self.system = system
        self.body_limit = body_limit
        self.directory = system.view(ClientDirectory)
        self.activity = system.view(ActivityTimeline)
        self.books = system.view(Books)
        self.passes = system.view(PassBook)
        self.cabinet_links = system.view(Cabinet)
        self.spec = openapi()

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

        def with_values() -> dict[str, Any]:
            page = search()
            self._fill_cards(principal, page["items"], at)
            return page

        try:
            page = await run_in_threadpool(with_values)
        except CursorError as e:
            raise ApiError(422, "invalid_cursor", str(e), parameter="cursor") from None
        return render(page)

    def _fill_cards(self, principal: Principal, items: list[dict[str, Any]], at: datetime) -> None:
        """A list's items carry the card's true values (API §7): activity, balance, passes,
        remainders and registrations, read for the whole page at once."""
        tenant_id, ids = principal.tenant_id, [str(i["id"]) for i in items]
        active = self.activity.active_among(tenant_id, ids, us(at))
        balances = self.books.balances(tenant_id, ids, as_of=us(at))
        passes = self.passes.card_parts(tenant_id, ids, self._today(principal, at))
        registrations = self.system.view(Catalogue).registrations_of_many(tenant_id, ids)
        for item in items:
            cid = str(item["id"])
            item.update(active=cid in active, balance=balances[cid], registrations=registrations[cid], **passes[cid])

    async def client_card(self, request: Request) -> Response:
        principal = await self.principal(request)
        client_id = path_id(request)
        await self.catch_up()
        at = now()

        card = await run_in_threadpool(self._card, principal, client_id, at)
        if card is None:
            raise _no_client(client_id)
        return render(card)

    def _card(self, principal: Principal, client_id: UUID, at: datetime) -> dict[str, Any] | None:
        card = self.directory.card(principal.tenant_id, client_id, at=at)
        if card is not None:
            # The card's other parts live in other read models.
            card["active"] = self.activity.is_active(principal.tenant_id, client_id, us(at))
            # Every registration with its state, cancelled ones included, newest first (API §7).
            card["registrations"] = self.system.view(Catalogue).registrations_of(principal.tenant_id, client_id)
            card["balance"] = self.books.balance(principal.tenant_id, client_id, as_of=us(at))
            card.update(self.passes.card_part(principal.tenant_id, client_id, self._today(principal, at)))
        return card

    async def client_balance(self, request: Request) -> Response:
        principal = await self.principal(request)
        client_id = path_id(request)
        at = self.instant(principal, parse_query(request, AsOfQuery).as_of, "as_of")
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

    async def client_export(self, request: Request) -> Response:
        """The right of access (DOMAIN §2.9, API §9): everything the school holds about the
        client, personal data decrypted: the card as ``GET /v1/clients/{id}`` shows it, every
        event of the client and of its related records, and every transaction of theirs."""
        principal = await self.principal(request)
        client_id = path_id(request)
        await self.catch_up()
        at = now()
        tenant_id = principal.tenant_id

        def read() -> dict[str, Any] | None:
            card = self._card(principal, client_id, at)
            if card is None:
                return None
            refs: list[tuple[UUID, int]] = []
            cursor: str | None = None
            while True:  # the client's whole history, page by page (ClientTrail)
                page = self.system.view(ClientTrail).page(tenant_id, client_id, limit=1000, cursor=cursor)
                refs += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            history = history_items(self.system.app, tenant_id, refs)
            finance = self.books.journal(tenant_id, client_id=client_id, limit=1_000_000)
            return {"client_id": str(client_id), "exported_at": at.isoformat(), "card": card, "history": history,
                    "finance": finance}

        export = await run_in_threadpool(read)
        if export is None:
            raise _no_client(client_id)
        return render(export)

    async def require_client(self, principal: Principal, client_id: UUID) -> None:
        if await run_in_threadpool(self.directory.card, principal.tenant_id, client_id) is None:
            raise _no_client(client_id)

    # ---- reads: reports, ledger, audit ---------------------------------------------------

    async def active_clients(self, request: Request) -> Response:
        principal = await self.principal(request)
        at = self.instant(principal, parse_query(request, AtQuery).at, "at")
        await self.catch_up()
        counts = await run_in_threadpool(self.activity.active_counts, principal.tenant_id, us(at))
        return render({"at": at.isoformat(), **counts})

    async def activity_report(self, request: Request) -> Response:
        principal = await self.principal(request)
        month = parse_query(request, MonthQuery).month
        horizon = report_horizon(now())
        if month > horizon:
            raise ApiError(422, "month_out_of_range", f"reports reach {horizon} at the latest", month=month, max=horizon)
        await self.catch_up()
        report = await run_in_threadpool(lambda: self.activity.report(principal.tenant_id, month, as_of=us(now())))
        if report is None:
            raise ApiError(404, "tenant_not_found", "this tenant has no activity records yet")
        # DOMAIN §5.8: who the peak counted, and why.
        return render(await run_in_threadpool(with_peak_clients, self.activity, self.directory, principal.tenant_id, report))

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

        def read() -> dict[str, Any]:
            zone = self.zone(principal.tenant_id)
            items = self.passes.report(principal.tenant_id, start=local_date(q.from_, zone, field="from"),
                                       end=local_date(q.to, zone, field="to"),
                                       include_expired=q.include_expired, today=self._today(principal, at))
            # Paged in (valid_until, id) order: a total order a cursor can continue.
            items.sort(key=lambda p: (p["valid_until"], p["id"]))
            return page_of(items, lambda p: (p["valid_until"], p["id"]), limit=q.limit, cursor=q.cursor)

        try:
            return render(await run_in_threadpool(read))
        except PageCursorError as e:
            raise cursor_error(e) from None

    async def journal(self, request: Request) -> Response:
        principal = await self.principal(request)
        q = parse_query(request, JournalQuery)
        await self.catch_up()
        return await self.journal_of(principal, q, q.client_id)

    async def journal_of(self, principal: Principal, q: FinanceQuery, client_id: UUID | None) -> Response:
        tenant_id = principal.tenant_id

        zone = await run_in_threadpool(self.zone, tenant_id)
        from_us, to_us = instant_us(q.from_, zone, field="from"), instant_us(q.to, zone, end=True, field="to")
        if q.format == "json":
            # A list like every other (API §7): paged, never cut.
            def page() -> dict[str, Any]:
                return self.books.journal_page(tenant_id, from_us=from_us, to_us=to_us, kind=q.kind,
                                               client_id=client_id, status=q.status, limit=q.limit, cursor=q.cursor)

            try:
                return render(await run_in_threadpool(page))
            except PageCursorError as e:
                raise cursor_error(e) from None

        def read() -> tuple[list[dict[str, Any]], str]:
            # An export holds the whole range.
            items = self.books.journal(tenant_id, from_us=from_us, to_us=to_us, kind=q.kind, client_id=client_id,
                                       status=q.status, limit=2**62)
            return items, (self.books.tenant_currency(tenant_id) if q.format == "beancount" else "")

        items, currency = await run_in_threadpool(read)
        if q.format == "csv":
            content: bytes | str = exports.to_csv(items)
        elif q.format == "xlsx":
            content = exports.to_xlsx(items, zone=zone)
        else:
            content = exports.to_beancount(items, currency, zone)
        disposition = {"Content-Disposition": f'attachment; filename="journal.{q.format}"'}
        return Response(content, media_type=MEDIA[q.format], headers=disposition)

    async def trial_balance(self, request: Request) -> Response:
        principal = await self.principal(request)
        at = self.instant(principal, parse_query(request, AsOfQuery).as_of, "as_of")
        await self.catch_up()
        tb = await run_in_threadpool(lambda: self.books.trial_balance(principal.tenant_id, as_of=us(at)))
        return render({"as_of": at.isoformat(), **tb})

    async def list_keys(self, request: Request) -> Response:
        """The staff keys the caller may revoke (a director or above), oldest first; never a
        key or its hash. Read from the tenant's record: a revocation shows at once."""
        principal = await self.principal(request)
        principal.require("director")
        q = parse_query(request, KeysQuery)
        tenant = await run_in_threadpool(self.system.app.find, Tenant, principal.tenant_id, principal.tenant_id)
        items = staff_keys(tenant, principal) if tenant is not None else []
        start = 0
        if q.cursor is not None:
            ids = [k["id"] for k in items]
            if q.cursor not in ids:
                raise ApiError(422, "invalid_cursor", "this cursor is no next_cursor of this list", parameter="cursor")
            start = ids.index(q.cursor) + 1
        page = items[start:start + q.limit]
        more = start + q.limit < len(items)
        return render({"items": page, "total": len(items), "next_cursor": page[-1]["id"] if more else None})

    async def audit_verify(self, request: Request) -> Response:
        """DOMAIN §9.3, §9.4: the chain recomputed under the deployment's key, its ``head``;
        with ``expect_head``, whether the log still reaches the head an auditor kept."""
        principal = await self.principal(request)
        q = parse_query(request, AuditVerifyQuery)
        expect = None if q.expect_head is None else parse_head(q.expect_head)
        answer = await run_in_threadpool(verify_chain, self.system.store, principal.tenant_id, expect)
        return render(answer)

    async def audit_actions(self, request: Request) -> Response:
        """Who did what (API §9): the staff action log, paged; days are the tenant's."""
        principal = await self.principal(request)
        q = parse_query(request, AuditActionsQuery)
        await self.catch_up()

        def read() -> dict[str, Any]:
            zone = ZoneInfo(self.directory.timezone(principal.tenant_id) or "UTC")
            from_us = instant_us(q.from_, zone, field="from")
            to_us = instant_us(q.to, zone, end=True, field="to")
            return staff_actions(self.system.store, principal, actor=q.actor, from_us=from_us, to_us=to_us,
                                 limit=q.limit, cursor=q.cursor)

        return render(await run_in_threadpool(read))

    # ---- service -------------------------------------------------------------------------

    async def cabinet(self, request: Request) -> Response:
        """DOMAIN §8.1: the client's read-only cabinet, opened by its link alone: balance,
        attendance, passes with the lessons left and their validity. JSON for ``Accept:
        application/json``, an HTML page otherwise. A revoked or replaced link, or a
        deleted client, is a 404 like a link that never existed."""
        token = str(request.path_params["token"])
        throttle = throttle_of(request)
        throttle.check(request)
        await self.catch_up()
        at = now()

        def read() -> tuple[dict[str, Any], Presentation] | None:
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
            view = {
                "name": card["name"],
                "as_of": at.isoformat(),
                "balance": self.books.balance(tenant_id, client_id, as_of=us(at)),
                "remainders": passes["remainders"],
                "passes": [{k: p[k] for k in ("lesson_type", "lessons_total", "lessons_remaining", "valid_from",
                                              "valid_until", "state")} for p in passes["passes"]],
                "attendance": self.cabinet_links.attendance(tenant_id, client_id),
            }
            return view, presentation(self.system.app.find(Tenant, tenant_id, tenant_id))

        found = await run_in_threadpool(read)
        accept = request.headers.get("accept", "")
        if found is None:
            throttle.failed(request)
            if "text/html" in accept and "application/json" not in accept:  # a browser: a page, not JSON
                page = not_found_page(browser_locale(request.headers.get("accept-language", "")))
                return HTMLResponse(page, status_code=404, headers=_PRIVATE_PAGE)
            raise ApiError(404, "cabinet_not_found", "this cabinet link does not exist or no longer works")
        view, shown = found
        if "application/json" in accept:
            return render(view)
        return HTMLResponse(cabinet_page(view, shown), headers=_PRIVATE_PAGE)

    async def health(self, request: Request) -> Response:
        return render(await run_in_threadpool(health_body, self.system))

    async def openapi_json(self, request: Request) -> Response:
        return render(self.spec)

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(DOCS_HTML)


def command_spec(name: str) -> CommandSpec:
    """The command to run over HTTP. Tenant set-up (``need="system"``) is CLI-only: over
    HTTP it does not exist (404), since no key can ever be allowed to run it, whereas a 403
    would suggest that a stronger role could."""
    spec = COMMANDS.get(name)
    if runnable(spec):
        return spec
    raise ApiError(404, "unknown_command", f"no command {name!r}", command=name)


def _same(given: Any, value: str) -> bool:
    if given == value:
        return True
    try:
        return UUID(str(given)) == UUID(value)
    except ValueError:
        return False


def _no_client(client_id: UUID) -> ApiError:
    return ApiError(404, "client_not_found", f"no client {client_id}", id=str(client_id))
