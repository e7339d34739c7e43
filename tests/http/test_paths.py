"""Finding a request's route (http/paths.py): a fixed path found by lookup reaches the
route starlette's scan of the whole table would reach, for every method; a wrong method
is still 405 with the path's own Allow, an unknown path still 404 (API §3)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Match, Route

from classledger.http.app import create_app
from classledger.http.paths import PathRouter
from classledger.system import System
from tests.http.support import Api


def test_every_fixed_path_found_by_lookup_is_the_route_the_scan_finds(tmp_path: Path) -> None:
    system = System.open(f"sqlite:///{tmp_path}/paths.db")
    try:
        router = create_app(system).router
        assert isinstance(router, PathRouter)
        assert "/v1/payments" in router.exact
        for path, route in router.exact.items():
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                scope = {"type": "http", "path": path, "root_path": "", "method": method}
                first = next((r for r in router.routes if r.matches(scope)[0] is Match.FULL), None)
                if route.matches(scope)[0] is Match.FULL:
                    assert first is route, (path, method)
    finally:
        system.close()


def test_a_route_shadowed_by_an_earlier_one_is_left_to_the_scan() -> None:
    async def nothing() -> None: ...

    earlier = Route("/v1/pay{rest}", nothing)  # takes /v1/payments before the fixed route below
    router = PathRouter([earlier, Route("/v1/payments", nothing, methods=["POST"]), Route("/v1/keys", nothing)])
    assert set(router.exact) == {"/v1/keys"}


def test_a_wrong_method_and_an_unknown_path_answer_as_before(api: Api) -> None:
    r = api.http.delete("/v1/payments", headers=api.h("admin"))
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert api.http.post("/v1/nowhere", headers=api.h("admin"), json={}).status_code == 404
