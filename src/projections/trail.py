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

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import orjson

from classledger.aggregates.books import (
    ClientAccountMoved,
    ClientDiscountGiven,
    ClientDiscountRemoved,
    TransactionCancelled,
    TransactionPosted,
)
from classledger.aggregates.cabinet_user import CabinetClientLinked, CabinetClientUnlinked
from classledger.aggregates.client import (
    CabinetLinkIssued,
    CabinetLinkRevoked,
    ClientArchived,
    ClientConsentsChanged,
    ClientDeleted,
    ClientDetailsChanged,
    ClientErased,
    ClientFrozen,
    ClientJoinedWaitlist,
    ClientLeftWaitlist,
    ClientRegistered,
    ClientRestored,
    ClientTagged,
    ClientUntagged,
    FamilyMemberLinked,
    FamilyMemberUnlinked,
    FamilyParentLinked,
    FamilyParentUnlinked,
    NextCallScheduled,
)
from classledger.aggregates.lesson import ClientLessonsBooked, ClientLessonsUnbooked
from classledger.aggregates.passes import (
    LessonsTransferredOut,
    PassBroken,
    PassEnded,
    PassLessonReturned,
    PassLessonsUsed,
    PassPaid,
    PassSold,
    PassValidityChanged,
    VisitCancelled,
    VisitRecorded,
)
from classledger.aggregates.registration import (
    CreditGranted,
    CreditUsed,
    CreditVoided,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationCreated,
    RegistrationPromoted,
    RegistrationTransferred,
)
from classledger.projections.batch import CHUNK, in_keys
from classledger.projections.paging import decode_cursor, sql_page
from classledger.projections.runtime import EventRecord, QueuedProjection, event_names, handles
from classledger.projections.stored import StoredEvents
from classledger.store.database import Database, Tx

# The client aggregate's own events.
CLIENT_EVENTS = (
    ClientRegistered, ClientDetailsChanged, ClientConsentsChanged, ClientTagged, ClientUntagged,
    FamilyMemberLinked, FamilyParentLinked, FamilyMemberUnlinked, FamilyParentUnlinked, ClientFrozen,
    ClientArchived, ClientRestored, ClientDeleted, CabinetLinkIssued, CabinetLinkRevoked,
    ClientJoinedWaitlist, ClientLeftWaitlist, NextCallScheduled, ClientErased,
)
# Events that create an aggregate of the client's, and say whose it is.
OWNING_EVENTS = (RegistrationCreated, CreditGranted, PassSold, VisitRecorded, TransactionPosted,
                 ClientAccountMoved, ClientDiscountGiven)
# Later events of those aggregates.
OWNED_EVENTS = (
    RegistrationConfirmed, RegistrationPromoted, RegistrationCancelled, RegistrationTransferred,
    CreditUsed, CreditVoided, PassLessonsUsed, PassLessonReturned, PassValidityChanged, PassBroken,
    PassPaid, LessonsTransferredOut, PassEnded, VisitCancelled, TransactionCancelled,
    ClientDiscountRemoved,
)
# Events of another aggregate that name one client: a parent's login linking them, and the
# client's own list of booked lessons (DOMAIN §7.2: bookings and their cancellations).
NAMING_EVENTS = (CabinetClientLinked, CabinetClientUnlinked, ClientLessonsBooked, ClientLessonsUnbooked)
_OWNING, _OWNED = event_names(*OWNING_EVENTS), event_names(*OWNED_EVENTS)
# Owning events whose owner is their ``client_id`` (the others: a sale's holders, a journal
# transaction's client if it has one).
_OWNED_BY_CLIENT_ID = tuple(e for e in OWNING_EVENTS if e not in (PassSold, TransactionPosted))


def _owners(ev: EventRecord) -> list[str]:
    d = ev.data
    if ev.type == "PassSold":
        return [str(c) for c in d["client_ids"]]
    if ev.type == "TransactionPosted":
        cid = d["transaction"].get("client_id")
        return [str(cid)] if cid else []
    return [str(d["client_id"])]


