"""A page's queued inserts go out in the order of the key their conflict clause names,
and rows of one key keep their order (the conflict clause still keeps the same one)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from classledger.projections.batch import insert_many
from classledger.store.tx import SQLiteTx


class Recording(SQLiteTx):
    def __init__(self, cur: sqlite3.Cursor) -> None:
        super().__init__(cur)
        self.sent: list[Sequence[Any]] = []

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.sent.append(tuple(params))
        return super().execute(sql, params)


def table() -> Recording:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (tenant_id TEXT, client_id TEXT, seq INTEGER, note TEXT, "
                 "PRIMARY KEY (tenant_id, client_id, seq))")
    return Recording(conn.cursor())


def test_rows_are_sent_in_key_order_and_duplicates_keep_theirs() -> None:
    tx = table()
    rows = [("t1", "c", 3, "first"), ("t1", "a", 9, "x"), ("t0", "z", 1, "y"), ("t1", "c", 3, "second")]
    insert_many(tx, "sqlite", "INSERT INTO t (tenant_id, client_id, seq, note)", ("text", "text", "bigint", "text"),
                rows, "ON CONFLICT (tenant_id, client_id, seq) DO NOTHING")
    assert tx.sent == [("t0", "z", 1, "y", "t1", "a", 9, "x", "t1", "c", 3, "first", "t1", "c", 3, "second")]
    assert tx.execute("SELECT note FROM t WHERE client_id = 'c'") == [("first",)]


def test_without_a_named_key_the_order_is_kept() -> None:
    tx = table()
    rows = [("t1", "c", 3, "a"), ("t0", "z", 1, "b")]
    insert_many(tx, "sqlite", "INSERT INTO t (tenant_id, client_id, seq, note)", ("text", "text", "bigint", "text"),
                rows, "ON CONFLICT DO NOTHING")
    assert tx.sent == [("t1", "c", 3, "a", "t0", "z", 1, "b")]
