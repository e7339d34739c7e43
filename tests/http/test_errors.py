"""Every failure has the one error body of API §3 and the right status; bad input is never a 500."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from classledger.http.app import create_app
from classledger.http.inputs import MAX_DEPTH, MAX_EXACT
from classledger.projections.clients import ClientDirectory
from tests.http.support import LIMIT, Api, assert_error

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "raw",
    [b'{"name": ', b"{'name': 'x'}", b'{"name": "x",}', b"NaN", b'{"n": NaN}', b'{"n": Infinity}', b'{"n": -Infinity}',
     b'{"n": 1e400}', b'{"name": "\xff"}', b'{"name": "\\ud800"}', b'{"name": "a\x00"}', b"\xef\xbb\xbf{}",
     b"{} {}", b"[" * 2000, b"nul", b'{"a" 1}'],
)
def test_malformed_json_is_400(api: Api, raw: bytes) -> None:
    before = api.events()
    assert_error(api.raw("/v1/clients", raw, **JSON), 400, "malformed_json")
    assert api.events() == before


def test_duplicate_keys_are_refused(api: Api) -> None:
    # I-JSON (RFC 7493): which of two values a reader takes is anybody's guess.
    cases = [
        b'{"name": "A", "name": "B", "branch_id": "x"}',
        b'{"name": "A", "phones": [{"x": 1, "x": 2}]}',
        b'{"command": "tag_client", "args": {"tag": "a", "tag": "b"}}',
    ]
    for raw in cases:
        assert_error(api.raw("/v1/clients", raw, **JSON), 400, "duplicate_key")
    # Colons and quotes inside strings are not members: these are fine.
    fine = orjson.dumps({"name": 'A: "B": \\ C', "branch_id": api.branch, "notes": "x:y:z \\\" :", "tags": ["a:b"]})
    r = api.raw("/v1/clients", fine, **JSON)
    assert r.status_code == 201, r.text


def test_a_large_body_is_checked_the_same(api: Api) -> None:
    http = TestClient(create_app(api.system), raise_server_exceptions=False)  # the default limit, 1 MiB
    padding = ", ".join(f'"k{i}": "{"x" * 100}"' for i in range(2000)).encode()  # ~220 kB
    r = http.post("/v1/clients", content=b'{"name": "A", ' + padding + b', "name": "B"}', headers=api.h())
    assert_error(r, 400, "duplicate_key")
    r = http.post("/v1/clients", content=b'{"name": "A", ' + padding + b"}", headers=api.h())
    assert_error(r, 422, "invalid_args")


def test_too_deep_and_inexact_numbers_are_400(api: Api) -> None:
    deep = b'{"custom_fields": ' + b'{"a": ' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH + b"}"
    assert_error(api.raw("/v1/clients", deep, **JSON), 400, "json_too_deep")
    deep_list = b'{"phones": ' + b"[" * 300 + b"]" * 300 + b"}"  # past orjson's own output limit (254)
    assert_error(api.raw("/v1/clients", deep_list, **JSON), 400, "json_too_deep")
    for number in (str(MAX_EXACT + 1), "-" + str(MAX_EXACT + 1), "1" + "0" * 30, "1e300", "-1.5e20"):
        body = b'{"name": "A", "branch_id": "%s", "custom_fields": {"n": %s}}' % (api.branch.encode(), number.encode())
        assert_error(api.raw("/v1/clients", body, **JSON), 400, "number_out_of_range")


def test_a_body_that_is_not_an_object_is_422(api: Api) -> None:
    for body in ([1, 2], "text", 5, None, True, []):
        assert_error(api.raw("/v1/clients", orjson.dumps(body), **JSON), 422, "body_not_object")
    assert_error(api.post("/v1/commands", ["register_client"]), 422, "body_not_object")
    assert_error(api.post("/v1/commands", {"command": "register_client", "args": [1]}), 422, "invalid_body")


def test_wrong_types_and_missing_fields_are_422_with_details(api: Api) -> None:
    before = api.events()
    error = assert_error(api.post("/v1/clients", {"name": 5, "branch_id": api.branch}), 422, "invalid_args")
    assert [e["field"] for e in error["details"]["errors"]] == ["name"]
    error = assert_error(api.post("/v1/clients", {"branch_id": "not-a-uuid"}), 422, "invalid_args")
    assert {e["field"] for e in error["details"]["errors"]} == {"name", "branch_id"}
    error = assert_error(api.post("/v1/clients", {"name": "X", "branch_id": api.branch, "shoe_size": 42}), 422, "invalid_args")
    assert error["details"]["errors"][0]["field"] == "shoe_size"
    assert_error(api.post("/v1/clients", {"name": "X", "branch_id": api.branch, "birth_date": "31.12.2020"}), 422, "invalid_args")
    assert_error(api.post("/v1/clients", {}), 422, "invalid_args")
    assert api.events() == before


def test_money_must_be_a_decimal_string(api: Api) -> None:
    before = api.events()
    for price in (12.5, 12, "1e3", "12.5", "12,50", "", "-0.00x", None, ["12.00"]):
        r = api.post("/v1/lesson-types", {"code": "group", "name": "G", "single_visit_price": price}, role="director")
        assert_error(r, 422)
    assert api.events() == before
    r = api.post("/v1/lesson-types", {"code": "group", "name": "G", "single_visit_price": "12.50"}, role="director")
    assert r.status_code == 201, r.text


def test_bodies_over_the_limit_are_413(api: Api) -> None:
    before = api.events()
    big = b'{"name": "' + b"x" * LIMIT + b'"}'
    assert_error(api.raw("/v1/clients", big, **JSON), 413, "body_too_large")

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to go by
        for _ in range(LIMIT // 1000 + 2):
            yield b" " * 1000

    r = api.raw("/v1/clients", chunks(), **JSON)
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert_error(r, 413, "body_too_large")
    assert_error(api.raw("/v1/commands", big), 413, "body_too_large")
    assert api.events() == before
    # Exactly at the limit is fine (and is then just a bad body).
    at_limit = b'{"name": "' + b"x" * (LIMIT - 12) + b'"}'
    assert len(at_limit) == LIMIT
    assert_error(api.raw("/v1/clients", at_limit, **JSON), 422)


def test_a_declared_length_over_the_limit_is_refused_before_reading(api: Api) -> None:
    status, body = asgi(api, "POST", "/v1/clients", [b"{}"], [(b"content-length", str(LIMIT + 1).encode())])
    assert status == 413
    assert body["error"]["code"] == "body_too_large"
    status, body = asgi(api, "POST", "/v1/clients", [b"{}"], [(b"content-length", b"two")])
    assert (status, body["error"]["code"]) == (400, "bad_content_length")
    # A Content-Length that understates the body does not get past the count either.
    status, body = asgi(api, "POST", "/v1/clients", [b" " * 1000] * (LIMIT // 1000 + 2), [(b"content-length", b"10")])
    assert (status, body["error"]["code"]) == (413, "body_too_large")


def test_a_client_that_disconnects_mid_body_is_not_a_500(api: Api) -> None:
    status, body = asgi(api, "POST", "/v1/clients", None, [])
    assert (status, body["error"]["code"]) == (400, "client_disconnected")


def test_unknown_routes_and_methods(api: Api) -> None:
    assert_error(api.get("/v1/nowhere"), 404, "not_found")
    assert_error(api.http.get("/"), 404, "not_found")
    assert_error(api.post("/v1/clients/123/tags/x/y", {}), 405)  # the DELETE route's path (tags may hold "/")
    r = api.send("PUT", "/v1/clients")
    assert_error(r, 405, "method_not_allowed")
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}
    r = api.send("DELETE", f"/v1/clients/{uuid.uuid4()}")
    assert_error(r, 405, "method_not_allowed")
    assert set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "PATCH"}
    assert_error(api.send("GET", "/v1/commands"), 405, "method_not_allowed")


def test_path_ids_that_are_not_ids_are_404_on_reads_and_writes(api: Api) -> None:
    for path in ("/v1/clients/not-a-uuid", "/v1/clients/123/history", "/v1/clients/x/balance", "/v1/clients/x/finance"):
        assert_error(api.get(path), 404, "not_found")
    for method, path in (("PATCH", "/v1/clients/nope"), ("POST", "/v1/clients/nope/tags"),
                         ("DELETE", "/v1/clients/nope/tags/vip"), ("POST", "/v1/registrations/1/confirm"),
                         ("DELETE", f"/v1/clients/{uuid.uuid4()}/family/nope")):
        error = assert_error(api.send(method, path, {"tag": "vip"}), 404, "not_found")
        assert error["details"]["parameter"] in ("id", "member_id")
    # Upper-case UUIDs are UUIDs.
    cid = api.client()
    assert api.get(f"/v1/clients/{cid.upper()}").json()["id"] == cid
    assert api.post(f"/v1/clients/{cid.upper()}/tags", {"tag": "vip"}).status_code == 200


def test_an_id_in_the_body_must_agree_with_the_path(api: Api) -> None:
    cid, other = api.client("A"), api.client("B")
    assert_error(api.post(f"/v1/clients/{cid}/tags", {"client_id": other, "tag": "x"}), 422, "conflicting_ids")
    assert api.post(f"/v1/clients/{cid}/tags", {"client_id": cid.upper(), "tag": "x"}).status_code == 200
    assert_error(api.post(f"/v1/clients/{cid}/family", {"parent_id": other, "member_id": other}), 422, "conflicting_ids")


def test_query_parameters_are_validated_with_details(api: Api) -> None:
    cases: list[tuple[str, dict[str, str], str]] = [
        ("/v1/clients", {"limit": "0"}, "limit"),
        ("/v1/clients", {"limit": "1001"}, "limit"),  # API §7: at most 1000
        ("/v1/clients", {"limit": "ten"}, "limit"),
        ("/v1/clients", {"status": "sleepy"}, "status"),
        ("/v1/clients", {"branch_id": "x"}, "branch_id"),
        ("/v1/clients", {"include": "archived,forgotten"}, "include.1"),
        ("/v1/clients", {"stauts": "active"}, "stauts"),
        ("/v1/reports/active-clients", {"at": "yesterday"}, "at"),
        ("/v1/reports/active-clients", {"at": "2026-01-11T00:00:00"}, "at"),  # no offset: ambiguous
        ("/v1/reports/activity", {"month": "2026-13"}, "month"),
        ("/v1/reports/activity", {}, "month"),
        ("/v1/ledger/journal", {"format": "pdf"}, "format"),
        ("/v1/ledger/journal", {"from": "2026-02-30"}, "from"),
        ("/v1/ledger/journal", {"kind": "gift"}, "kind"),
        ("/v1/ledger/trial-balance", {"as_of": "soon"}, "as_of"),
    ]
    for path, params, field in cases:
        error = assert_error(api.get(path, **params), 422, "invalid_query")
        assert field in [e["field"] for e in error["details"]["errors"]], (path, params, error)
    r = api.http.get("/v1/clients?tag=a&tag=b", headers=api.h())
    assert assert_error(r, 422, "invalid_query")["details"]["errors"][0]["field"] == "tag"
    assert_error(api.get("/v1/clients", cursor="garbage!"), 422, "invalid_cursor")
    # Empty values mean "not given" (API §3 writes the filters as ?q=&tag=), and an
    # unencoded "+" of an offset arrives as a space.
    assert api.http.get("/v1/clients?q=&tag=&status=&branch_id=&include=&limit=&cursor=", headers=api.h()).status_code == 200
    r = api.http.get("/v1/reports/active-clients?at=2026-01-11T00:00:00+01:00", headers=api.h())
    assert r.json()["at"] == "2026-01-11T00:00:00+01:00"


def test_a_bad_idempotency_key_is_400(api: Api) -> None:
    before = api.events()
    body = {"name": "Raz", "branch_id": api.branch}
    for key in ("", "has space", "x" * 201, "tab\there"):
        assert_error(api.post("/v1/clients", body, **{"Idempotency-Key": key}), 400, "bad_idempotency_key")
    r = api.http.post("/v1/clients", json=body, headers=[*api.h().items(), ("Idempotency-Key", "kľúč".encode())])
    assert_error(r, 400, "bad_idempotency_key")
    assert api.events() == before
    assert api.post("/v1/clients", body, **{"Idempotency-Key": "x" * 200}).status_code == 201


def test_an_unexpected_exception_is_a_logged_500(api: Api, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(api.system.view(ClientDirectory), "search", broken)
    with caplog.at_level(logging.ERROR, logger="classledger.http"):
        error = assert_error(api.get("/v1/clients"), 500, "internal_error")
    assert "disk" not in error["message"]  # the caller learns nothing of the inside
    (record,) = [r for r in caplog.records if r.name == "classledger.http"]
    assert record.exc_info is not None
    assert "the disk is on fire" in caplog.text
    assert "Traceback" in caplog.text


# ---- a bare ASGI client, for what an HTTP client library will not send ---------------------


def asgi(api: Api, method: str, path: str, chunks: list[bytes] | None, headers: list[tuple[bytes, bytes]]) -> tuple[int, Any]:
    """Call the app directly. ``chunks=None`` makes the client disconnect before any body."""
    app = create_app(api.system, body_limit=LIMIT)
    messages: list[dict[str, Any]] = (
        [{"type": "http.disconnect"}] if chunks is None
        else [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    )
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"authorization", f"Bearer {api.keys['admin']}".encode()), *headers],
        "client": ("127.0.0.1", 1), "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], orjson.loads(body)
