"""The HTTP/1.1 connection as ``classledger serve`` runs it: uvicorn's h11 protocol, with
the API's one JSON error body where uvicorn would answer in plain text, and read timeouts.

- A request uvicorn cannot parse (a bad request line, a malformed header, headers past
  ``MAX_HEADER_BYTES``) is answered with the API error body (API §3): 400
  ``bad_request``, 431 ``headers_too_large`` (501 for a transfer coding it does not do),
  then the connection is closed.
- Slow clients are cut off: a request's line and headers must all arrive within
  ``HEADER_TIMEOUT`` seconds of the connection opening, or of the first byte of the next
  request on a kept-alive one; a request's body within ``BODY_TIMEOUT`` seconds of its
  headers. Either answers 408 ``request_timeout`` and closes the connection; the
  application sees the client as gone and changes nothing. An idle kept-alive
  connection is closed after uvicorn's ``timeout_keep_alive``.
- Every accepted connection sends without Nagle's delay (``TCP_NODELAY``). asyncio sets it
  only on sockets it created for a host and port; ``serve --workers N`` hands the workers
  one listening socket made without a protocol number, and the connections accepted on it
  kept Nagle's algorithm: a response's head and body, written apart, waited for the
  client's delayed acknowledgement (some 40 ms a request on a kept-alive connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import h11
import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEADER_BYTES = 16 * 1024  # the request line and headers together (h11's own default)
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
KEEP_ALIVE = 5  # seconds an idle kept-alive connection stays open

_PHRASES = {400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large",
            501: "Not Implemented"}
_CODES = {400: "bad_request", 408: "request_timeout", 431: "headers_too_large", 501: "not_implemented"}


def error_bytes(status: int, message: str, **details: Any) -> bytes:
    """A whole HTTP/1.1 response carrying the API's error body, closing the connection."""
    body = orjson.dumps({"error": {"code": _CODES[status], "message": message, "details": details}})
    head = (
        f"HTTP/1.1 {status} {_PHRASES[status]}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def send_without_delay(transport: asyncio.BaseTransport) -> None:
    """``TCP_NODELAY`` on the transport's socket, when it is a TCP one."""
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    with contextlib.suppress(OSError):  # a connection already gone: nothing to send to
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Connection(h11.Connection):
    """h11's connection, keeping the protocol error it raised (uvicorn drops it)."""

    error: h11.RemoteProtocolError | None = None

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as e:
            self.error = e
            raise


class JsonH11Protocol(H11Protocol):
    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conn = self._h11 = _Connection(h11.SERVER, self.config.h11_max_incomplete_event_size or MAX_HEADER_BYTES)
        self._read_timer: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "headers" or "body"

    # ---- protocol errors ---------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        error = self._h11.error
        status = error.error_status_hint if error is not None else 400
        status = status if status in _PHRASES else 400
        reason = str(error) if error is not None and str(error) else msg
        message = ("the request's headers are too large" if status == 431
                   else f"the request is not valid HTTP/1.1: {reason}")
        self._cancel_read_timer()
        if not self.transport.is_closing():
            self.transport.write(error_bytes(status, message, limit=MAX_HEADER_BYTES) if status == 431
                                 else error_bytes(status, message))
            self.transport.close()

    # ---- read timeouts -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        send_without_delay(transport)
        self._arm("headers", self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._head_too_large(data):
            self._unset_keepalive_if_required()
            self._h11.error = h11.RemoteProtocolError("headers too large", error_status_hint=431)
            self.send_400_response("headers too large")
            return
        super().data_received(data)
        if self.transport.is_closing():
            self._cancel_read_timer()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._waiting_for != "headers":
                self._arm("headers", self.header_timeout)  # part of the next request's head
        elif state is h11.SEND_BODY:
            if self._waiting_for != "body":
                self._arm("body", self.body_timeout)
        else:
            self._cancel_read_timer()  # all of it arrived

    def _head_too_large(self, data: bytes) -> bool:
        """h11 limits only a head still incomplete; one that arrives whole in a single read
        is limited here (the request line and headers, up to their blank line)."""
        pending = self.conn.trailing_data[0]
        if len(pending) + len(data) <= MAX_HEADER_BYTES:
            return False
        end = (pending + data).find(b"\r\n\r\n")
        return end < 0 or end + 4 > MAX_HEADER_BYTES

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._cancel_read_timer()  # idle now: uvicorn's keep-alive timeout takes over

    def _arm(self, what: str, seconds: float) -> None:
        self._cancel_read_timer()
        self._waiting_for = what
        self._read_timer = self.loop.call_later(seconds, self._timed_out, what)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer = None
        self._waiting_for = None

    def _timed_out(self, what: str) -> None:
        self._read_timer = None
        self._waiting_for = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        started = cycle is not None and cycle.response_started
        if cycle is not None and not cycle.response_complete:
            # The application waiting for the body is told the client left: it changes nothing.
            cycle.disconnected = True
            cycle.message_event.set()
        if not started and (what == "headers" or self.conn.their_state is h11.SEND_BODY):
            seconds = self.header_timeout if what == "headers" else self.body_timeout
            self.transport.write(error_bytes(
                408, f"the request's {what} did not arrive within {seconds:g} seconds", timeout_seconds=seconds))
        self.transport.close()
