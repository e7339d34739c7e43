"""Whether an error means the database cannot be reached right now (not a bug).

A server that is down, restarting or refusing connections, a pool with no connection to
give, an SQLite file that cannot be opened or is locked past the timeout, or its file
system gone, read-only or full: the same
request may succeed a little later. The HTTP layer answers these 503 with
``Retry-After``; the projection runner retries them rather than setting an event aside.
Anything else (a constraint, a syntax error, a bug in a handler) is not transient.
"""

from __future__ import annotations

import errno
import sqlite3

import psycopg
from eventsourcing.persistence import ConnectionUnavailableError
from eventsourcing.persistence import InterfaceError as LibInterfaceError
from eventsourcing.persistence import OperationalError as LibOperationalError

__all__ = ["RETRY_AFTER", "unavailable"]

RETRY_AFTER = 5  # seconds a client is asked to wait before trying again

# SQLite reports everything as OperationalError, bugs included ("no such column"): only
# these messages mean the file or its lock, not the statement.
_SQLITE_TRANSIENT = (
    "unable to open database",
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "database or disk is full",
    "readonly database",
)


# An embedded database's file system: its directory gone or unmounted, read-only, full.
_FILE_SYSTEM = {errno.ENOENT, errno.EACCES, errno.EROFS, errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.ENOTCONN}


def unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the database is out of reach."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ConnectionUnavailableError | psycopg.OperationalError | psycopg.InterfaceError):
            return True
        if isinstance(e, sqlite3.OperationalError | LibOperationalError | LibInterfaceError):
            message = str(e).lower()
            if any(m in message for m in _SQLITE_TRANSIENT):
                return True
        if isinstance(e, OSError) and e.errno in _FILE_SYSTEM:
            return True
        e = e.__cause__ or e.__context__
    return False
