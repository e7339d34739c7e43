"""The API's one error body (API §3) for every failure, starlette's own included.

``{"error": {"code": "snake_case", "message": "...", "details": {...}}}``: the code is
stable and meant for programs, the message is for people, the details say which field,
parameter or limit. Domain refusals carry their own status (``Refused.status``); what the
HTTP layer itself refuses is an ``ApiError``; anything else is a bug, answered 500 and
logged with its traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from classledger.aggregates.errors import Refused
from classledger.availability import RETRY_AFTER, unavailable

log = logging.getLogger("classledger.http")


class ApiError(Exception):
    """A refusal of the HTTP layer itself (a bad header, body, path or query)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def render(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # Answers may be keyed by ids (UUIDs); orjson renders those, dates and datetimes itself.
    content = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
    return Response(content, status_code=status, media_type="application/json", headers=headers)


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Response:
    return render({"error": {"code": code, "message": message, "details": details or {}}}, status, headers)


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def on_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    retry_after = exc.details.get("retry_after")
    headers = {"Retry-After": str(retry_after)} if exc.status == 429 and retry_after is not None else None
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


# Starlette raises these itself: routing (404, 405) and anything a middleware may add.
STARLETTE_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


async def on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = STARLETTE_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = exc.detail
    # 405 carries Allow (RFC 9110 §15.5.6); keep whatever headers starlette set.
    return error_response(exc.status_code, code, message, headers=dict(exc.headers or {}))


async def on_disconnect(request: Request, exc: Exception) -> Response:
    # The client went away mid-body: nobody will read this answer, and it is not our bug,
    # so it must not reach the 500 handler and its traceback.
    return error_response(400, "client_disconnected", "the client closed the connection before sending the body")


async def on_unexpected(request: Request, exc: Exception) -> Response:
    if unavailable(exc):  # the database, out of reach, behind some other error
        return error_response(503, "database_unavailable", "the database cannot be reached right now; try again shortly",
                              headers={"Retry-After": str(RETRY_AFTER)})
    # A 500 is a bug: log it whole, tell the caller little.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "something went wrong on our side; it has been logged")


HANDLERS: dict[Any, Any] = {
    ApiError: on_api_error,
    Refused: on_refused,
    HTTPException: on_http_exception,
    ClientDisconnect: on_disconnect,
    Exception: on_unexpected,
}
