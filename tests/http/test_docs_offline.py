"""API §7: ``GET /docs`` works with no internet. The page names no other host: Swagger UI's
files come from the app itself, and a name that is not one of them is the usual JSON 404."""

from __future__ import annotations

import re

from classledger.system import System
from tests.http.support import Api, assert_error


def test_the_docs_page_loads_nothing_from_another_host(system: System) -> None:
    page = Api(system).http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text), page.text
    assert re.findall(r"(?:src|href)=\"(/[^\"]*)\"", page.text) == [
        "/docs/assets/favicon-32x32.png", "/docs/assets/swagger-ui.css", "/openapi.json", "/docs/assets/swagger-ui-bundle.js"]
    assert "validatorUrl: null" in page.text  # no badge fetched from an outside validator


def test_swagger_uis_files_are_served_by_the_app(system: System) -> None:
    http = Api(system).http
    js = http.get("/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in js.text
    css = http.get("/docs/assets/swagger-ui.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ".swagger-ui" in css.text
    assert http.get("/docs/assets/favicon-32x32.png").content.startswith(b"\x89PNG")


def test_only_the_pages_files_are_served(system: System) -> None:
    http = Api(system).http
    for name in ("index.html", "..%2Fpyproject.toml", "swagger-ui.js.map", "nothing"):
        assert_error(http.get(f"/docs/assets/{name}"), 404, "not_found")
    assert_error(http.get("/docs/assets/../../pyproject.toml"), 404)
