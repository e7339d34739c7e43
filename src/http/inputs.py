"""What a request brings: its JSON body, its Idempotency-Key, its path ids, its query.

Each reader either returns a clean value or raises ``ApiError`` with the status of API §3:
a body that is not acceptable JSON is a 400, a body over the limit a 413, a JSON value of
the wrong shape or a bad query parameter a 422, a path id that is not an id a 404.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar
from uuid import UUID

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from classledger.application.service import validation_details
from classledger.http.errors import ApiError
from classledger.http.offload import run_in_threadpool
from classledger.projections.paging import CursorError

BODY_LIMIT = 1024 * 1024
# No command's arguments nest more than a few levels; the limit only has to stop
# documents built to exhaust recursion somewhere further down (orjson alone allows 1024).
MAX_DEPTH = 32
# I-JSON (RFC 7493 §2.2): beyond ±(2**53 − 1) numbers stop being exact in most JSON
# implementations; orjson itself silently turns integers past 64 bits into floats.
MAX_EXACT = 2**53 - 1
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")

# A JSON string, quotes included ("unrolled" so that long strings match in linear time).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')

M = TypeVar("M", bound=BaseModel)


async def read_json_object(request: Request, limit: int = BODY_LIMIT) -> dict[str, Any]:
    """The body as a JSON object (an empty body is ``{}``: many actions need no fields)."""
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    # Checking a large body takes a while (~0.1 s per MiB): not on the event loop.
    body = parse_json(raw) if len(raw) <= 64 * 1024 else await run_in_threadpool(parse_json, raw)
    if not isinstance(body, dict):
        raise ApiError(422, "body_not_object", "the body must be a JSON object", got=type(body).__name__)
    return body


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 as soon as it is known to exceed ``limit``.

    Starlette reads bodies whole and sets no limit. Content-Length lets us refuse before
    reading; a chunked body has none, so the bytes are counted as they arrive too (and a
    Content-Length that lies is caught the same way).
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.isdigit():
            raise ApiError(400, "bad_content_length", "Content-Length is not a whole number")
        if int(declared) > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "body_too_large", f"the body is larger than {limit} bytes", limit=limit)


def parse_json(raw: bytes) -> Any:
    """Parse JSON and hold it to I-JSON (RFC 7493): orjson refuses invalid UTF-8, lone
    surrogates, NaN and Infinity; here also duplicate keys, inexact numbers and depth."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {e}") from None
    members = _check_shape(value)
    # orjson keeps the last of duplicate keys, so the parsed value cannot show them. In
    # valid JSON every colon outside a string separates one member's key from its value:
    # more colons in the text than members in the value means some key came twice.
    # (A key given twice is ambiguous: whoever reads the body next may pick the other one.)
    if _STRING.sub(b"", raw).count(b":") != members:
        raise ApiError(400, "duplicate_key", "an object in the body has the same key more than once")
    return value


def _check_shape(value: Any) -> int:
    """Refuse too deep nesting and inexact numbers; answer how many object members there are."""
    members = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            members += len(item)
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, int | float) and not isinstance(item, bool) and abs(item) > MAX_EXACT:
                raise ApiError(
                    400, "number_out_of_range", f"numbers must lie within ±{MAX_EXACT} to stay exact", limit=MAX_EXACT
                )
            continue
        if depth > MAX_DEPTH:
            raise ApiError(400, "json_too_deep", f"the body nests deeper than {MAX_DEPTH} levels", limit=MAX_DEPTH)
        stack.extend((child, depth + 1) for child in children)
    return members


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(
            400, "bad_idempotency_key", "Idempotency-Key must be 1 to 200 printable ASCII characters without spaces"
        )
    return key


def path_id(request: Request, name: str = "id") -> UUID:
    """A path segment that names a record. One that is not a UUID names nothing: 404, the
    same answer as for a UUID this tenant does not have."""
    raw = request.path_params[name]
    try:
        return UUID(raw)
    except ValueError:
        raise ApiError(404, "not_found", f"{raw!r} is not an id of this API", parameter=name) from None


def parse_query(request: Request, model: type[M]) -> M:
    """The query string validated by the route's pydantic model (unknown parameters are
    refused, like unknown fields of a command). An empty value means "not given": API §3
    writes its filters as ``?q=&tag=``."""
    items = [(k, v) for k, v in request.query_params.multi_items() if v != ""]
    names = [k for k, _ in items]
    repeated = sorted({k for k in names if names.count(k) > 1})
    if repeated:
        raise ApiError(
            422, "invalid_query", "a query parameter is given more than once (lists are comma-separated)",
            errors=[{"field": k, "problem": "given more than once", "type": "repeated"} for k in repeated],
        )
    try:
        return model.model_validate(dict(items))
    except ValidationError as e:
        raise ApiError(422, "invalid_query", "the query parameters are not valid", errors=validation_details(e)) from None


def cursor_error(e: CursorError) -> ApiError:
    return ApiError(422, "invalid_cursor", str(e), parameter="cursor")
