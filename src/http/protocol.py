"""The HTTP/1.1 connection as ``classledger serve`` runs it: uvicorn's httptools protocol
(llhttp, in C), with the API's one JSON error body where uvicorn would answer in plain
text, the checks llhttp leaves to the server, and read timeouts.

- A request that is not valid HTTP/1.1 (a bad request line, a malformed header, an
  HTTP/1.1 request without exactly one ``Host``) is answered 400 ``bad_request`` with the
  API error body (API §3) naming the parser's reason; a request line and headers past
  ``MAX_HEADER_BYTES`` 431 ``headers_too_large``; a transfer coding other than
  ``chunked`` 501 ``not_implemented``. Then the connection is closed.
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
from typing import Any, Literal

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADER_BYTES = 16 * 1024  # the request line and headers together
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
KEEP_ALIVE = 5  # seconds an idle kept-alive connection stays open

_PHRASES = {400: "Bad Request", 408: "Request Timeout", 431: "Request Header Fields Too Large",
            501: "Not Implemented"}
_CODES = {400: "bad_request", 408: "request_timeout", 431: "headers_too_large", 501: "not_implemented"}
_END_OF_HEAD = b"\r\n\r\n"

# Where a request stands on its connection: none begun, its line and headers arriving, its body arriving.
Phase = Literal["idle", "head", "body"]


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


class Refused(Exception):
    """A request the server does not take, found in one of the parser's callbacks."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class OneWrite:
    """The transport as a response sees it: the response's head is held until its body
    follows, and both go out in one write (one segment on the wire, not two, with
    ``TCP_NODELAY``). The body follows within the same turn of the event loop (the app
    sends both without waiting); whatever is still held at the end of that turn (a
    response with no body, a body not ready yet) is written then. An interim
    ``100 Continue`` is never held; closing writes what is held first."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._first = True

    def write(self, data: bytes) -> None:
        if self._first and not data.startswith(b"HTTP/1.1 100 "):
            self._first = False
            self._held = data
            self._loop.call_soon(self.flush)
            return
        if self._held is not None:
            data, self._held = self._held + data, None
        self._transport.write(data)

    def flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class JsonHttpToolsProtocol(HttpToolsProtocol):
    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: Phase = "idle"
        self._head_bytes = 0  # of the head being read, counted across reads
        self._head_tail = b""  # the last bytes of the previous read, while in a head
        self._read_timer: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "headers" or "body"

    # ---- protocol errors ---------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._phase != "body" and self._head_too_large(data):
            self._refuse(431, "the request's headers are too large", limit=MAX_HEADER_BYTES)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as e:
            # Refused by a check here, or a request line uvicorn could not take apart (a
            # target llhttp let through that httptools' URL parser does not): 400.
            cause = e.__context__
            status = cause.status if isinstance(cause, Refused) else 400
            self._refuse(status, f"the request is not valid HTTP/1.1: {cause or e}")
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
                return
            self._unsupported_upgrade_warning()
        except httptools.HttpParserError as e:
            status = 501 if "Transfer-Encoding" in str(e) else 400
            reason = str(e) or "unparseable"
            self._refuse(status, f"the request is not valid HTTP/1.1: {reason}")
            return
        self._after_read(data)

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, f"the request is not valid HTTP/1.1: {msg}")

    def _refuse(self, status: int, message: str, **details: Any) -> None:
        self._cancel_read_timer()
        if not self.transport.is_closing():
            self.transport.write(error_bytes(status, message, **details))
            self.transport.close()

    def _head_too_large(self, data: bytes) -> bool:
        """llhttp limits no head: the request line and headers are counted here, up to
        their blank line, across as many reads as they take."""
        if self._head_bytes + len(data) <= MAX_HEADER_BYTES:
            return False
        end = (self._head_tail + data).find(_END_OF_HEAD)
        return end < 0 or self._head_bytes + end - len(self._head_tail) + len(_END_OF_HEAD) > MAX_HEADER_BYTES

    def _after_read(self, data: bytes) -> None:
        """Counts the head still arriving and arms the read timer for what is awaited."""
        if self.transport.is_closing():
            self._cancel_read_timer()
            return
        if self._phase == "head":
            if _END_OF_HEAD in self._head_tail + data:  # a head ended here and the next began
                self._head_bytes = len(data)
            else:
                self._head_bytes += len(data)
            self._head_tail = (self._head_tail + data)[-3:]
            if self._waiting_for != "headers":
                self._arm("headers", self.header_timeout)  # part of a request's head
            return
        self._head_bytes, self._head_tail = 0, b""
        if self._phase == "body":
            if self._waiting_for != "body":
                self._arm("body", self.body_timeout)
        else:
            self._cancel_read_timer()  # all of it arrived

    # ---- the parser's callbacks --------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "head"

    def on_headers_complete(self) -> None:
        hosts = sum(1 for name, _ in self.headers if name == b"host")
        if self.parser.get_http_version() == "1.1" and hosts != 1:
            raise Refused(400, "Missing mandatory Host: header" if hosts == 0 else "Found multiple Host: headers")
        coding = next((value for name, value in self.headers if name == b"transfer-encoding"), None)
        if coding is not None and coding.strip().lower() != b"chunked":
            raise Refused(501, "Only Transfer-Encoding: chunked is supported")
        self._phase = "body"
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not before:
            self.cycle.transport = OneWrite(self.transport, self.loop)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._phase = "idle"
        super().on_message_complete()

    # ---- read timeouts -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        send_without_delay(transport)
        self._arm("headers", self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._phase == "idle":
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
        if not started and (what == "headers" or self._phase == "body"):
            seconds = self.header_timeout if what == "headers" else self.body_timeout
            self.transport.write(error_bytes(
                408, f"the request's {what} did not arrive within {seconds:g} seconds", timeout_seconds=seconds))
        self.transport.close()
