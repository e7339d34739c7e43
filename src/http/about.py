"""The public routes about the service itself: liveness (``/healthz``), the OpenAPI
document and the human-readable API documentation."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from classledger import views
from classledger.http.docs_assets import DOCS_HTML
from classledger.http.errors import render
from classledger.http.handlers import Handlers
from classledger.http.offload import run_in_threadpool


class About(Handlers):
    """The service's own handlers, part of the app's ``Api``."""

    spec: dict[str, Any]  # the OpenAPI document, written from the route tables when the app is built

    async def health(self, request: Request) -> Response:
        return render(await run_in_threadpool(views.health, self.system))

    async def openapi_json(self, request: Request) -> Response:
        return render(self.spec)

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(DOCS_HTML)
