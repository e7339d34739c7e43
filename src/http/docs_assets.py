"""The ``/docs`` page, and Swagger UI's own files for it, served by the app from the installed
``swagger-ui-bundle-v2`` package: the page needs no internet and no CDN. Only the files
the page uses are served; any other name is the usual JSON 404. They are the page's
files, not part of the API, so they are mounted beside the route tables and stay out of
the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from classledger.http.errors import ApiError

PREFIX = "/docs/assets"
_DIRECTORY = Path(str(swagger_ui_path))
_FILES = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}
# An hour; after that the ETag and Last-Modified of FileResponse make a revisit cheap.
_CACHE = {"Cache-Control": "public, max-age=3600"}

# The /docs page. Swagger UI's files are served by the app itself (below), so that it works
# with no internet; ``validatorUrl: null`` keeps the page from asking an outside validator.
DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>classledger API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body>
<p style="font-family:sans-serif">classledger API. The machine-readable contract is
<a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Authorize with a staff key
(Bearer) to try the routes.</p>
<div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>if (window.SwaggerUIBundle) { SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui", validatorUrl: null}); }</script>
</body></html>
"""


async def docs_asset(request: Request) -> Response:
    name = str(request.path_params["name"])
    media_type = _FILES.get(name)
    if media_type is None:
        raise ApiError(404, "not_found", f"no file {name!r} in the API documentation's assets", name=name)
    return FileResponse(_DIRECTORY / name, media_type=media_type, headers=_CACHE)


def docs_assets_mount() -> Mount:
    return Mount(PREFIX, routes=[Route("/{name}", docs_asset, methods=["GET"])])
