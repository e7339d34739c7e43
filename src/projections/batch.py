"""Writing many projection rows in few statements (the rebuild's and a page's flush).

SQLite: one multi-row ``INSERT ... VALUES (...), (...)`` per chunk of rows. PostgreSQL:
``PG_COPY_MIN`` rows or more (a rebuild's page) go by ``COPY``, which the server reads as
a bulk load (an insert with a conflict clause: see ``_copied``; an update: ``COPY`` into
a temporary table, then one ``UPDATE ... FROM`` it). Fewer rows (a live page's) go as
one ``INSERT ... SELECT (e->>0)::type, ... FROM jsonb_array_elements(?)`` per chunk, the
rows one JSON text made by orjson: one round trip, no savepoint or table. Deletes by key:
``IN (...)`` on SQLite, ``IN (SELECT jsonb_array_elements_text(?))`` on PostgreSQL.
Rows of one upsert must have distinct keys (PostgreSQL refuses to update a row twice in
one statement); every caller writes each key once per flush.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache
from itertools import count
from operator import itemgetter
from typing import Any

import orjson

from classledger.store.database import Tx


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()

CHUNK = 400  # rows per SQLite statement: 26 columns x 400 stays far below its parameter limit
PG_CHUNK = 20_000
PG_COPY_MIN = 1_000  # rows from which a PostgreSQL insert goes by COPY (fewer: one JSON text, one round trip)


def insert_many(
    tx: Tx, dialect: str, head: str, types: Sequence[str], rows: Sequence[Sequence[Any]], tail: str = ""
) -> None:
    """``head`` is ``INSERT INTO t (a, b)``, ``types`` the columns' SQL types, ``tail`` an
    ``ON CONFLICT ...`` clause."""
    if not rows:
        return
    key = _conflict_key(head, tail)
    if key is not None and len(rows) > 1:
        rows = sorted(rows, key=key)
    if dialect == "postgresql":
        if len(rows) >= PG_COPY_MIN:
            if not _copied(tx, head, tail, rows):
                names = _target(head)[1]
                stage = _stage(tx, names, types, rows)
                tx.execute(f"{head} SELECT {', '.join(names)} FROM {stage} {tail}")
            return
        columns = ", ".join(f"(e->>{n})::{t}" for n, t in enumerate(types))
        for i in range(0, len(rows), PG_CHUNK):
            part = rows[i : i + PG_CHUNK]
            tx.execute(f"{head} SELECT {columns} FROM jsonb_array_elements(?::jsonb) AS e {tail}", [_json(part)])
        return
    one = "(" + ", ".join("?" * len(types)) + ")"
    for i in range(0, len(rows), CHUNK):
        part = rows[i : i + CHUNK]
        tx.execute(f"{head} VALUES {', '.join([one] * len(part))} {tail}", [v for r in part for v in r])


def _copied(tx: Tx, head: str, tail: str, rows: Sequence[Sequence[Any]]) -> bool:
    """Load the rows into the table with ``COPY`` (``Tx.copy_rows``); ``False``: they must
    go through the statement with its conflict clause.

    A conflict clause only acts on a row whose key is taken; where none is, a plain load
    writes the same rows. So the rows are loaded plainly, inside a savepoint, and only when
    a key turns out to be taken (the load is then undone) do they go through the statement
    with its clause; a statement that met a taken key once goes that way from then on."""
    if (head, tail) in _CONFLICTED:
        return False
    table, columns = _target(head)
    if tx.copy_rows(table, columns, rows, or_conflict=bool(tail)):
        return True
    _CONFLICTED.add((head, tail))
    return False


def _stage(tx: Tx, names: Sequence[str], types: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A temporary table of ``names`` (of ``types``) holding ``rows``, loaded with ``COPY``
    and dropped at the commit; its name. A statement reading it with no condition reads
    the rows in the order loaded (a temporary table is never scanned in parallel or from
    the middle), so a conflict clause keeps the row it would keep from a JSON array."""
    stage = f"batch_stage_{next(_STAGES)}"
    tx.execute(f"CREATE TEMPORARY TABLE {stage} ({', '.join(f'{n} {t}' for n, t in zip(names, types, strict=True))}) "
               "ON COMMIT DROP")
    tx.copy_rows(stage, names, rows)
    return stage


_STAGES = count()
_CONFLICTED: set[tuple[str, str]] = set()  # statements (head, tail) whose rows met a taken key
_TARGET = re.compile(r"^\s*INSERT\s+INTO\s+([a-z_][a-z0-9_]*)\s*\(([^()]*)\)\s*$")


@cache
def _target(head: str) -> tuple[str, tuple[str, ...]]:
    """The table and columns of ``INSERT INTO t (a, b)``."""
    m = _TARGET.match(head)
    if m is None:
        raise ValueError(f"not an insert head: {head!r}")
    return m.group(1), tuple(c.strip() for c in m.group(2).split(","))


_COLUMNS = re.compile(r"\(([^()]*)\)\s*$")
_CONFLICT = re.compile(r"ON CONFLICT\s*\(([^()]*)\)")


