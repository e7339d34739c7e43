"""The client's read-only cabinet behind its secret link (DOMAIN §8.1): JSON for ``Accept:
application/json``, an HTML page otherwise. A revoked or replaced link, or a deleted
client, is a 404 like a link that never existed; failed links count against the caller
(``throttle``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from classledger import views
from classledger.aggregates.tenant import Tenant
from classledger.http.cabinet_page import browser_locale, cabinet_page, not_found_page, presentation
from classledger.http.errors import ApiError, render
from classledger.http.handlers import Handlers
from classledger.http.health import check_current
from classledger.http.offload import run_in_threadpool
from classledger.http.throttle import throttle_of
from classledger.system import now

# A cabinet page is one person's data behind a secret link: no cache keeps it, no Referer carries the link.
_PRIVATE_PAGE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class LinkCabinet(Handlers):
    """The cabinet's handler, part of the app's ``Api``."""

    async def cabinet(self, request: Request) -> Response:
        """DOMAIN §8.1: the client's read-only cabinet, opened by its link alone: balance,
        attendance, passes with the lessons left and their validity."""
        token = str(request.path_params["token"])
        throttle = throttle_of(request)
        throttle.check(request)
        await self.catch_up()
        at = now()

        def read() -> tuple[dict[str, Any], Tenant | None] | None:
            found = views.cabinet_owner(self.system, token)
            if found is None:
                return None
            tenant_id, client_id = found
            check_current(self.system, "cabinet", tenant_id)
            return views.cabinet(self.system, tenant_id, client_id, at)

        found = await run_in_threadpool(read)
        accept = request.headers.get("accept", "")
        if found is None:
            throttle.failed(request)
            if "text/html" in accept and "application/json" not in accept:  # a browser: a page, not JSON
                page = not_found_page(browser_locale(request.headers.get("accept-language", "")))
                return HTMLResponse(page, status_code=404, headers=_PRIVATE_PAGE)
            raise ApiError(404, "cabinet_not_found", "this cabinet link does not exist or no longer works")
        view, tenant = found
        if "application/json" in accept:
            return render(view)
        return HTMLResponse(cabinet_page(view, presentation(tenant)), headers=_PRIVATE_PAGE)
