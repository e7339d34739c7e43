"""The reads of clients, reports, the books, staff keys and the audit (API §3, §7, §9).

Each handler parses the request, catches the read models up when it reads them, calls one
function of ``classledger.views`` (or one read of the event store) and renders it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from classledger import views
from classledger.aggregates.tenant import Tenant
from classledger.application.cabinet_users import cabinet_user_status
from classledger.application.fields import report_horizon
from classledger.application.principal import Principal
from classledger.application.tenants import staff_keys
from classledger.http.errors import ApiError, render
from classledger.http.handlers import Handlers
from classledger.http.inputs import cursor_error, parse_query, path_id
from classledger.http.instants import instant_us, local_date
from classledger.http.offload import run_in_threadpool
from classledger.http.queries import (
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
)
from classledger.projections import exports
from classledger.projections.clients import CursorError
from classledger.projections.paging import CursorError as PageCursorError
from classledger.projections.paging import page as page_of
from classledger.system import now

MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "beancount": "text/plain; charset=utf-8",
}


class ClientReads(Handlers):
    """The read handlers of clients, reports, the books, keys and the audit, part of the
    app's ``Api``."""

    # ---- clients -------------------------------------------------------------------------

    async def list_clients(self, request: Request) -> Response:
        principal = await self.principal(request)
        q = parse_query(request, ClientsQuery)
        await self.catch_up()
        at = now()

        def read() -> dict[str, Any]:
            return views.clients_page(self.system, principal.tenant_id, at=at, q=q.q, tag=q.tag, status=q.status,
                                      branch_id=q.branch_id, include=q.include, limit=q.limit, cursor=q.cursor)

        try:
            page = await run_in_threadpool(read)
        except CursorError as e:
            raise ApiError(422, "invalid_cursor", str(e), parameter="cursor") from None
        return render(page)

    async def client_card(self, request: Request) -> Response:
        principal = await self.principal(request)
        client_id = path_id(request)
        await self.catch_up()
        card = await run_in_threadpool(views.client_card, self.system, principal.tenant_id, client_id, now())
        if card is None:
            raise _no_client(client_id)
        return render(card)

    async def client_balance(self, request: Request) -> Response:
        principal = await self.principal(request)
        client_id = path_id(request)
        at = self.instant(principal, parse_query(request, AsOfQuery).as_of, "as_of")
        await self.catch_up()
        await self.require_client(principal, client_id)
        return render(await run_in_threadpool(views.balance, self.system, principal.tenant_id, client_id, at))

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
        client, decrypted (``views.client_export``)."""
        principal = await self.principal(request)
        client_id = path_id(request)
        await self.catch_up()
        export = await run_in_threadpool(views.client_export, self.system, principal.tenant_id, client_id, now())
        if export is None:
            raise _no_client(client_id)
        return render(export)

    async def require_client(self, principal: Principal, client_id: UUID) -> None:
        if not await run_in_threadpool(views.client_known, self.system, principal.tenant_id, client_id):
            raise _no_client(client_id)

    # ---- reports ---------------------------------------------------------------------------

    async def active_clients(self, request: Request) -> Response:
        principal = await self.principal(request)
        at = self.instant(principal, parse_query(request, AtQuery).at, "at")
        await self.catch_up()
        return render(await run_in_threadpool(views.active_clients, self.system, principal.tenant_id, at))

    async def activity_report(self, request: Request) -> Response:
        principal = await self.principal(request)
        month = parse_query(request, MonthQuery).month
        horizon = report_horizon(now())
        if month > horizon:
            raise ApiError(422, "month_out_of_range", f"reports reach {horizon} at the latest", month=month, max=horizon)
        await self.catch_up()
        report = await run_in_threadpool(views.activity_report, self.system, principal.tenant_id, month, now())
        if report is None:
            raise ApiError(404, "tenant_not_found", "this tenant has no activity records yet")
        return render(report)

    async def passes_report(self, request: Request) -> Response:
        """Passes whose validity overlaps a range (DOMAIN §4.5, §4.11): expired ones only if asked."""
        principal = await self.principal(request)
        q = parse_query(request, PassesQuery)
        await self.catch_up()
        at = now()

        def read() -> dict[str, Any]:
            zone = self.zone(principal.tenant_id)
            items = views.passes_report(self.system, principal.tenant_id, start=local_date(q.from_, zone, field="from"),
                                        end=local_date(q.to, zone, field="to"), include_expired=q.include_expired,
                                        at=at)
            return page_of(items, lambda p: (p["valid_until"], p["id"]), limit=q.limit, cursor=q.cursor)

        try:
            return render(await run_in_threadpool(read))
        except PageCursorError as e:
            raise cursor_error(e) from None

    async def cabinet_user(self, request: Request) -> Response:
        """A parent's login as the front desk sees it when the parent calls (DOMAIN §8.2):
        why linking is refused today (the attempts left), which clients are linked. Read
        from the event store, always current; no secret or hash in it."""
        principal = await self.principal(request)
        user_id = path_id(request)
        today = self.today(principal)
        status = await run_in_threadpool(cabinet_user_status, self.system.app, principal.tenant_id, user_id, today)
        if status is None:
            raise ApiError(404, "cabinet_user_not_found", f"no cabinet user {user_id}", id=str(user_id))
        return render(status)

    # ---- the books -------------------------------------------------------------------------

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
                return views.journal_page(self.system, tenant_id, from_us=from_us, to_us=to_us, kind=q.kind,
                                          client_id=client_id, status=q.status, limit=q.limit, cursor=q.cursor)

            try:
                return render(await run_in_threadpool(page))
            except PageCursorError as e:
                raise cursor_error(e) from None

        def read() -> tuple[list[dict[str, Any]], str]:
            # An export holds the whole range.
            return views.journal_export(self.system, tenant_id, from_us=from_us, to_us=to_us, kind=q.kind,
                                        client_id=client_id, status=q.status)

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
        return render(await run_in_threadpool(views.trial_balance, self.system, principal.tenant_id, at))

    # ---- keys and the audit ----------------------------------------------------------------

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
        return render(await run_in_threadpool(views.audit_verify, self.system, principal.tenant_id, q.expect_head))

    async def audit_actions(self, request: Request) -> Response:
        """Who did what (API §9): the staff action log, paged; days are the tenant's."""
        principal = await self.principal(request)
        q = parse_query(request, AuditActionsQuery)
        await self.catch_up()

        def read() -> dict[str, Any]:
            zone = self.zone(principal.tenant_id)
            return views.audit_actions(self.system, principal, actor=q.actor,
                                       from_us=instant_us(q.from_, zone, field="from"),
                                       to_us=instant_us(q.to, zone, end=True, field="to"), limit=q.limit,
                                       cursor=q.cursor)

        return render(await run_in_threadpool(read))


def _no_client(client_id: UUID) -> ApiError:
    return ApiError(404, "client_not_found", f"no client {client_id}", id=str(client_id))
