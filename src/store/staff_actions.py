"""The staff action log: who did what, one row per command (DOMAIN §9.1; API §9).

Every command that reaches the command pipeline leaves one row: its actor, the staff
member's id and role, the command, the aggregates it wrote (or, refused, the one its
arguments named), its outcome (``done`` or ``refused`` with the refusal's code and
status), its reason, and where its events start in the log. A done command's row is
written in the same transaction as its events (``EventRecorder.append``), so there is
never a row without its events or events without their row. A refused command wrote no
event; its row is written on its own, and is the only trace the refusal leaves.

The rows are a reading aid, not the evidence: the events they point at carry the actor
too and are covered by the hash chain (hashchain.py); this table is not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from uuid import UUID

import orjson
from psycopg.sql import SQL, Composed, Identifier


class Statements(Protocol):
    """Where the rows go: a transaction, or a holder of statements sent later with others."""

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...


TABLE = "staff_actions"
_COLUMNS = (
    "tenant_id, at_us, actor, staff_id, role, command, outcome, code, status, aggregate_id, aggregate_ids, "
    "events, notification_id, reason"
)
# What a read returns, in this order.
READ_COLUMNS = f"id, {_COLUMNS}"


@dataclass(frozen=True)
class ActionRecord:
    """One command's row, appended beside its events (``EventRecorder.append``)."""

    tenant_id: UUID
    at_us: int
    actor: str
    staff_id: UUID
    role: str
    command: str
    outcome: Literal["done", "refused"]
    aggregate_ids: tuple[UUID, ...] = ()
    code: str | None = None
    status: int | None = None
    reason: str | None = None


def sqlite_ddl() -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, "
        "at_us INTEGER NOT NULL, actor TEXT NOT NULL, staff_id TEXT NOT NULL, role TEXT NOT NULL, "
        "command TEXT NOT NULL, outcome TEXT NOT NULL, code TEXT, status INTEGER, aggregate_id TEXT, "
        "aggregate_ids TEXT NOT NULL, events INTEGER NOT NULL, notification_id INTEGER, reason TEXT)",
        f"CREATE INDEX IF NOT EXISTS {TABLE}_tenant_at_idx ON {TABLE} (tenant_id, at_us, id)",
    ]


def postgres_ddl(schema: str) -> list[Composed]:
    t = SQL("{}.{}").format(Identifier(schema), Identifier(TABLE))
    return [
        SQL(
            "CREATE TABLE IF NOT EXISTS {t} (id bigserial PRIMARY KEY, tenant_id uuid NOT NULL, "
            "at_us bigint NOT NULL, actor text NOT NULL, staff_id uuid NOT NULL, role text NOT NULL, "
            "command text NOT NULL, outcome text NOT NULL, code text, status integer, aggregate_id uuid, "
            "aggregate_ids text NOT NULL, events integer NOT NULL, notification_id bigint, reason text)"
        ).format(t=t),
        SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (tenant_id, at_us, id)").format(
            i=Identifier(f"{TABLE}_tenant_at_idx"), t=t
        ),
    ]


def insert(
    tx: Statements, table: str, actions: Sequence[tuple[ActionRecord, Sequence[int]]], param: Callable[[UUID], Any]
) -> None:
    """The rows of commands that were written (each with its events' notification ids),
    in one statement, inside their transaction."""
    rows = [
        (
            param(a.tenant_id), a.at_us, a.actor, param(a.staff_id), a.role, a.command, a.outcome, a.code,
            a.status, param(a.aggregate_ids[0]) if a.aggregate_ids else None,
            orjson.dumps([str(i) for i in a.aggregate_ids]).decode(), len(ids),
            min(ids) if ids else None, a.reason,
        )
        for a, ids in actions
    ]
    if rows:
        tx.executemany(f"INSERT INTO {table} ({_COLUMNS}) VALUES ({', '.join('?' * 14)})", rows)


def select(
    table: str,
    tenant: Any,
    *,
    actor: str | None = None,
    staff_id: Any = None,
    from_us: int | None = None,
    to_us: int | None = None,
    after: tuple[int, int] | None = None,
    limit: int | None = None,
) -> tuple[str, list[Any]]:
    """A page in (at_us, id) order after ``after``, or (``limit=None``) the count of all
    matches: one SQL text for both engines (``?`` placeholders)."""
    where, params = ["tenant_id = ?"], [tenant]
    for clause, value in (("actor = ?", actor), ("staff_id = ?", staff_id), ("at_us >= ?", from_us),
                          ("at_us < ?", to_us)):
        if value is not None:
            where.append(clause)
            params.append(value)
    if limit is None:
        return f"SELECT COUNT(*) FROM {table} WHERE {' AND '.join(where)}", params
    if after is not None:
        where.append("(at_us > ? OR (at_us = ? AND id > ?))")
        params += [after[0], after[0], after[1]]
    return (f"SELECT {READ_COLUMNS} FROM {table} WHERE {' AND '.join(where)} ORDER BY at_us, id LIMIT ?",
            [*params, limit])
