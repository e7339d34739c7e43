"""The self-service cabinet's read model (DOMAIN §8.1): which client a cabinet link opens,
and the client's attendance.

A link is found by the sha256 of its token (the token itself is never stored). Issuing a
new link replaces the client's previous one; revoking it, or deleting the client, removes
it. Attendance is every visit recorded for the client (DOMAIN §4.3, §7.1), cancelled
ones marked as such, newest first.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from classledger.aggregates.client import CabinetLinkIssued, CabinetLinkRevoked, ClientDeleted
from classledger.aggregates.passes import VisitCancelled, VisitRecorded
from classledger.projections.runtime import EventRecord, QueuedProjection, handles
from classledger.store.database import Tx

ATTENDANCE_LIMIT = 200  # the newest visits a cabinet shows


class Cabinet(QueuedProjection):
    name = "cabinet"
    version = 1
    tables = {
        "links": (
            "CREATE TABLE IF NOT EXISTS {t} (token_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
            "client_id TEXT NOT NULL)"
        ),
        "visits": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, visit_id TEXT NOT NULL, client_id TEXT NOT NULL, "
            "day TEXT NOT NULL, lesson_type TEXT NOT NULL, status TEXT NOT NULL, cancelled INTEGER NOT NULL DEFAULT 0, "
            "PRIMARY KEY (tenant_id, visit_id))"
        ),
    }
    indexes = [
        "CREATE INDEX IF NOT EXISTS {t_links}_by_client ON {t_links} (tenant_id, client_id)",
        "CREATE INDEX IF NOT EXISTS {t_visits}_by_client ON {t_visits} (tenant_id, client_id, day)",
    ]
    applies_through = frozenset({"{t_links}_by_client"})

    @handles(CabinetLinkIssued)
    def _issued(self, tx: Tx, ev: EventRecord) -> None:
        self._unlink(tx, ev)
        self._sql(tx, f"INSERT INTO {self.t('links')} (token_hash, tenant_id, client_id) VALUES (?, ?, ?)",
                  (ev.data["token_hash"], str(ev.tenant_id), str(ev.aggregate_id)))

    @handles(CabinetLinkRevoked, ClientDeleted)
    def _unlink(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(tx, f"DELETE FROM {self.t('links')} WHERE tenant_id = ? AND client_id = ?",
                  (str(ev.tenant_id), str(ev.aggregate_id)))

    @handles(VisitRecorded)
    def _visit(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        self._queue.add(
            f"INSERT INTO {self.t('visits')} (tenant_id, visit_id, client_id, day, lesson_type, status)",
            ("text", "text", "text", "text", "text", "text"),
            (str(ev.tenant_id), str(ev.aggregate_id), d["client_id"], d["day"], d["lesson_type"], d["status"]),
            "ON CONFLICT (tenant_id, visit_id) DO NOTHING",
        )

    @handles(VisitCancelled)
    def _visit_cancelled(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(tx, f"UPDATE {self.t('visits')} SET cancelled = 1 WHERE tenant_id = ? AND visit_id = ?",
                  (str(ev.tenant_id), str(ev.aggregate_id)))

    # ---- reads ----------------------------------------------------------------------

    def lookup(self, token_hash: str) -> tuple[UUID, UUID] | None:
        """(tenant, client) of a live link."""
        with self.db.read() as tx:
            row = tx.one(f"SELECT tenant_id, client_id FROM {self.t('links')} WHERE token_hash = ?", (token_hash,))
        return (UUID(str(row[0])), UUID(str(row[1]))) if row else None

    def attendance(self, tenant_id: UUID, client_id: UUID, limit: int = ATTENDANCE_LIMIT) -> list[dict[str, Any]]:
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT day, lesson_type, status, cancelled FROM {self.t('visits')} WHERE tenant_id = ? AND client_id = ? "
                "ORDER BY day DESC, visit_id LIMIT ?",
                (str(tenant_id), str(client_id), limit),
            )
        return [{"date": r[0], "lesson_type": r[1], "status": r[2], "cancelled": bool(r[3])} for r in rows]
