"""The HTTP API (API §3): thin routes that parse, call one command or one query, render.

Every ``/v1`` route needs ``Authorization: Bearer KEY``; the key decides the tenant, the
staff member and the role. Writes go through ``System.execute`` (the pipeline), reads
through the projections; nothing here knows SQL. The pipeline is synchronous, so it runs
in the thread pool.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date as date_type
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from classledger.application.clients import client_history
from classledger.application.principal import Principal
from classledger.application.registry import COMMANDS
from classledger.application.tenants import hash_key
from classledger.http.errors import HANDLERS, ApiError, json_response
from classledger.http.openapi import DOCS_HTML, openapi
from classledger.http.routes import WRITES, WriteRoute
from classledger.projections import exports
from classledger.projections.activity import ActivityTimeline
from classledger.projections.activity_model import day_start, us
from classledger.projections.books import Books
from classledger.projections.clients import ClientDirectory, CursorError
from classledger.projections.keys import StaffKeys
from classledger.store import hashchain
from classledger.system import System, now

BODY_LIMIT = 1024 * 1024
KEY_HEADER = re.compile(r"^[\x21-\x7e]{1,200}$")
Endpoint = Callable[[Request], Awaitable[Response]]


# ---- request parsing -------------------------------------------------------------------


async def read_json_object(request: Request, limit: int = BODY_LIMIT) -> dict[str, Any]:
    """The body as a JSON object; 413 past ``limit`` (chunked bodies counted as they come)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "bad_request", "Content-Length is not a number")
        if int(declared) > limit:
            raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes", limit=limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes", limit=limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise ApiError(422, "body_not_object", "the body must be a JSON object")
    return body


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not KEY_HEADER.match(key):
        raise ApiError(400, "bad_idempotency_key", "Idempotency-Key must be 1 to 200 printable ASCII characters")
    return key


def path_uuid(request: Request, name: str = "id") -> UUID:
    try:
        return UUID(request.path_params[name])
    except ValueError:
        raise ApiError(404, "not_found", f"{request.path_params[name]!r} is not an id this API knows") from None


def query_int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not lo <= int(raw) <= hi:
        raise ApiError(422, "invalid_query", f"{name} must be a whole number from {lo} to {hi}", parameter=name)
    return int(raw)


def query_instant(request: Request, name: str) -> datetime:
    raw = request.query_params.get(name)
    if raw is None:
        return now()
    try:
        at = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise ApiError(422, "invalid_query", f"{name} must be an ISO-8601 instant with an offset", parameter=name) from None
    if at.tzinfo is None:
        raise ApiError(422, "invalid_query", f"{name} must carry a UTC offset", parameter=name)
    return at


# ---- the app ---------------------------------------------------------------------------


