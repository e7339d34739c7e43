"""A kept-alive connection answers at once, with one worker or several (http/protocol.py):
``serve --workers N`` shares one listening socket that asyncio does not mark as TCP, so
the connections accepted on it must turn Nagle's algorithm off themselves, or every
response's body waits some 40 ms for the client's delayed acknowledgement."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from classledger.http.app import create_app
from classledger.http.serve import _UVICORN
from classledger.system import System


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthz(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"}"):
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    return data


@pytest.fixture
def shared_socket_server(tmp_path: Path) -> Iterator[uvicorn.Server]:
    """The app served as each worker of ``serve --workers N`` serves it: on a listening
    socket bound by uvicorn's supervisor (``Config.bind_socket``), not one it opens itself."""
    system = System.open(f"sqlite:///{tmp_path}/keepalive.db")
    # On asyncio's loop, which sets TCP_NODELAY only on sockets it made itself (uvloop sets
    # it on every TCP connection): the protocol must not depend on the loop for it.
    config = uvicorn.Config(create_app(system), host="127.0.0.1", port=_free_port(), lifespan="off",
                            **{**_UVICORN, "log_level": "warning", "loop": "asyncio"})
    sock = config.bind_socket()
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield srv
    srv.should_exit = True
    thread.join(timeout=10)
    sock.close()
    system.close()


def test_a_connection_accepted_on_the_workers_shared_socket_sends_without_delay(
        shared_socket_server: uvicorn.Server) -> None:
    port = shared_socket_server.config.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        assert _healthz(s).startswith(b"HTTP/1.1 200")
        (connection,) = shared_socket_server.server_state.connections
        accepted = connection.transport.get_extra_info("socket")
        assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_two_workers_answer_a_kept_alive_client_without_the_delayed_ack_stall(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CLASSLEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db"}
    proc = subprocess.Popen([sys.executable, "-m", "classledger.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "no worker answered"
                time.sleep(0.3)
        with s:
            for _ in range(5):
                _healthz(s)  # warm
            times = []
            for _ in range(30):
                t0 = time.perf_counter()
                assert _healthz(s).startswith(b"HTTP/1.1 200")
                times.append(time.perf_counter() - t0)
        # With Nagle's algorithm left on, every one of these took 40 ms or more.
        assert statistics.median(times) < 0.030, times
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
