"""Events a projection could not apply, set aside per tenant (``projection_failures``).

When a projection's handler raises on an event, the runner records the projection, the
event's notification id and tenant and the error here, in the transaction that moves the
projection's position past the page. From then on that projection skips that tenant's
events (applying a later one without the failed one would make its rows wrong) and goes
on with every other tenant's. Reads of that tenant which need that projection are
refused (503 ``read_model_stuck``); everything else keeps answering. A row here is
visible to every process: ``GET /healthz`` and ``scripts/replay.py --status`` list them.

The runner retries a row now and then (and at every start): it applies the tenant's
events from the recorded one up to the projection's position, in order, in one
transaction. Once the code is fixed that succeeds, the row goes, and the tenant's events
flow again with nothing lost. A rebuild of the projection clears its rows too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from classledger.store.database import Database, Tx

FAILURES_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_failures ("
    "name TEXT NOT NULL, tenant_id TEXT NOT NULL, notification_id BIGINT NOT NULL, "
    "event_type TEXT NOT NULL, error TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1, "
    "PRIMARY KEY (name, tenant_id))"
)
ERROR_TEXT = 500  # characters of the error kept: its type and message, not a traceback (the log has that)


@dataclass(frozen=True)
class Failure:
    """A projection stuck for one tenant since ``notification_id`` (that event and the
    tenant's later ones wait); ``position`` is the projection's position for the others."""

    projection: str
    tenant_id: str
    notification_id: int
    event_type: str
    error: str
    attempts: int
    position: int

    def as_json(self) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "tenant_id": self.tenant_id,
            "notification_id": self.notification_id,
            "event_type": self.event_type,
            "error": self.error,
            "attempts": self.attempts,
            "position": self.position,
        }


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_TEXT]


_SELECT = (
    "SELECT f.name, f.tenant_id, f.notification_id, f.event_type, f.error, f.attempts, "
    "COALESCE(p.position, 0) FROM projection_failures f "
    "LEFT JOIN projection_positions p ON p.name = f.name"
)


def _failures(rows: list[tuple[Any, ...]]) -> list[Failure]:
    return [Failure(str(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4]), int(r[5]), int(r[6])) for r in rows]


def read_failures(db: Database) -> list[Failure]:
    """Every projection stuck for some tenant, oldest event first (one statement)."""
    return _failures(db.query(_SELECT + " ORDER BY f.notification_id, f.name"))


def parked(tx: Tx, keys: list[str]) -> dict[str, set[str]]:
    """The tenants each of ``keys`` is stuck for (read in ``tx``, under the positions' lock)."""
    marks = ",".join("?" * len(keys))
    rows = tx.execute(f"SELECT name, tenant_id FROM projection_failures WHERE name IN ({marks})", keys)
    out: dict[str, set[str]] = {}
    for name, tenant in rows:
        out.setdefault(str(name), set()).add(str(tenant))
    return out


def record(tx: Tx, key: str, tenant_id: str, notification_id: int, event_type: str, error: str) -> None:
    tx.execute(
        "INSERT INTO projection_failures (name, tenant_id, notification_id, event_type, error, attempts) "
        "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (name, tenant_id) DO NOTHING",
        (key, tenant_id, notification_id, event_type, error),
    )