@cache
def _conflict_key(head: str, tail: str) -> Callable[[Sequence[Any]], Any] | None:
    """The rows' order for an insert whose ``tail`` names its key (``ON CONFLICT (a, b)``):
    by that key, so a page's rows go into the key's B-tree in order instead of all over it
    (a client's trail rows, a visit land anywhere in event order), which costs the database
    a fraction of the work. The sort is stable: rows of one key keep their order, and with
    it which one the conflict clause keeps. ``None``: no key named, the order is kept."""
    conflict, columns = _CONFLICT.search(tail), _COLUMNS.search(head)
    if conflict is None or columns is None:
        return None
    names = [c.strip() for c in columns.group(1).split(",")]
    key = [c.strip() for c in conflict.group(1).split(",")]
    if not set(key) <= set(names):
        return None
    return itemgetter(*(names.index(c) for c in key))


def delete_keys(tx: Tx, dialect: str, table: str, key: str, keys: Sequence[tuple[str, str]]) -> None:
    """``DELETE FROM table WHERE tenant_id = t AND key IN (...)`` for (tenant, key) pairs."""
    by_tenant: dict[str, list[str]] = {}
    for t, k in keys:
        by_tenant.setdefault(t, []).append(k)
    for t, ks in sorted(by_tenant.items()):
        if dialect == "postgresql":
            tx.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND {key} IN (SELECT jsonb_array_elements_text(?::jsonb))",
                       [t, _json(ks)])
            continue
        for i in range(0, len(ks), CHUNK):
            part = ks[i : i + CHUNK]
            tx.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND {key} IN ({', '.join('?' * len(part))})", [t, *part])


def in_keys(dialect: str, keys: Sequence[str]) -> tuple[str, list[Any]]:
    """``IN (...)`` for a list of keys, and its parameters (one JSON text on PostgreSQL)."""
    if dialect == "postgresql":
        return "IN (SELECT jsonb_array_elements_text(?::jsonb))", [_json(list(keys))]
    return f"IN ({', '.join('?' * len(keys))})", list(keys)


class PendingInserts:
    """Plain inserts a projection's handlers queue over a page, written by ``flush`` with
    ``insert_many`` (a few statements instead of one per event: on PostgreSQL each
    statement is a round trip). A handler that runs any other statement flushes first, so
    the statements still take effect in the events' order (an update or an
    ``INSERT ... SELECT`` sees every row queued before it)."""

    def __init__(self) -> None:
        # (head, tail) → column types and rows, in the order first queued.
        self._queued: dict[tuple[str, str], tuple[Sequence[str], list[Sequence[Any]]]] = {}

    def add(self, head: str, types: Sequence[str], row: Sequence[Any], tail: str = "") -> None:
        # Called for every row of a rebuild: no new list or tuple unless the statement is new.
        try:
            self._queued[(head, tail)][1].append(row)
        except KeyError:
            self._queued[(head, tail)] = (types, [row])

    def flush(self, tx: Tx, dialect: str) -> None:
        queued, self._queued = self._queued, {}
        for (head, tail), (types, rows) in queued.items():
            insert_many(tx, dialect, head, types, rows, tail)

    def clear(self) -> None:
        self._queued = {}


def update_many(
    tx: Tx,
    dialect: str,
    table: str,
    keys: Sequence[tuple[str, str]],
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    *,
    only_changed: bool = False,
    add: bool = False,
) -> None:
    """Set ``columns`` of the rows found by ``keys`` ((name, SQL type) pairs); each row of
    ``rows`` is the key values then the column values, each key at most once.
    ``only_changed``: leave alone a row whose columns already hold those values (setting an
    indexed column, even to its own value, rewrites its index entry on SQLite). ``add``:
    the values are added to the columns (counters), not set.

    SQLite: one prepared statement run for every row (no round trips to save). PostgreSQL:
    one ``UPDATE ... FROM`` a temporary table filled by ``COPY`` (``PG_COPY_MIN`` rows or
    more), else one ``UPDATE ... FROM jsonb_array_elements(?)`` per chunk, the rows one
    orjson text."""
    if not rows:
        return
    if dialect == "postgresql":
        fields = [*keys, *columns]
        sets = ", ".join(f"{name} = {table}.{name} + v.{name}" if add else f"{name} = v.{name}" for name, _ in columns)
        match = " AND ".join(f"{table}.{name} = v.{name}" for name, _ in keys)
        if only_changed:
            match += " AND (" + " OR ".join(f"{table}.{name} IS DISTINCT FROM v.{name}" for name, _ in columns) + ")"
        if len(rows) >= PG_COPY_MIN:
            stage = _stage(tx, [name for name, _ in fields], [t for _, t in fields], rows)
            tx.execute(f"UPDATE {table} SET {sets} FROM {stage} AS v WHERE {match}")
            return
        values = ", ".join(f"(e->>{n})::{t} AS {name}" for n, (name, t) in enumerate(fields))
        for i in range(0, len(rows), PG_CHUNK):
            part = rows[i : i + PG_CHUNK]
            tx.execute(f"UPDATE {table} SET {sets} FROM (SELECT {values} FROM jsonb_array_elements(?::jsonb) AS e) AS v "
                       f"WHERE {match}", [_json(part)])
        return
    sets = ", ".join(f"{name} = {name} + ?" if add else f"{name} = ?" for name, _ in columns)
    match = " AND ".join(f"{name} = ?" for name, _ in keys)
    n = len(keys)
    if only_changed:
        match += " AND (" + " OR ".join(f"{name} IS NOT ?" for name, _ in columns) + ")"
        tx.executemany(f"UPDATE {table} SET {sets} WHERE {match}", [(*r[n:], *r[:n], *r[n:]) for r in rows])
        return
    tx.executemany(f"UPDATE {table} SET {sets} WHERE {match}", [(*r[n:], *r[:n]) for r in rows])
