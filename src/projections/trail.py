"""Where each client's history lies (API §7, DOMAIN §9.2): every stored event of the
client and of what is the client's, in the order recorded.

What is the client's: their registrations (with their transfers), credits, passes (a
shared pass is each holder's; a lesson transfer shows on both sides, the giving pass and
the receiving one), visits, journal transactions and their cancellations, their account
(moves and discounts), and the cabinet logins that linked or unlinked them. An event
whose aggregate has an owner is that owner's; the owners are learnt from the events that
create those aggregates. The rows name the events (aggregate and version), in
notification order; the events themselves stay in the event store.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson

from classledger.projections.paging import decode_cursor, sql_page
from classledger.projections.runtime import EventRecord, Projection, handles
from classledger.store.database import Tx

# The client aggregate's own events.
CLIENT_EVENTS = (
    "ClientRegistered", "ClientDetailsChanged", "ClientConsentsChanged", "ClientTagged", "ClientUntagged",
    "FamilyMemberLinked", "FamilyParentLinked", "FamilyMemberUnlinked", "FamilyParentUnlinked", "ClientFrozen",
    "ClientArchived", "ClientRestored", "ClientDeleted", "CabinetLinkIssued", "CabinetLinkRevoked",
    "ClientJoinedWaitlist", "ClientLeftWaitlist", "NextCallScheduled", "ClientErased",
)
# Events that create an aggregate of the client's, and say whose it is.
OWNING_EVENTS = ("RegistrationCreated", "CreditGranted", "PassSold", "VisitRecorded", "TransactionPosted",
                 "ClientAccountMoved", "ClientDiscountGiven")
# Later events of those aggregates.
OWNED_EVENTS = (
    "RegistrationConfirmed", "RegistrationPromoted", "RegistrationCancelled", "RegistrationTransferred",
    "CreditUsed", "CreditVoided", "PassLessonsUsed", "PassLessonReturned", "PassValidityChanged", "PassBroken",
    "PassPaid", "LessonsTransferredOut", "PassEnded", "VisitCancelled", "TransactionCancelled",
    "ClientDiscountRemoved",
)
# Events of another aggregate that name one client.
NAMING_EVENTS = ("CabinetClientLinked", "CabinetClientUnlinked")


def _owners(ev: EventRecord) -> list[str]:
    d = ev.data
    if ev.type == "PassSold":
        return [str(c) for c in d["client_ids"]]
    if ev.type == "TransactionPosted":
        cid = d["transaction"].get("client_id")
        return [str(cid)] if cid else []
    return [str(d["client_id"])]


class ClientTrail(Projection):
    name = "trail"
    version = 1
    tables = {
        "owners": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, aggregate_id TEXT NOT NULL, "
            "client_ids TEXT NOT NULL, PRIMARY KEY (tenant_id, aggregate_id))"
        ),
        "events": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, seq BIGINT NOT NULL, "
            "aggregate_id TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (tenant_id, client_id, seq))"
        ),
    }

    @handles(*CLIENT_EVENTS)
    def _own(self, tx: Tx, ev: EventRecord) -> None:
        self._add(tx, ev, [str(ev.aggregate_id)])

    @handles(*OWNING_EVENTS)
    def _owning(self, tx: Tx, ev: EventRecord) -> None:
        clients = _owners(ev)
        if not clients:
            return
        tx.execute(
            f"INSERT INTO {self.t('owners')} (tenant_id, aggregate_id, client_ids) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant_id, aggregate_id) DO NOTHING",
            (str(ev.tenant_id), str(ev.aggregate_id), orjson.dumps(clients).decode()),
        )
        self._add(tx, ev, clients)

    @handles(*OWNED_EVENTS)
    def _owned(self, tx: Tx, ev: EventRecord) -> None:
        row = tx.one(f"SELECT client_ids FROM {self.t('owners')} WHERE tenant_id = ? AND aggregate_id = ?",
                     (str(ev.tenant_id), str(ev.aggregate_id)))
        if row is not None:
            self._add(tx, ev, orjson.loads(row[0]))

    @handles(*NAMING_EVENTS)
    def _naming(self, tx: Tx, ev: EventRecord) -> None:
        self._add(tx, ev, [str(ev.data["client_id"])])

    def _add(self, tx: Tx, ev: EventRecord, clients: list[str]) -> None:
        tx.executemany(
            f"INSERT INTO {self.t('events')} (tenant_id, client_id, seq, aggregate_id, version) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant_id, client_id, seq) DO NOTHING",
            [(str(ev.tenant_id), c, ev.id, str(ev.aggregate_id), ev.version) for c in dict.fromkeys(clients)],
        )

    # ---- reads ------------------------------------------------------------------------

    def page(self, tenant_id: UUID, client_id: UUID, *, limit: int, cursor: str | None) -> dict[str, Any]:
        """A page of the client's events, oldest first: ``items`` are ``(aggregate_id, version)``."""
        key = (str(tenant_id), str(client_id))
        after, params = "", list[Any](key)
        if cursor:
            (seq,) = decode_cursor(cursor, 1)
            after, params = " AND seq > ?", [*params, int(seq)]
        with self.db.read() as tx:
            (total,) = tx.one(f"SELECT COUNT(*) FROM {self.t('events')} WHERE tenant_id = ? AND client_id = ?", key) or (0,)
            rows = tx.execute(f"SELECT seq, aggregate_id, version FROM {self.t('events')} WHERE tenant_id = ? "
                              f"AND client_id = ?{after} ORDER BY seq LIMIT ?", [*params, limit + 1])
        shown, next_cursor = sql_page(rows, limit, lambda r: [int(r[0])])
        refs = [(UUID(str(r[1])), int(r[2])) for r in shown]
        return {"items": refs, "total": int(total), "next_cursor": next_cursor}