class ClientTrail(QueuedProjection):
    name = "trail"
    version = 1
    # Handlers only read (an owner not seen in this page); every row waits for the page's end.
    stageable = True
    weight = 6  # a rebuild's heaviest: one or two rows per event, though none is decoded
    # Every row comes from stored ids and clear fields: a rebuild writes it by statements
    # over the events table (``apply_stored``), no event decoded.
    set_based = True
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

    def __init__(self, db: Database, *, suffix: str = "") -> None:
        super().__init__(db, suffix=suffix)
        # Rows are queued over the page and written in a few statements at its end; the
        # owners learnt in the page are held, so that their later events need no read.
        self._owners: dict[tuple[str, str], list[str]] = {}

    def flush_held(self, tx: Tx) -> None:
        self._owners.clear()

    def forget_held(self) -> None:
        self._owners.clear()

    def prefetch(self, tx: Tx, records: Sequence[EventRecord]) -> None:
        """The owners of the page's later events whose aggregates were created before the
        page: read by tenant, many keys per statement (one read per event otherwise)."""
        created = {(str(ev.tenant_id), str(ev.aggregate_id)) for ev in records if ev.type in _OWNING}
        wanted: dict[str, set[str]] = {}
        for ev in records:
            if ev.type in _OWNED:
                key = (str(ev.tenant_id), str(ev.aggregate_id))
                if key not in created and key not in self._owners:
                    wanted.setdefault(key[0], set()).add(key[1])
        dialect = self.db.dialect
        for tenant, ids in sorted(wanted.items()):
            keys = sorted(ids)
            for i in range(0, len(keys), CHUNK):
                where, params = in_keys(dialect, keys[i : i + CHUNK])
                for aggregate_id, clients in tx.execute(
                    f"SELECT aggregate_id, client_ids FROM {self.t('owners')} WHERE tenant_id = ? AND aggregate_id {where}",
                    [tenant, *params],
                ):
                    self._owners[(tenant, str(aggregate_id))] = orjson.loads(clients)

    @handles(*CLIENT_EVENTS)
    def _own(self, tx: Tx, ev: EventRecord) -> None:
        self._add(ev, [str(ev.aggregate_id)])

    @handles(*OWNING_EVENTS)
    def _owning(self, tx: Tx, ev: EventRecord) -> None:
        clients = list(dict.fromkeys(_owners(ev)))
        key = (str(ev.tenant_id), str(ev.aggregate_id))
        if not clients:
            return
        if key not in self._owners:
            # An account's first move makes it the client's; its later moves say the same.
            self._owners[key] = clients
            self._queue.add(f"INSERT INTO {self.t('owners')} (tenant_id, aggregate_id, client_ids)", ("text",) * 3,
                            (*key, orjson.dumps(clients).decode()), "ON CONFLICT (tenant_id, aggregate_id) DO NOTHING")
        self._add(ev, clients)

    @handles(*OWNED_EVENTS)
    def _owned(self, tx: Tx, ev: EventRecord) -> None:
        key = (str(ev.tenant_id), str(ev.aggregate_id))
        clients = self._owners.get(key)
        if clients is None:
            row = tx.one(f"SELECT client_ids FROM {self.t('owners')} WHERE tenant_id = ? AND aggregate_id = ?", key)
            if row is None:
                return
            clients = self._owners[key] = orjson.loads(row[0])
        self._add(ev, clients)

    @handles(*NAMING_EVENTS)
    def _naming(self, tx: Tx, ev: EventRecord) -> None:
        self._add(ev, [str(ev.data["client_id"])])

    def _add(self, ev: EventRecord, clients: list[str]) -> None:
        for c in clients:
            self._queue.add(f"INSERT INTO {self.t('events')} (tenant_id, client_id, seq, aggregate_id, version)",
                            ("text", "text", "bigint", "text", "integer"),
                            (str(ev.tenant_id), c, ev.id, str(ev.aggregate_id), ev.version),
                            "ON CONFLICT (tenant_id, client_id, seq) DO NOTHING")

    def apply_stored(self, tx: Tx, events: StoredEvents, after: int, last: int) -> int:
        """What the handlers do for the events after ``after`` up to ``last``, in two
        statements over the stored events: the owners the page's owning events name (the
        first one of an aggregate wins), then every trail row, each kept once."""
        e, tenant, agg = events, events.id_text("tenant_id"), events.id_text("originator_id")
        if_sold, sold = e.topic(PassSold)
        if_posted, posted = e.topic(TransactionPosted)
        where, params = e.where(OWNING_EVENTS, after, last)
        self._sql(
            tx,
            f"INSERT INTO {self.t('owners')} (tenant_id, aggregate_id, client_ids) SELECT tenant, agg, clients FROM ("
            f"SELECT e.notification_id AS n, {tenant} AS tenant, {agg} AS agg, CASE "
            f"WHEN {if_sold} THEN {e.distinct_list('client_ids')} "
            f"WHEN {if_posted} THEN '[\"' || NULLIF({e.field('transaction', 'client_id')}, '') || '\"]' "
            f"ELSE '[\"' || {e.field('client_id')} || '\"]' END AS clients FROM {e.table} AS e {where}"
            # In key order, the table's B-tree is filled left to right; an aggregate's first
            # owning event still comes first, and wins.
            ") AS owning WHERE clients IS NOT NULL AND clients <> '[]' ORDER BY tenant, agg, n "
            "ON CONFLICT (tenant_id, aggregate_id) DO NOTHING",
            [*sold, *posted, *params],
        )
        row = f"e.notification_id AS seq, {agg} AS aggregate_id, e.originator_version AS version"
        parts: list[tuple[str, list[Any]]] = []
        for classes, client, join in (
            (CLIENT_EVENTS, agg, ""),
            (NAMING_EVENTS + _OWNED_BY_CLIENT_ID, e.field("client_id"), ""),
            ((TransactionPosted,), e.field("transaction", "client_id"), ""),
            ((PassSold,), "x.value", f", {e.elements('client_ids')}"),
            (OWNED_EVENTS, "x.value", f" JOIN {self.t('owners')} AS o ON o.tenant_id = {tenant} "
                                      f"AND o.aggregate_id = {agg}, {e.text_elements('o.client_ids')}"),
        ):
            where, params = e.where(classes, after, last)
            parts.append((f"SELECT {tenant} AS tenant_id, {client} AS client_id, {row} FROM {e.table} AS e{join} {where}",
                          params))
        self._sql(
            tx,
            f"INSERT INTO {self.t('events')} (tenant_id, client_id, seq, aggregate_id, version) "
            f"SELECT tenant_id, client_id, seq, aggregate_id, version FROM ({' UNION ALL '.join(p for p, _ in parts)}) AS r "
            "WHERE client_id IS NOT NULL AND client_id <> '' ORDER BY tenant_id, client_id, seq "
            "ON CONFLICT (tenant_id, client_id, seq) DO NOTHING",
            [v for _, ps in parts for v in ps],
        )
        where, params = e.where(self.events.values(), after, last)
        (applied,) = tx.one(f"SELECT COUNT(*) FROM {e.table} AS e {where}", params) or (0,)
        return int(applied)

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
