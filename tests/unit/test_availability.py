"""Which errors mean "the database is out of reach" (503, retry later) and which are bugs
(500, an event set aside by the projection runner): a bug must never pass for an outage,
nor an outage for a bug."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)

from classledger.availability import unavailable


def _sqlite_error(path: str, sql: str = "SELECT 1") -> sqlite3.Error:
    try:
        sqlite3.connect(path).execute(sql)
    except sqlite3.Error as e:
        return e
    raise AssertionError("no error")


def _wrapped(cause: BaseException, outer: type[Exception] = RuntimeError) -> Exception:
    try:
        try:
            raise cause
        except BaseException as e:
            raise outer(str(e)) from e
    except Exception as e:
        return e
    raise AssertionError("unreachable")


def test_a_database_out_of_reach_is_unavailable(tmp_path: Path) -> None:
    cannot_open = _sqlite_error(str(tmp_path / "no" / "such" / "dir.db"))
    assert "unable to open" in str(cannot_open)
    assert unavailable(cannot_open)
    assert unavailable(_wrapped(cannot_open, InterfaceError))  # as the library's pool raises it
    assert unavailable(sqlite3.OperationalError("database is locked"))
    assert unavailable(psycopg.OperationalError("connection refused"))
    assert unavailable(_wrapped(psycopg.OperationalError("server closed the connection"), OperationalError))
    assert unavailable(OSError(errno.ENOSPC, "No space left on device"))
    assert unavailable(FileNotFoundError(errno.ENOENT, "gone", "/data/classledger.db-writer.lock"))


@pytest.mark.parametrize("error", [
    sqlite3.OperationalError("no such table: p_clients_v3_clients"),
    sqlite3.OperationalError('near "SELEC": syntax error'),
    sqlite3.IntegrityError("UNIQUE constraint failed"),
    IntegrityError("duplicate key"),
    ProgrammingError("column does not exist"),
    psycopg.errors.UndefinedColumn("column x does not exist"),
    KeyError("amount"),
    ValueError("year 0 is out of range"),
    OSError(errno.EINVAL, "Invalid argument"),
])
def test_a_bug_is_not_an_outage(error: Exception) -> None:
    assert not unavailable(error)
    assert not unavailable(_wrapped(error))
