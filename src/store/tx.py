"""The one small SQL surface for tables of our own: ``?`` placeholders on both engines
(translated for psycopg), tuples out. Used by ``Database`` transactions and by the event
recorders' write transactions (``WriteTx.tx``), where the writer applies the projections."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, Protocol

from psycopg import errors
from psycopg import sql as pgsql


class Tx(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...
    def update(self, sql: str, params: Sequence[Any] = ()) -> int:
        """A statement that returns no rows; how many rows it changed."""
        ...
    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, or_conflict: bool = False) -> bool:
        """Load ``rows`` (values of ``columns``) into ``table`` as a bulk load: PostgreSQL's
        ``COPY``, SQLite's prepared insert run for each row. ``or_conflict``: a row whose key
        is already taken (in the table or among ``rows``) leaves the table as it was and
        answers ``False`` instead of raising, so the caller can send the rows another way;
        ``True``: every row is in."""
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

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, or_conflict: bool = False) -> bool:
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        if not or_conflict:
            self.cur.executemany(insert, rows)
            return True
        self.cur.execute("SAVEPOINT copy_rows")
        try:
            self.cur.executemany(insert, rows)
        except sqlite3.IntegrityError:
            self.cur.execute("ROLLBACK TO copy_rows")
            self.cur.execute("RELEASE copy_rows")
            return False
        self.cur.execute("RELEASE copy_rows")
        return True


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

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, or_conflict: bool = False) -> bool:
        # Text format: each value goes as its Python type's text (psycopg's C dumpers) and
        # the server parses it as the column's type, as a literal would be.
        stmt = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
            pgsql.Identifier(table), pgsql.SQL(", ").join(map(pgsql.Identifier, columns)))
        if not or_conflict:
            self._copy(stmt, rows)
            return True
        try:
            with self.cur.connection.transaction():  # a savepoint: a refused load leaves nothing behind
                self._copy(stmt, rows)
        except errors.UniqueViolation:
            return False
        return True

    def _copy(self, stmt: pgsql.Composed, rows: Iterable[Sequence[Any]]) -> None:
        with self.cur.copy(stmt) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
