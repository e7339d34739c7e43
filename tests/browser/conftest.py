"""Browser tests: the app served on a real loopback port and opened in Debian's headless
chromium, driven by playwright (which uses the system's browser and downloads none).

They skip only where chromium is absent and ``CI`` is not set: in CI (``CI=true``) a
missing browser or driver fails the run. ``CLASSLEDGER_CHROMIUM`` names another binary.
Every request the page makes goes through one handler that lets only 127.0.0.1 through:
what tried to leave is recorded (and aborted) for the test to assert on.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn

from classledger.http.app import create_app
from classledger.system import System
from tests.http.support import Api

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
PHONE = {"width": 375, "height": 800}


def _chromium() -> str | None:
    given = os.environ.get("CLASSLEDGER_CHROMIUM")
    if given:
        return given if Path(given).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{why}: in CI the browser tests must run (.ci/run installs chromium)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per test module: closed before the rest of the suite runs on."""
    executable = _chromium()
    if executable is None:
        _unavailable("no chromium on this machine (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (make venv)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        yield b
        b.close()


@dataclass
class Tab:
    """A page with what it asked for: every URL, and the ones that tried to leave 127.0.0.1."""

    page: Any
    requested: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def wait_for(self, selector: str, timeout_ms: int = 20_000) -> None:
        from playwright.sync_api import TimeoutError as Timeout

        try:
            self.page.wait_for_selector(selector, timeout=timeout_ms)
        except Timeout as e:
            raise AssertionError(f"{selector} never appeared; what tried to leave 127.0.0.1: {self.left}") from e

    def scroll_width(self) -> int:
        return int(self.page.evaluate("document.documentElement.scrollWidth"))

    def screenshot(self, path: Path) -> tuple[int, int]:
        """The whole page as a PNG at ``path``; answers its width and height in pixels."""
        self.page.screenshot(path=str(path), full_page=True)
        return png_size(path)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    assert data[12:16] == b"IHDR", path
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@contextmanager
def open_tab(browser: Any, *, viewport: dict[str, int] = PHONE, locale: str = "en-US") -> Iterator[Tab]:
    context = browser.new_context(viewport=viewport, locale=locale, service_workers="block")
    tab = Tab(context.new_page())

    def route(r: Any) -> None:
        url = r.request.url
        tab.requested.append(url)
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith("data:"):
            r.continue_()
        else:
            tab.left.append(url)
            r.abort()

    context.route("**/*", route)
    tab.page.on("console", lambda m: tab.console_errors.append(m.text) if m.type == "error" else None)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    """A fresh tenant on each database, as in the HTTP tests; serve its system with ``serving``."""
    system = System.open(database_url)
    yield Api(system)
    system.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(system: System) -> Iterator[str]:
    """The real app for ``system`` under uvicorn on a loopback port; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(system), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, name="browser-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
