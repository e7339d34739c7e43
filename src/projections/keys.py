"""Staff keys by hash: how a bearer key becomes a tenant, a staff member and a role."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from classledger.aggregates.tenant import StaffKeyIssued, StaffKeyRevoked
from classledger.projections.runtime import EventRecord, QueuedProjection, handles
from classledger.store.database import Tx


@dataclass(frozen=True)
class KeyRow:
    tenant_id: UUID
    staff_id: UUID
    staff_name: str
    role: str
    city: str | None


class StaffKeys(QueuedProjection):
    name = "keys"
    version = 1
    tables = {
        "keys": (
            "CREATE TABLE IF NOT EXISTS {t} (key_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, "
            "staff_id TEXT NOT NULL, staff_name TEXT NOT NULL, role TEXT NOT NULL, city TEXT, "
            "revoked INTEGER NOT NULL DEFAULT 0)"
        )
    }

    @handles(StaffKeyIssued)
    def _issued(self, tx: Tx, ev: EventRecord) -> None:
        s = ev.data["staff"]
        self._queue.add(
            f"INSERT INTO {self.t('keys')} (key_hash, tenant_id, staff_id, staff_name, role, city)", ("text",) * 6,
            (s["key_hash"], str(ev.tenant_id), s["staff_id"], s["staff_name"], s["role"], s["city"]),
            "ON CONFLICT (key_hash) DO NOTHING",
        )

    @handles(StaffKeyRevoked)
    def _revoked(self, tx: Tx, ev: EventRecord) -> None:
        # New with the event it handles: no table built before it has one to miss.
        self._sql(tx, f"UPDATE {self.t('keys')} SET revoked = 1 WHERE key_hash = ?", (ev.data["key_hash"],))

    def lookup(self, key_hash: str) -> KeyRow | None:
        with self.db.read() as tx:
            row = tx.one(
                f"SELECT tenant_id, staff_id, staff_name, role, city FROM {self.t('keys')} "
                "WHERE key_hash = ? AND revoked = 0",
                (key_hash,),
            )
        if row is None:
            return None
        return KeyRow(UUID(row[0]), UUID(row[1]), row[2], row[3], row[4])
