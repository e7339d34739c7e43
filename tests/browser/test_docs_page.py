"""API §7: ``/docs`` works with no internet. In a real browser the page renders Swagger UI's
list of operations from /openapi.json, and no request leaves 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from classledger.http.openapi import openapi
from classledger.system import System
from tests.browser.conftest import open_tab, serving


def test_docs_render_the_operations_with_nothing_from_outside(browser: Any, tmp_path: Path) -> None:
    system = System.open(f"sqlite:///{tmp_path}/docs.db")
    try:
        with serving(system) as base, open_tab(browser, viewport={"width": 1280, "height": 900}) as tab:
            tab.page.goto(f"{base}/docs")
            tab.wait_for(".opblock")
            operations = tab.page.locator(".opblock").count()
            paths = set(tab.page.locator(".opblock-summary-path").all_inner_texts())
            shot = tab.screenshot(tmp_path / "docs.png")
    finally:
        system.close()
    documented = sum(len(ops) for ops in openapi()["paths"].values())
    assert operations == documented > 50
    assert {"/v1/clients", "/cabinet/{token}", "/docs"} <= {p.replace("\u200b", "") for p in paths}
    assert tab.left == []
    assert f"{base}/docs/assets/swagger-ui-bundle.js" in tab.requested
    assert f"{base}/openapi.json" in tab.requested
    assert shot[0] == 1280
    assert shot[1] > 3000  # every tag's operations listed down the page
    assert (tmp_path / "docs.png").stat().st_size > 100_000
