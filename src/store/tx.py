"""The one small SQL surface for tables of our own: ``?`` placeholders on both engines
(translated for psycopg), tuples out. Used by ``Database`` transactions and by the event
recorders' write transactions (``WriteTx.tx``), where the writer applies the projections."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol


class Tx(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...
    def update(self, sql: str, params: Sequence[Any] = ()) -> int:
        """A statement that returns no rows; how many rows it changed."""
        ...


@lru_cache(maxsize=2048)
def pg_sql(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class SQLiteTx:
    def __init__(self, cur: sqlite3.Cursor) -> None:
        self.cur = cur

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cur.execute(sql, params)
        return self.cur.fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.cur.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self.cur.execute(sql, params)
        row: tuple[Any, ...] | None = self.cur.fetchone()
        return row

    def update(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.cur.execute(sql, params)
        return int(self.cur.rowcount)


class PgTx:
    def __init__(self, cur: Any) -> None:
        self.cur = cur

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cur.execute(pg_sql(sql), params)
        return list(self.cur.fetchall()) if self.cur.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if len(rows) == 1:  # one statement: no pipeline to set up and sync
            self.cur.execute(pg_sql(sql), rows[0])
        elif rows:
            self.cur.executemany(pg_sql(sql), rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self.cur.execute(pg_sql(sql), params)
        row: tuple[Any, ...] | None = self.cur.fetchone()
        return row

    def update(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.cur.execute(pg_sql(sql), params)
        return int(self.cur.rowcount)
