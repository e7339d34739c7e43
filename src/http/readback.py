"""The reads of API §7: the catalogue, one group and one pass, the previews before money
moves, the payments report, the client's whole history.

Every list pages the same way (``projections.paging``); every instant parameter is
resolved on the tenant's calendar (``instants``).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from classledger import views
from classledger.application import readback
from classledger.http.errors import ApiError, render
from classledger.http.handlers import Handlers
from classledger.http.inputs import cursor_error, parse_query, path_id
from classledger.http.instants import instant_us
from classledger.http.offload import run_in_threadpool
from classledger.http.queries import GroupsQuery, Paged, PaymentsQuery, RecalculationQuery
from classledger.projections.books import Books
from classledger.projections.catalogue import Catalogue, Kind
from classledger.projections.paging import CursorError
from classledger.system import now


class Readback(Handlers):
    """The handlers of API §7's reads, part of the app's ``Api``."""

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

        group = await run_in_threadpool(views.group, self.system, principal.tenant_id, group_id, now())
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
            return views.client_history(self.system, principal.tenant_id, client_id, limit=q.limit, cursor=q.cursor)

        try:
            page = await run_in_threadpool(read)
        except CursorError as e:
            raise cursor_error(e) from None
        if page is None:
            raise ApiError(404, "client_not_found", f"no client {client_id}", id=str(client_id))
        return render(page)
