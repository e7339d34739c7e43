"""Refusals: every business rule that says no raises one of these, with a stable code.

The HTTP layer maps the class to a status (API §3): ``Invalid`` 422, ``NotFound`` 404,
``Forbidden`` 403, ``Conflict`` 409, ``TooMany`` 429 (with ``retry_after`` seconds in its
details, which HTTP also sends as ``Retry-After``). Nothing is written when one is raised.
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    status = 409

    # Positional-only, so a detail may be called "code" or "message" too.
    def __init__(self, code: str, message: str, /, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class Invalid(Refused):
    status = 422


class NotFound(Refused):
    status = 404


class Forbidden(Refused):
    status = 403


class Conflict(Refused):
    status = 409


class TooMany(Refused):
    status = 429
