"""Paging every list the same way (API §7): ``limit`` and ``cursor`` in,
``{"items", "total", "next_cursor"}`` out; a list is never cut silently.

A cursor is the sort key of the last item given, as base64 of JSON: a page continues
right after it, so pages never skip or repeat an item however many are added meanwhile
before the cursor. ``total`` counts every item of the list, not the rest.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
T = TypeVar("T")


class CursorError(ValueError):
    """A cursor this API did not give out."""


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def decode_cursor(text: str, arity: int, *, integers: bool = True) -> list[Any]:
    """The key a cursor holds: ``arity`` integers (a database's 64-bit ones), or with
    ``integers=False`` strings or integers. Anything else was not given out here."""
    try:
        key = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise CursorError("the cursor is not one this API gave out") from None
    if not isinstance(key, list) or len(key) != arity or not all(_part(k, integers) for k in key):
        raise CursorError("the cursor is not one this API gave out")
    return key


def _part(value: Any, integers: bool) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return isinstance(value, str) and not integers


def page(items: Sequence[T], key: Callable[[T], Sequence[Any]], *, limit: int, cursor: str | None) -> dict[str, Any]:
    """A page of a list held in memory, ``items`` in ``key`` order (a total order)."""
    rest: Sequence[T] = items
    if cursor:
        after = decode_cursor(cursor, len(key(items[0])), integers=False) if items else None
        if after is not None:
            try:
                rest = [i for i in items if list(key(i)) > after]
            except TypeError:
                raise CursorError("the cursor is not one this API gave out") from None
    shown = list(rest[:limit])
    more = len(rest) > limit
    return {"items": shown, "total": len(items),
            "next_cursor": encode_cursor(key(shown[-1])) if more and shown else None}


def sql_page(rows: list[Any], limit: int, key: Callable[[Any], Sequence[Any]]) -> tuple[list[Any], str | None]:
    """Rows read with ``LIMIT limit + 1``: the page and the cursor after it (None at the end)."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(key(rows[-1])) if more and rows else None