def create_app(system: System, *, body_limit: int = BODY_LIMIT) -> Starlette:
    keys = system.view(StaffKeys)
    directory = system.view(ClientDirectory)
    activity = system.view(ActivityTimeline)
    books = system.view(Books)

    def authenticate(request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthenticated", "send Authorization: Bearer KEY")
        digest = hash_key(token.strip())
        row = keys.lookup(digest)
        if row is None:
            system.runner.catch_up()  # a key made a moment ago by another process
            row = keys.lookup(digest)
        if row is None:
            raise ApiError(401, "unauthenticated", "this key is not valid")
        return Principal(row.tenant_id, row.staff_id, row.staff_name, row.role, row.city)

    async def run_command(request: Request, principal: Principal, command: str, args: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        spec = COMMANDS.get(command)
        if spec is None or spec.need == "system":
            if command in {w.command for w in WRITES}:
                raise ApiError(501, "not_implemented", f"{command} is part of the API but not built yet", command=command)
            raise ApiError(404, "unknown_command", f"no command {command!r}")
        key = idempotency_key(request)
        result: dict[str, Any] = await run_in_threadpool(
            system.execute, principal, command, args, reason=reason, idempotency_key=key
        )
        return result

    def write_endpoint(route: WriteRoute) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            principal = authenticate(request)
            body = await read_json_object(request, body_limit)
            for param, arg in route.params:
                value = request.path_params[param]
                if arg in body and str(body[arg]) != value:
                    raise ApiError(422, "conflicting_ids", f"{arg} in the body differs from the path", field=arg)
                body[arg] = value
            answer = await run_command(request, principal, route.command, body)
            return json_response(answer, 201 if route.creates else 200)

        return endpoint

    async def any_command(request: Request) -> Response:
        principal = authenticate(request)
        body = await read_json_object(request, body_limit)
        command, args, reason = body.get("command"), body.get("args", {}), body.get("reason")
        if not isinstance(command, str):
            raise ApiError(422, "invalid_body", "'command' must be a command name")
        if not isinstance(args, dict):
            raise ApiError(422, "invalid_body", "'args' must be an object")
        if reason is not None and not isinstance(reason, str):
            raise ApiError(422, "invalid_body", "'reason' must be a string")
        answer = await run_command(request, principal, command, args, reason)
        return json_response(answer)

    async def catch_up() -> None:
        await run_in_threadpool(system.runner.catch_up)

    def today_in(tenant_id: UUID, at: datetime) -> Any:
        tz = directory.timezone(tenant_id) or "UTC"
        return at.astimezone(ZoneInfo(tz)).date()

    async def list_clients(request: Request) -> Response:
        principal = authenticate(request)
        await catch_up()
        qp = request.query_params
        include = frozenset(x for x in qp.get("include", "").split(",") if x)
        if include - {"archived", "deleted"}:
            raise ApiError(422, "invalid_query", "include is a comma list of archived, deleted", parameter="include")
        status = qp.get("status")
        if status not in (None, "active", "inactive"):
            raise ApiError(422, "invalid_query", "status is active or inactive", parameter="status")
        branch = qp.get("branch_id")
        try:
            branch_id = UUID(branch) if branch else None
        except ValueError:
            raise ApiError(422, "invalid_query", "branch_id must be a UUID", parameter="branch_id") from None
        at = us(now())
        try:
            page = await run_in_threadpool(
                lambda: directory.search(
                    principal.tenant_id, q=qp.get("q") or None, tag=qp.get("tag") or None, branch_id=branch_id,
                    include=include, active_sql=activity.active_subquery(principal.tenant_id, at),
                    active=None if status is None else status == "active",
                    limit=query_int(request, "limit", 50, 1, 200), cursor=qp.get("cursor") or None,
                )
            )
        except CursorError as e:
            raise ApiError(422, "invalid_cursor", str(e), parameter="cursor") from None
        return json_response(page)

    async def client_card(request: Request) -> Response:
        principal = authenticate(request)
        client_id = path_uuid(request)
        await catch_up()
        at = now()

        def read() -> dict[str, Any] | None:
            card = directory.card(principal.tenant_id, client_id, today=today_in(principal.tenant_id, at))
            if card is not None:
                card["active"] = activity.is_active(principal.tenant_id, client_id, us(at))
                card["registrations"] = activity.registrations_of(principal.tenant_id, client_id)
                card["balance"] = books.balance(principal.tenant_id, client_id, as_of=us(at))
            return card

        card = await run_in_threadpool(read)
        if card is None:
            raise ApiError(404, "client_not_found", f"no client {client_id}")
        return json_response(card)

    async def history(request: Request) -> Response:
        principal = authenticate(request)
        client_id = path_uuid(request)
        items = await run_in_threadpool(client_history, system.app, principal.tenant_id, client_id)
        if items is None:
            raise ApiError(404, "client_not_found", f"no client {client_id}")
        return json_response({"items": items})

    async def active_clients(request: Request) -> Response:
        principal = authenticate(request)
        at = query_instant(request, "at")
        await catch_up()
        counts = await run_in_threadpool(activity.active_counts, principal.tenant_id, us(at))
        return json_response({"at": at.isoformat(), **counts})

    async def activity_report(request: Request) -> Response:
        principal = authenticate(request)
        month = request.query_params.get("month", "")
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            raise ApiError(422, "invalid_query", "month is YYYY-MM", parameter="month")
        await catch_up()
        report = await run_in_threadpool(lambda: activity.report(principal.tenant_id, month, as_of=us(now())))
        if report is None:
            raise ApiError(404, "tenant_not_found", "this tenant has no activity records yet")
        return json_response(report)

    def instant_or_day(request: Request, name: str, tenant_id: UUID, *, end: bool = False) -> int | None:
        """An ISO instant, or a YYYY-MM-DD day in the tenant's calendar (its start; with
        ``end``, the start of the next day)."""
        raw = request.query_params.get(name)
        if not raw:
            return None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            try:
                day = date_type.fromisoformat(raw)
            except ValueError:
                raise ApiError(422, "invalid_query", f"{name} is not a date", parameter=name) from None
            zone = ZoneInfo(directory.timezone(tenant_id) or "UTC")
            return day_start(day + timedelta(days=1) if end else day, zone)
        return us(query_instant(request, name))

    async def client_balance(request: Request) -> Response:
        principal = authenticate(request)
        client_id = path_uuid(request)
        at = query_instant(request, "as_of")
        await catch_up()
        if await run_in_threadpool(directory.card, principal.tenant_id, client_id) is None:
            raise ApiError(404, "client_not_found", f"no client {client_id}")
        bal = await run_in_threadpool(lambda: books.balance(principal.tenant_id, client_id, as_of=us(at)))
        return json_response({"as_of": at.isoformat(), **bal})

    async def client_finance(request: Request) -> Response:
        """A client's finance history (DOMAIN §6.7): the journal of their transactions."""
        return await journal(request, client=path_uuid(request))

    async def journal(request: Request, client: UUID | None = None) -> Response:
        principal = authenticate(request)
        qp = request.query_params
        fmt = qp.get("format", "json")
        if fmt not in ("json", "csv", "xlsx", "beancount"):
            raise ApiError(422, "invalid_query", "format is json, csv, xlsx or beancount", parameter="format")
        status = qp.get("status")
        if status not in (None, "posted", "cancelled"):
            raise ApiError(422, "invalid_query", "status is posted or cancelled", parameter="status")
        raw_client = qp.get("client_id")
        try:
            client_id = client or (UUID(raw_client) if raw_client else None)
        except ValueError:
            raise ApiError(422, "invalid_query", "client_id must be a UUID", parameter="client_id") from None
        if client is not None and await run_in_threadpool(directory.card, principal.tenant_id, client) is None:
            raise ApiError(404, "client_not_found", f"no client {client}")
        lo = instant_or_day(request, "from", principal.tenant_id)
        hi = instant_or_day(request, "to", principal.tenant_id, end=True)
        await catch_up()
        items = await run_in_threadpool(lambda: books.journal(
            principal.tenant_id, from_us=lo, to_us=hi, kind=qp.get("kind") or None, client_id=client_id, status=status,
            limit=query_int(request, "limit", 100_000 if fmt != "json" else 1000, 1, 1_000_000)))
        if fmt == "json":
            return json_response({"items": items})
        if fmt == "csv":
            return Response(exports.to_csv(items), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": 'attachment; filename="journal.csv"'})
        if fmt == "xlsx":
            return Response(exports.to_xlsx(items), media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            headers={"Content-Disposition": 'attachment; filename="journal.xlsx"'})
        currency, zone = await run_in_threadpool(lambda: (books.tenant_currency(principal.tenant_id), directory.timezone(principal.tenant_id) or "UTC"))
        return Response(exports.to_beancount(items, currency, ZoneInfo(zone)), media_type="text/plain; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="journal.beancount"'})

    async def trial_balance(request: Request) -> Response:
        principal = authenticate(request)
        at = query_instant(request, "as_of")
        await catch_up()
        tb = await run_in_threadpool(lambda: books.trial_balance(principal.tenant_id, as_of=us(at)))
        return json_response({"as_of": at.isoformat(), **tb})

    async def audit_verify(request: Request) -> Response:
        principal = authenticate(request)
        report = await run_in_threadpool(
            lambda: hashchain.verify(principal.tenant_id, system.store.recorder.chain_rows(principal.tenant_id))
        )
        return json_response(
            {"ok": report.ok, "events_checked": report.events_checked,
             "first_bad_notification_id": report.first_bad_notification_id, "detail": report.detail}
        )

    async def health(request: Request) -> Response:
        return json_response({"ok": True})

    spec = openapi()

    async def openapi_json(request: Request) -> Response:
        return json_response(spec)

    async def docs(request: Request) -> Response:
        return HTMLResponse(DOCS_HTML)

    routes = [
        Route("/healthz", health, methods=["GET"]),
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/v1/commands", any_command, methods=["POST"]),
        Route("/v1/clients", list_clients, methods=["GET"]),
        Route("/v1/clients/{id}", client_card, methods=["GET"]),
        Route("/v1/clients/{id}/history", history, methods=["GET"]),
        Route("/v1/reports/active-clients", active_clients, methods=["GET"]),
        Route("/v1/reports/activity", activity_report, methods=["GET"]),
        Route("/v1/audit/verify", audit_verify, methods=["GET"]),
        Route("/v1/clients/{id}/balance", client_balance, methods=["GET"]),
        Route("/v1/ledger/journal", journal, methods=["GET"]),
        Route("/v1/clients/{id}/finance", client_finance, methods=["GET"]),
        Route("/v1/ledger/trial-balance", trial_balance, methods=["GET"]),
    ]
    # Several write routes share a path with a read or with each other (GET and PATCH
    # /v1/clients/{id}); starlette matches the first route whose path fits, so one Route
    # per path dispatches on the method.
    by_path: dict[str, dict[str, Endpoint]] = {}
    for r in routes:
        for m in r.methods or ():
            if m != "HEAD":
                by_path.setdefault(r.path, {})[m] = r.endpoint
    for w in WRITES:
        by_path.setdefault(w.path, {})[w.method] = write_endpoint(w)
    return Starlette(
        routes=[Route(path, _dispatch(methods), methods=list(methods)) for path, methods in by_path.items()],
        exception_handlers=HANDLERS,
    )


def _dispatch(methods: dict[str, Endpoint]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        handler = methods.get(request.method) or methods["GET"]  # HEAD is answered as GET
        return await handler(request)

    return endpoint
