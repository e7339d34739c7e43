"""The connection itself, as ``classledger serve`` runs it (uvicorn, http/protocol.py): a
request that is not valid HTTP gets the API's one JSON error body, not uvicorn's plain
text; a client too slow with its headers or its body is answered 408 and cut off, and
nothing it half-sent is applied. Against a real server on a socket."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import uvicorn

from classledger.http.app import create_app
from classledger.http.protocol import MAX_HEADER_BYTES, JsonHttpToolsProtocol
from classledger.http.serve import _UVICORN
from classledger.system import System
from tests.http.support import Api


class QuickProtocol(JsonHttpToolsProtocol):
    header_timeout = 0.5
    body_timeout = 0.5


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Api]]:
    system = System.open(f"sqlite:///{tmp_path}/protocol.db")
    api = Api(system)
    config = uvicorn.Config(create_app(system), host="127.0.0.1", port=0, lifespan="off",
                            **{**_UVICORN, "http": QuickProtocol, "log_level": "warning"})
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield port, api
    srv.should_exit = True
    thread.join(timeout=10)
    system.close()


def exchange(port: int, *parts: bytes, pause: float = 0.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``parts`` (``pause`` seconds apart), read until the server closes; the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        for i, part in enumerate(parts):
            if i and pause:
                time.sleep(pause)
            if select.select([s], [], [], 0)[0]:
                break  # the server has answered (and closed): stop sending
            s.sendall(part)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def error_of(status: int, headers: dict[str, str], body: bytes) -> dict[str, object]:
    assert headers["content-type"] == "application/json"
    parsed = orjson.loads(body)
    assert set(parsed) == {"error"}
    assert set(parsed["error"]) == {"code", "message", "details"}
    return dict(parsed["error"])


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
    b"GET /he althz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",  # two hosts
    b"GET /\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",  # not ASCII
    b"GET http://x:99999999/healthz HTTP/1.1\r\nHost: x\r\n\r\n",  # no port that big
    b"POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
])
def test_a_request_that_is_not_http_gets_the_json_error_body(server: tuple[int, Api], request_bytes: bytes) -> None:
    status, headers, body = exchange(server[0], request_bytes)
    assert status == 400
    assert error_of(status, headers, body)["code"] == "bad_request"
    assert headers["connection"] == "close"


def test_headers_past_the_limit_get_431_in_json(server: tuple[int, Api]) -> None:
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEADER_BYTES + 10) + b"\r\n\r\n"
    status, headers, body = exchange(server[0], big)
    assert status == 431
    error = error_of(status, headers, body)
    assert error["code"] == "headers_too_large"
    assert error["details"] == {"limit": MAX_HEADER_BYTES}


def test_headers_past_the_limit_over_several_reads_get_431(server: tuple[int, Api]) -> None:
    """The limit holds for a head that arrives in pieces, none of them large."""
    pieces = [b"GET /healthz HTTP/1.1\r\nHost: x\r\n"] + [b"X-H%d: %s\r\n" % (i, b"a" * 1000) for i in range(20)]
    status, headers, body = exchange(server[0], *pieces, b"\r\n", pause=0.01)
    assert status == 431
    assert error_of(status, headers, body)["code"] == "headers_too_large"


@pytest.mark.parametrize("coding", [b"gzip", b"gzip, chunked"])
def test_a_transfer_coding_other_than_chunked_is_501_in_json(server: tuple[int, Api], coding: bytes) -> None:
    request = b"POST /v1/commands HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding + b"\r\n\r\n0\r\n\r\n"
    status, headers, body = exchange(server[0], request)
    assert status == 501
    assert error_of(status, headers, body)["code"] == "not_implemented"
    assert headers["connection"] == "close"


def test_pipelined_requests_are_answered_in_order(server: tuple[int, Api]) -> None:
    """Two requests sent at once on a kept-alive connection, the second one's head split
    across reads: both answered, in order, and the connection stays open."""
    port = server[0]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHo")
        time.sleep(0.1)
        s.sendall(b"st: x\r\n\r\n")
        data = b""
        while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"}"):
            data += s.recv(65536)
        first, second = data.split(b"HTTP/1.1 ")[1:]
        assert first.startswith(b"200")
        assert second.startswith(b"404")
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200")


def test_a_client_that_sends_nothing_or_dribbles_its_headers_is_cut_off(server: tuple[int, Api]) -> None:
    port = server[0]
    t0 = time.monotonic()
    status, headers, body = exchange(port)  # connects, says nothing
    assert status == 408
    assert error_of(status, headers, body)["code"] == "request_timeout"
    assert time.monotonic() - t0 < 3
    # A header every 0.3 s: each arrives sooner than the timeout, all of them do not.
    status, headers, body = exchange(port, b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"X-A: 1\r\n", b"X-B: 2\r\n",
                                     b"\r\n", pause=0.3)
    assert status == 408


def test_a_body_that_does_not_arrive_in_time_is_408_and_nothing_is_written(server: tuple[int, Api]) -> None:
    port, api = server
    before = api.events()
    body = orjson.dumps({"name": "Pomalá Klientka", "branch_id": api.branch})
    head = (f"POST /v1/clients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api.keys['admin']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    status, headers, answer = exchange(port, head + body[:10], body[10:], pause=1.0)
    assert status == 408
    assert error_of(status, headers, answer)["details"] == {"timeout_seconds": 0.5}
    time.sleep(0.2)
    assert api.events() == before


def test_a_prompt_client_keeps_its_connection_alive(server: tuple[int, Api]) -> None:
    port = server[0]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        for _ in range(3):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while not data.endswith(b'{"ok":true}'):
                data += s.recv(65536)
            assert data.startswith(b"HTTP/1.1 200")
            time.sleep(0.3)  # idle between requests: that is keep-alive's business, not a read timeout


def test_a_head_request_and_a_waiting_body_are_answered_on_a_kept_alive_connection(server: tuple[int, Api]) -> None:
    """HEAD gets its head alone; a client that asks ``Expect: 100-continue`` hears
    ``100 Continue`` before it sends its body, then the write's answer (API §3)."""
    port, api = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while not data.endswith(b"\r\n\r\n"):
            data += s.recv(65536)
        assert data.startswith(b"HTTP/1.1 200")
        body = orjson.dumps({"name": "Trpezlivá Klientka", "branch_id": api.branch})
        s.sendall((f"POST /v1/clients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {api.keys['admin']}\r\n"
                   f"Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n").encode())
        data = b""
        while not data.endswith(b"\r\n\r\n"):
            data += s.recv(65536)
        assert data == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(body)
        data = b""
        while not data.endswith(b"}"):
            data += s.recv(65536)
        assert data.startswith(b"HTTP/1.1 201")
