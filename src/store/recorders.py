"""The event store's recorders: what both engines share (the write primitives and the
reads); the engines themselves are in sqlite_recorder.py and postgres_recorder.py.

They extend the eventsourcing library's application recorders; the differences:

* columns ``tenant_id`` and ``at_us`` (the business instant, microseconds UTC) with
  indexes ``(tenant_id, notification_id)`` and ``(tenant_id, at_us)``: reading one
  tenant's history, or one tenant's month, never touches another tenant's rows;
* a per-tenant hash chain column (DOMAIN §9.3), computed inside the writing transaction;
* ``command_log``: the answer to every command, written in the same transaction as its
  events, keyed by (tenant, idempotency key). A retry, or a save that failed over after
  it had in fact committed, is answered from what is stored.

Writing is offered as primitives, and nothing here calls anyone back: ``begin_write``
opens a transaction with the writer lock held, ``append`` puts one command's rows in it
(events with their tenant, instant and chain link, the command-log row, the staff
action row, the client data keys) and returns their notification ids, ``savepoint`` /
``rollback_to`` / ``keep`` bound one command's part of it, and the reads that take
``within=`` read through it. The order of a write (group commit, projections, the
application's cache) is the writer's (classledger.writer).
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, Notification
from eventsourcing.persistence import StoredEvent as LibStoredEvent

from classledger.store import staff_actions
from classledger.store.audit_key import DEVELOPMENT_SECRET
from classledger.store.codec import TenantStoredEvent
from classledger.store.personal import KeyRing
from classledger.store.staff_actions import ActionRecord
from classledger.store.tx import Tx

EVENTS_TABLE = "events"
SNAPSHOTS_TABLE = "stored_snapshots"  # the library's snapshot store (aggregate_recorder "snapshots")
KEYS_PER_STATEMENT = 256  # keys or ids looked up in one statement (get_command_records, existing_ids)


@dataclass(frozen=True)
class CommandRecord:
    """What a command answered, keyed for idempotent retries."""

    tenant_id: UUID
    key: str
    request_hash: str
    response: bytes
    at_us: int


@dataclass(frozen=True)
class EventRow:
    """A raw stored event as projections and replay read it: no decoding yet."""

    notification_id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes
    tenant_id: UUID
    at_us: int


@dataclass(frozen=True)
class _Mark:
    heads: dict[UUID, bytes]
    last: int | None
    actions: int
    latest: dict[UUID, int | None]


@dataclass(eq=False)
class WriteTx:
    """An open write transaction, the writer lock held (``EventRecorder.begin_write``),
    and what the recorder keeps of it between statements."""

    tx: Tx
    cur: Any
    head: int | None  # the store's head when it began; None until read (SQLite reads it on demand)
    heads: dict[UUID, bytes] = field(default_factory=dict)  # each tenant's chain head as written so far
    last: int | None = None  # the last notification id written in it
    # The staff action rows appended, sent together (``flush_actions``): (row, its events' ids).
    actions: list[tuple[ActionRecord, list[int]]] = field(default_factory=list)
    latest: dict[UUID, int | None] = field(default_factory=dict)  # each tenant's latest at_us, once asked
    marks: dict[str, _Mark] = field(default_factory=dict)


def _conflict(e: Exception) -> Exception:
    """The library's ``IntegrityError`` (a ``RecordConflictError``) for a driver's."""
    return IntegrityError(str(e)) if isinstance(e, sqlite3.IntegrityError | psycopg.IntegrityError) else e


class EventRecorder(ABC):
    """The write primitives and the extra reads both engines offer on top of the
    library's recorder API."""

    # The clients' data keys (store/personal.py): told of keys written and destroyed.
    keyring: KeyRing | None = None
    # The secret the hash chain's links are keyed with (audit_key.py); ``Store.open`` sets
    # the deployment's.
    chain_key: bytes = DEVELOPMENT_SECRET
    # Errors after which a write transaction may be begun again (a dropped connection).
    transient: tuple[type[Exception], ...] = ()

    # ---- the write primitives -----------------------------------------------------------

    @abstractmethod
    def begin_write(
        self, tenants: Collection[UUID] = (), *, savepoint: str | None = None
    ) -> AbstractContextManager[WriteTx]:
        """Begin a write transaction, the writer lock taken (commit order is id order);
        commit it when the block ends, roll it back if the block raises. ``tenants``: whose
        chain heads to read with it (the others are read when first written);
        ``savepoint``: one to open at once."""

    def can_batch(self) -> bool:
        """Can one transaction stay open across many commands? (Not an in-memory SQLite
        database: its one connection is also every reader's.)"""
        return True

    def insert_events(self, stored_events: Sequence[LibStoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """The library's write: the events alone, in a transaction of their own. (The
        application's commands are written by classledger.writer.)"""
        landed = False
        try:
            with self.begin_write() as w:
                ids = self.append(w, stored_events, None, None)
            landed = True
        finally:
            self.settle_keys(stored_events, landed=landed)
        return ids

    def append(
        self, w: WriteTx, events: Sequence[LibStoredEvent], record: CommandRecord | None, action: ActionRecord | None
    ) -> list[int]:
        """One command's rows in ``w``: its events (each linked into its tenant's hash
        chain), the clients' data keys they bring or destroy, its command-log row, its
        staff action row (sent with the others: ``flush_actions``). Their notification ids,
        in order. A reused key or version raises the library's ``IntegrityError``."""
        try:
            ids = self._insert(w, events, record)
        except Exception as e:
            raise _conflict(e) from e
        if action is not None:
            w.actions.append((action, ids))
        if ids:
            w.last = ids[-1]
            for s in events if w.latest else ():  # the tenants' latest instants asked for so far
                tenant_id, at_us = tenant_of(s)
                if tenant_id in w.latest:
                    known = w.latest[tenant_id]
                    w.latest[tenant_id] = at_us if known is None else max(known, at_us)
        return ids

    @abstractmethod
    def _insert(self, w: WriteTx, events: Sequence[LibStoredEvent], record: CommandRecord | None) -> list[int]:
        """The events, the data keys and the command-log row; ``w.heads`` carried on."""

    def flush_actions(self, w: WriteTx) -> None:
        """Send the staff action rows appended so far, in one statement."""
        if w.actions:
            staff_actions.insert(w.tx, self._staff_actions, w.actions, self._param)
            w.actions = []

    def head(self, w: WriteTx) -> int:
        """The store's head as ``w`` sees it: the last notification id written."""
        if w.last is not None:
            return w.last
        if w.head is None:
            found = w.tx.one(f"SELECT MAX(notification_id) FROM {self._events}")
            w.head = int(found[0] or 0) if found else 0
        return w.head

    def savepoint(self, w: WriteTx, name: str) -> None:
        w.tx.execute(f"SAVEPOINT {name}")
        self._mark(w, name)

    def rollback_to(self, w: WriteTx, name: str) -> None:
        """Undo what ``w`` wrote since the savepoint (which stays open)."""
        w.tx.execute(f"ROLLBACK TO SAVEPOINT {name}")
        mark = w.marks[name]
        w.heads, w.last, w.latest = dict(mark.heads), mark.last, dict(mark.latest)
        del w.actions[mark.actions:]

    def release(self, w: WriteTx, name: str) -> None:
        w.tx.execute(f"RELEASE SAVEPOINT {name}")
        w.marks.pop(name, None)

    def keep(self, w: WriteTx, name: str) -> None:
        """Keep what was written since the savepoint (its staff action rows sent, the
        savepoint released) and open it again for what comes next."""
        try:
            self._keep(w, name)
        except Exception as e:
            raise _conflict(e) from e
        w.actions = []
        self._mark(w, name)

    def _keep(self, w: WriteTx, name: str) -> None:
        self.flush_actions(w)
        w.tx.execute(f"RELEASE SAVEPOINT {name}")
        w.tx.execute(f"SAVEPOINT {name}")

    def _mark(self, w: WriteTx, name: str) -> None:
        w.marks[name] = _Mark(dict(w.heads), w.last, len(w.actions), dict(w.latest))

    def settle_keys(self, events: Sequence[LibStoredEvent], *, landed: bool) -> None:
        """Tell the key ring which clients' keys a write stored or destroyed, once it is
        known whether it landed (personal.py)."""
        if self.keyring is None:
            return
        for e in events:
            if not isinstance(e, TenantStoredEvent):
                continue
            if e.shreds is not None and landed:
                self.keyring.forget(str(e.originator_id))
            elif e.new_key is not None:
                self.keyring.settle(str(e.originator_id), e.new_key, landed=landed)

    def select_events_in(
        self,
        w: WriteTx,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[LibStoredEvent]:
        """The library's ``select_events``, read through ``w``."""
        oid = _uuid(originator_id)
        sql = f"SELECT originator_id, originator_version, topic, state FROM {self._events} WHERE originator_id = ?"
        params: list[Any] = [self._originator_param(oid)]
        if gt is not None:
            sql += " AND originator_version > ?"
            params.append(gt)
        if lte is not None:
            sql += " AND originator_version <= ?"
            params.append(lte)
        sql += " ORDER BY originator_version" + (" DESC" if desc else " ASC")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [LibStoredEvent(originator_id=oid, originator_version=r[1], topic=r[2], state=bytes(r[3]))
                for r in self._rows(sql, params, w)]

    def _originator_param(self, value: UUID) -> Any:
        return self._param(value)

    # ---- reads, one SQL text for both engines (``?`` placeholders) --------------------

    @property
    @abstractmethod
    def _events(self) -> str:
        """The events table's name as SQL (schema-qualified on PostgreSQL)."""

    @property
    def events_table(self) -> str:
        """The events table's name as SQL, for statements that read it in bulk (a rebuild's)."""
        return self._events

    @property
    @abstractmethod
    def _command_log(self) -> str:
        """The command log's name as SQL."""

    @property
    @abstractmethod
    def _staff_actions(self) -> str:
        """The staff action log's name as SQL (staff_actions.py)."""

    @abstractmethod
    def _rows(self, sql: str, params: Sequence[Any], within: WriteTx | None = None) -> list[tuple[Any, ...]]:
        """One statement: through ``within``, else outside any transaction."""

    def close_readers(self) -> None:  # noqa: B027 - only SQLite keeps readers beside the pool
        """Close connections kept beside the pool (SQLite's per-thread readers)."""

    @abstractmethod
    def _param(self, value: UUID) -> Any:
        """A UUID as this engine stores it."""

    def read_rows(
        self,
        after: int,
        limit: int,
        *,
        tenant_id: UUID | None = None,
        at_from_us: int | None = None,
        at_to_us: int | None = None,
        upto: int | None = None,
    ) -> list[EventRow]:
        sql = (
            "SELECT notification_id, originator_id, originator_version, topic, state, "
            f"tenant_id, at_us FROM {self._events} WHERE notification_id > ?"
        )
        params: list[Any] = [after]
        for clause, value in (
            (" AND tenant_id = ?", None if tenant_id is None else self._param(tenant_id)),
            (" AND at_us >= ?", at_from_us),
            (" AND at_us < ?", at_to_us),
            (" AND notification_id <= ?", upto),
        ):
            if value is not None:
                sql += clause
                params.append(value)
        rows = self._rows(sql + " ORDER BY notification_id LIMIT ?", (*params, limit))
        return [EventRow(r[0], _uuid(r[1]), r[2], r[3], bytes(r[4]), _uuid(r[5]), r[6]) for r in rows]

    def read_texts(
        self,
        after: int,
        limit: int,
        *,
        tenant_id: UUID | None = None,
        upto: int | None = None,
        skip_topics: Sequence[str] = (),
    ) -> list[tuple[int, str, int, str, bytes, str, int]]:
        """``read_rows`` for a rebuild's bulk path: ids stay text, no ``UUID`` objects
        (building two per row was most of the read's time). ``originator_id`` and
        ``tenant_id`` come back as hyphenated text (cast on PostgreSQL; on SQLite, where
        eventsourcing stores the originator as 32 hex digits, hyphenated in SQL)."""
        sql = (
            f"SELECT notification_id, {self._text('originator_id')}, originator_version, topic, state, "
            f"{self._text('tenant_id')}, at_us FROM {self._events} WHERE "
        )
        order = " ORDER BY notification_id LIMIT ?"
        if tenant_id is not None:
            where, params, order = self._one_tenant(after, self._param(tenant_id), upto)
            sql += where
        else:
            sql += "notification_id > ?"
            params = [after]
            if upto is not None:
                sql += " AND notification_id <= ?"
                params.append(upto)
        if skip_topics:
            # Events no reader wants are left in the database, not fetched and thrown away.
            sql += f" AND topic NOT IN ({', '.join('?' * len(skip_topics))})"
            params.extend(skip_topics)
        return cast(list[tuple[int, str, int, str, bytes, str, int]], self._rows(sql + order, (*params, limit)))

    def _one_tenant(self, after: int, tenant: Any, upto: int | None) -> tuple[str, list[Any], str]:
        """The condition and its parameters of one tenant's events after ``after`` (up to
        ``upto``), and their order (ending in ``LIMIT ?``)."""
        where, params = "notification_id > ? AND tenant_id = ?", [after, tenant]
        if upto is not None:
            where, params = where + " AND notification_id <= ?", [*params, upto]
        return where, params, " ORDER BY notification_id LIMIT ?"

    def _text(self, column: str) -> str:
        """A UUID column selected as text."""
        return column

    @property
    def _client_keys(self) -> str:
        """The clients' data keys' table as SQL (store/personal.py)."""
        return "client_keys"

    def client_key(self, client_id: str) -> bytes | None:
        """A client's data key, or None once the client is erased."""
        rows = self._rows(f"SELECT key FROM {self._client_keys} WHERE client_id = ?", (client_id,))
        return bytes(rows[0][0]) if rows else None

    def client_keys(self) -> list[tuple[str, bytes]]:
        """Every client's data key: (client id, key)."""
        return [(str(r[0]), bytes(r[1])) for r in self._rows(f"SELECT client_id, key FROM {self._client_keys}", ())]

    @abstractmethod
    def scrub(self, tables: Sequence[str]) -> None:
        """After an erasure (DOMAIN §2.9): leave no copy of what was deleted or overwritten
        in the database's files. ``tables``: the projection tables that were scrubbed."""

    def count_between(self, after: int, upto: int) -> int:
        """How many events have ``after < notification_id <= upto``."""
        sql = f"SELECT COUNT(*) FROM {self._events} WHERE notification_id > ? AND notification_id <= ?"
        return int(self._rows(sql, (after, upto))[0][0])

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        after = 0 if start is None else (start - 1 if inclusive_of_start else start)
        return [
            Notification(
                id=r.notification_id,
                originator_id=r.originator_id,
                originator_version=r.originator_version,
                topic=r.topic,
                state=r.state,
            )
            for r in self.read_rows(after, limit, upto=stop)
            if not topics or r.topic in topics
        ]

    def max_notification_id(self, within: WriteTx | None = None) -> int:
        """The head of the store, 0 when it is empty. Asked before every command: one
        statement, no transaction."""
        if within is not None:
            return self.head(within)
        return int(self._rows(f"SELECT MAX(notification_id) FROM {self._events}", ())[0][0] or 0)

    def latest_at(self, tenant_id: UUID, within: WriteTx | None = None) -> int | None:
        if within is not None and tenant_id in within.latest:
            return within.latest[tenant_id]
        sql = f"SELECT MAX(at_us) FROM {self._events} WHERE tenant_id = ?"
        latest = cast(int | None, self._rows(sql, (self._param(tenant_id),), within)[0][0])
        if within is not None:
            within.latest[tenant_id] = latest  # nobody else writes while it is open
        return latest

    def originator_ids(self, tenant_id: UUID, topic: str, within: WriteTx | None = None) -> list[UUID]:
        """The tenant's aggregates that have an event of ``topic``, in the order of their first."""
        sql = (f"SELECT originator_id FROM {self._events} WHERE tenant_id = ? AND topic = ? "
               "GROUP BY originator_id ORDER BY MIN(notification_id)")
        return [_uuid(r[0]) for r in self._rows(sql, (self._param(tenant_id), topic), within)]

    def count_events(self, tenant_id: UUID) -> int:
        sql = f"SELECT COUNT(*) FROM {self._events} WHERE tenant_id = ?"
        return int(self._rows(sql, (self._param(tenant_id),))[0][0])

    def changed_ids(self, after: int, upto: int, within: WriteTx | None = None) -> list[tuple[UUID, int]]:
        """The aggregates written by the events ``after < notification_id <= upto``, each
        with the highest version written there."""
        sql = (f"SELECT originator_id, MAX(originator_version) FROM {self._events} "
               "WHERE notification_id > ? AND notification_id <= ? GROUP BY originator_id")
        return [(_uuid(r[0]), int(r[1])) for r in self._rows(sql, (after, upto), within)]

    def get_command_record(self, tenant_id: UUID, key: str, within: WriteTx | None = None) -> CommandRecord | None:
        sql = f"SELECT request_hash, response, at_us FROM {self._command_log} WHERE tenant_id = ? AND key = ?"
        rows = self._rows(sql, (self._param(tenant_id), key), within)
        if not rows:
            return None
        return CommandRecord(tenant_id, key, rows[0][0], bytes(rows[0][1]), rows[0][2])

    def get_command_records(
        self, tenant_id: UUID, keys: Sequence[str], within: WriteTx | None = None
    ) -> dict[str, CommandRecord]:
        """The command log's rows for those keys that are recorded, by key: one statement
        for many lookups (an import reads ahead the keys of the lines it is about to run)."""
        found: dict[str, CommandRecord] = {}
        for start in range(0, len(keys), KEYS_PER_STATEMENT):
            chunk = keys[start:start + KEYS_PER_STATEMENT]
            sql = (f"SELECT key, request_hash, response, at_us FROM {self._command_log} "
                   f"WHERE tenant_id = ? AND key IN ({', '.join('?' * len(chunk))})")
            for key, request_hash, response, at_us in self._rows(sql, (self._param(tenant_id), *chunk), within):
                found[key] = CommandRecord(tenant_id, key, request_hash, bytes(response), at_us)
        return found

    def existing_ids(self, ids: Sequence[UUID], within: WriteTx | None = None) -> set[UUID]:
        """Which of these aggregates have events: one statement for many ids."""
        found: set[UUID] = set()
        for start in range(0, len(ids), KEYS_PER_STATEMENT):
            chunk = ids[start:start + KEYS_PER_STATEMENT]
            sql = (f"SELECT DISTINCT originator_id FROM {self._events} "
                   f"WHERE originator_id IN ({', '.join('?' * len(chunk))})")
            found.update(_uuid(r[0]) for r in self._rows(sql, [self._originator_param(i) for i in chunk], within))
        return found

    def staff_actions(
        self,
        tenant_id: UUID,
        *,
        actor: str | None = None,
        staff_id: UUID | None = None,
        from_us: int | None = None,
        to_us: int | None = None,
        after: tuple[int, int] | None = None,
        limit: int = 100,
    ) -> tuple[list[tuple[Any, ...]], int]:
        """A page of the tenant's staff action log in (at_us, id) order (columns:
        ``staff_actions.READ_COLUMNS``), and how many rows match in all."""
        filters: dict[str, Any] = {
            "actor": actor, "staff_id": None if staff_id is None else self._param(staff_id),
            "from_us": from_us, "to_us": to_us,
        }
        table, tenant = self._staff_actions, self._param(tenant_id)
        page = self._rows(*staff_actions.select(table, tenant, after=after, limit=limit, **filters))
        total = self._rows(*staff_actions.select(table, tenant, **filters))[0][0]
        return page, int(total)

    def chain_rows(self, tenant_id: UUID) -> Iterator[tuple[int, UUID, int, str, int, bytes, bytes]]:
        sql = (
            "SELECT notification_id, originator_id, originator_version, topic, at_us, state, chain "
            f"FROM {self._events} WHERE tenant_id = ? AND notification_id > ? ORDER BY notification_id LIMIT 5000"
        )
        after = 0
        while rows := self._rows(sql, (self._param(tenant_id), after)):
            for r in rows:
                try:
                    row = (r[0], _uuid(r[1]), r[2], r[3], r[4], bytes(r[5]), bytes(r[6]))
                except (TypeError, ValueError):
                    # A row someone rewrote with values of the wrong type (SQLite keeps
                    # them): as it is, for the verify to report it, not to crash on it.
                    row = cast(tuple[int, UUID, int, str, int, bytes, bytes], tuple(r))
                yield row
            after = rows[-1][0]


def new_rows(stored_events: Sequence[LibStoredEvent], ids: Sequence[int]) -> list[EventRow]:
    """The rows ``append`` wrote, as the projections read them."""
    rows = []
    for s, nid in zip(stored_events, ids, strict=True):
        tenant_id, at_us = tenant_of(s)
        rows.append(EventRow(nid, _uuid(s.originator_id), s.originator_version, s.topic, s.state, tenant_id, at_us))
    return rows


def tenant_of(s: LibStoredEvent) -> tuple[UUID, int]:
    """A stored event's tenant and business instant (µs)."""
    if not isinstance(s, TenantStoredEvent):
        raise TypeError("events must be mapped by classledger's PydanticMapper")
    return s.tenant_id, s.at_us


def hyphenated(text: str) -> str:
    """``str(UUID(text))`` for what the stores hold (hyphenated, or 32 lowercase hex digits
    as eventsourcing's SQLite recorder writes ``originator_id``), without building a UUID."""
    if len(text) == 36:
        return text
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}".lower()
    return str(UUID(text))


def _uuid(v: Any) -> UUID:
    return v if isinstance(v, UUID) else UUID(v)


