"""Where each projection stands: its tracking record, one row per projection.

``projection_positions`` holds, per projection key (its name, and a scratch copy's
suffix), the code version that built its tables, the notification id of the last event
it has seen (its position) and how many events it applied. A page of events and the
positions it moves commit in one transaction, so a read model and its position never
disagree. Every feeder (the live runner, a write's inline step, a rebuild, a build apart)
reads and moves positions through these functions and no other SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from classledger.store.database import Database, Tx

POSITIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_positions ("
    "name TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL, position BIGINT NOT NULL, "
    "events_applied BIGINT NOT NULL DEFAULT 0)"
)

Move = tuple[int, int, str]  # (new position, events applied, key)


def create(tx: Tx) -> None:
    """The table (a store no runner has run on yet)."""
    tx.execute(POSITIONS_DDL)


def version(tx: Tx, key: str) -> int | None:
    """The code version ``key``'s tables were built by, or ``None`` if it has no record."""
    row = tx.one("SELECT version FROM projection_positions WHERE name = ?", (key,))
    return None if row is None else int(row[0])


def start(tx: Tx, key: str, version: int) -> None:
    """A record at the first event for ``key`` built by code ``version``."""
    tx.execute("INSERT INTO projection_positions (name, version, position) VALUES (?, ?, 0)", (key, version))


def forget(tx: Tx, key: str) -> None:
    """Drop ``key``'s record (its tables are dropped or built again from the first event)."""
    tx.execute("DELETE FROM projection_positions WHERE name = ?", (key,))


def read(db: Database) -> dict[str, int]:
    """Every recorded position, outside any transaction (a look, not a promise)."""
    return {str(r[0]): int(r[1]) for r in db.query("SELECT name, position FROM projection_positions")}


def read_in(tx: Tx) -> dict[str, int]:
    """Every recorded position as ``tx`` sees it, without locking."""
    return {str(r[0]): int(r[1]) for r in tx.execute("SELECT name, position FROM projection_positions")}


def position(tx: Tx, key: str) -> int:
    """``key``'s position as ``tx`` sees it (0 without a record)."""
    row = tx.one("SELECT position FROM projection_positions WHERE name = ?", (key,))
    return int(row[0]) if row else 0


def lock(tx: Tx, dialect: str, keys: Sequence[str]) -> dict[str, int]:
    """The positions of ``keys``, held until ``tx`` ends (``FOR UPDATE`` on PostgreSQL;
    SQLite's write transaction is exclusive already): the events past them are this
    transaction's to apply."""
    if not keys:
        return {}
    marks = ",".join("?" * len(keys))
    sql = f"SELECT name, position FROM projection_positions WHERE name IN ({marks})"
    if dialect == "postgresql":
        sql += " FOR UPDATE"
    return {str(r[0]): int(r[1]) for r in tx.execute(sql, list(keys))}


def record(tx: Tx, moves: Iterable[Move]) -> None:
    """Move each projection to the page's last event and count the events it applied."""
    tx.executemany(
        "UPDATE projection_positions SET position = ?, events_applied = events_applied + ? WHERE name = ?",
        list(moves),
    )


def count(tx: Tx, key: str, applied: int) -> None:
    """Count ``applied`` more events for ``key`` without moving it (a tenant's events resumed)."""
    tx.execute("UPDATE projection_positions SET events_applied = events_applied + ? WHERE name = ?", (applied, key))


def advance(tx: Tx, keys: Iterable[str], to: int) -> None:
    """Move the positions of ``keys`` forward to ``to`` (never back): nothing they handle
    lies between (a tenant's or the wanted topics' events end before the head)."""
    tx.executemany(
        "UPDATE projection_positions SET position = ? WHERE name = ? AND position < ?",
        [(to, key, to) for key in keys],
    )


def put(tx: Tx, key: str, to: int) -> None:
    """Set ``key``'s position to ``to`` (tables built elsewhere put in its place)."""
    tx.execute("UPDATE projection_positions SET position = ? WHERE name = ?", (to, key))


def claim(tx: Tx, applied: dict[str, int], prev_head: int, last: int) -> bool:
    """Move every projection of ``applied`` (key -> events it will apply) from exactly
    ``prev_head`` to ``last`` in one statement, which also locks their rows; none stuck
    for any tenant (``projection_failures``) may move. All or nothing: if any is behind,
    ahead or stuck, the ones moved are moved back and the answer is ``False``."""
    keys = list(applied)
    pairs = [x for key in keys for x in (key, applied[key])]
    cases = " ".join("WHEN ? THEN ?" for _ in keys)
    names = ",".join("?" * len(keys))
    move = (
        "UPDATE projection_positions SET position = ?, events_applied = events_applied {sign} "
        f"CASE name {cases} ELSE 0 END WHERE position = ? AND name IN ({names})"
        " AND NOT EXISTS (SELECT 1 FROM projection_failures f WHERE f.name = projection_positions.name)"
    )
    claimed = tx.update(move.format(sign="+"), (last, *pairs, prev_head, *keys))
    if claimed == len(keys):
        return True
    if claimed:
        tx.update(move.format(sign="-"), (prev_head, *pairs, last, *keys))
    return False
