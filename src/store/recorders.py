"""Event recorders for SQLite and PostgreSQL with the tenant dimension.

They extend the eventsourcing library's application recorders; the differences:

* columns ``tenant_id`` and ``at_us`` (the business instant, microseconds UTC) with
  indexes ``(tenant_id, notification_id)`` and ``(tenant_id, at_us)``: reading one
  tenant's history, or one tenant's month, never touches another tenant's rows;
* a per-tenant hash chain column (DOMAIN §9.3), computed inside the writing transaction;
* ``command_log``: the answer to every command, written in the same transaction as its
  events, keyed by (tenant, idempotency key). A retry, or a save that failed over after
  it had in fact committed, is answered from what is stored.

* the write path: group commit (group_commit.py), projections applied inside the write
  (``on_insert``), the application's cache told after it (``after_commit``).

PostgreSQL keeps the library's locking (``LOCK TABLE ... IN EXCLUSIVE MODE``, so commit
order is id order; no DB functions: with ``POSTGRES_ENABLE_DB_FUNCTIONS`` on, subscribers
were seen to skip concurrent events) but sends it in fewer round trips, and no NOTIFY:
nothing here listens, the projection runner polls.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, Notification, OperationalError
from eventsourcing.persistence import StoredEvent as LibStoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore, SQLiteTransaction
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from classledger.store import hashchain, staff_actions
from classledger.store.audit_key import DEVELOPMENT_SECRET
from classledger.store.codec import TenantStoredEvent
from classledger.store.group_commit import GroupCommit, Job
from classledger.store.personal import KeyRing
from classledger.store.tx import PgTx, SQLiteTx, Tx, pg_sql
from classledger.store.writer_lock import writer_lock

EVENTS_TABLE = "events"
SNAPSHOTS_TABLE = "stored_snapshots"  # the library's snapshot store (aggregate_recorder "snapshots")


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


# (transaction, the new rows in notification order, the last notification id before
# them) -> whether the projections were applied. If it raises, the transaction is rolled
# back and written again without it: it need not undo its own partial work.
OnInsert = Callable[[Tx, list["EventRow"], int], bool]


class _InlineFailed(Exception):
    pass
_last_write = threading.local()
_open_batch = threading.local()  # (recorder, _Batch) while this thread holds a write batch


@dataclass(eq=False)
class _Batch:
    """One thread's open write transaction (``EventRecorder.write_batch``): its cursor,
    the chain heads and the last notification id as the lines released so far left them."""

    tx: Tx
    cur: Any
    insert: Callable[[Job, dict[UUID, bytes]], list[int]]  # a line's events and command-log row: their ids
    prev: int  # the store's head: the last notification id written before the next line
    heads: dict[UUID, bytes]
    # Each tenant's latest business instant, once asked for (nobody else writes meanwhile).
    latest: dict[UUID, int | None] = field(default_factory=dict)
    rows: list[EventRow] = field(default_factory=list)  # the released lines' events, for the projections
    landed: list[Job] = field(default_factory=list)  # the released lines' writes, landing with the commit
    start: int = -1  # the head when the batch began

    def __post_init__(self) -> None:
        self.start = self.prev


class EventRecorder(ABC):
    """The extra reads both engines offer on top of the library's recorder API, and the
    write path they share: group commit (group_commit.py) and ``on_insert``.

    ``on_insert``, when set, is called inside every writing transaction after the events
    are inserted, with that transaction and the new rows: projections are applied there,
    so a command's events and their read models commit together (one commit, not two).
    """

    on_insert: OnInsert | None = None
    # The clients' data keys (store/personal.py): told of keys written and destroyed.
    keyring: KeyRing | None = None
    # The secret the hash chain's links are keyed with (audit_key.py); ``Store.open`` sets
    # the deployment's.
    chain_key: bytes = DEVELOPMENT_SECRET
    # Called right after each commit, before any writer of the batch returns, with the
    # jobs that landed in notification order: the application's cache learns of its own
    # writes in order (application/cache.py), whichever thread returns first.
    after_commit: Callable[[list[Job]], None] | None = None
    _group: GroupCommit | None = None

    def _submit(self, stored_events: Sequence[LibStoredEvent], kwargs: dict[str, Any]) -> list[int]:
        batch = self._current_batch()
        if batch is not None:
            return self._write_in_batch(batch, Job(stored_events, kwargs))
        if self._group is None:
            self._group = GroupCommit(self._write_and_report)
        job = self._group.submit(Job(stored_events, kwargs))
        _last_write.inline = job.inline
        if job.error is not None:
            raise job.error
        return job.ids

    @staticmethod
    def wrote_inline() -> bool:
        """Did this thread's last write apply the projections in its own transaction?
        (Reading clears it, so a command that wrote nothing reads False.)"""
        inline = bool(getattr(_last_write, "inline", False))
        _last_write.inline = False
        return inline

    # ---- write batches: many commands, one transaction, each in its own savepoint ------

    @contextlib.contextmanager
    def write_batch(self) -> Iterator[bool]:
        """Run this thread's writes in one transaction until the block ends, each write
        (one command: its events, command-log row, staff action and inline projections)
        inside its own savepoint: a write that fails rolls back alone, the others stay.

        Inside the block this thread's reads of the store (the head, the command log,
        aggregates' events, chain heads) go through the same transaction and see what the
        block wrote; ``after_commit`` is told of each write as its savepoint is released,
        so the application's cache carries the new states from one command to the next.
        Nothing is durable before the block ends: if it raises, everything it wrote is
        rolled back, and the caller must forget what it was told (the cache).

        Yields whether the writes are batched (an in-memory SQLite database is not: its
        one connection is also every reader's; there each write commits alone). Other
        writers, of this process or another, wait for the block: keep it short."""
        if self._current_batch() is not None:
            raise RuntimeError("a write batch is already open in this thread")
        if not self._can_batch():
            yield False
            return
        landed: list[Job] = []  # the released lines
        try:
            with self._batch_transaction() as batch:
                batch.landed = landed
                _open_batch.current = (self, batch)
                try:
                    yield True
                finally:
                    _open_batch.current = None
                self._project_batch(batch)
        except BaseException:
            self._settle_keys(landed, committed=False)  # nothing of the batch landed
            raise
        self._settle_keys(landed, committed=True)

    def _project_batch(self, batch: _Batch) -> None:
        """The projections, once for all the batch's events, in its transaction (one pass
        and one write per read model instead of one per line: a line's own projections
        were most of its cost). Only the decisions read the store inside the batch, and
        they read events, never read models. A projection that raises is rolled back
        alone; the runner applies (and keeps logging) the events after the commit."""
        if not batch.rows or self.on_insert is None:
            return
        batch.tx.execute("SAVEPOINT projections")
        try:
            self.on_insert(batch.tx, batch.rows, batch.start)
        except Exception:
            logging.getLogger(__name__).exception("projection failed inside the write; the runner will retry")
            batch.tx.execute("ROLLBACK TO SAVEPOINT projections")

    def _current_batch(self) -> _Batch | None:
        held = getattr(_open_batch, "current", None)
        return held[1] if held is not None and held[0] is self else None

    def _can_batch(self) -> bool:
        return True

    @abstractmethod
    def _batch_transaction(self) -> contextlib.AbstractContextManager[_Batch]:
        """Begin a write transaction (the write lock taken); commit it when the block ends,
        roll it back if the block raises."""

    def _write_in_batch(self, batch: _Batch, job: Job) -> list[int]:
        # The line's savepoint is open already: opened with the batch, and again as each
        # line is released (fewer round trips per line on PostgreSQL).
        _last_write.inline = False  # the projections run once the batch's lines are in
        heads = dict(batch.heads)  # a line rolled back to its savepoint leaves no chain link
        try:
            job.ids = batch.insert(job, heads)
            self._finish_line(batch, job)
        except Exception as e:
            batch.tx.execute("ROLLBACK TO SAVEPOINT line")  # the savepoint stays, for the next line
            job.ids = []
            self._settle_keys([job], committed=False)
            if isinstance(e, sqlite3.IntegrityError | psycopg.IntegrityError):
                raise IntegrityError(str(e)) from e
            raise
        batch.landed.append(job)
        batch.heads.update(heads)
        rows = _new_rows(job.events, job.ids)
        batch.rows += rows
        for row in rows:
            if row.tenant_id in batch.latest:
                known = batch.latest[row.tenant_id]
                batch.latest[row.tenant_id] = row.at_us if known is None else max(known, row.at_us)
        if job.ids:
            batch.prev = job.ids[-1]
            if self.after_commit is not None:
                self.after_commit([job])
        return job.ids

    def _finish_line(self, batch: _Batch, job: Job) -> None:
        """The line's staff action row; then keep the line (release its savepoint) and open
        the next line's."""
        staff_actions.insert(batch.tx, self._staff_actions, [job], self._param)
        batch.tx.execute("RELEASE SAVEPOINT line")
        batch.tx.execute("SAVEPOINT line")

    def _batch_select_events(
        self, originator_id: UUID | str, gt: int | None, lte: int | None, desc: bool, limit: int | None
    ) -> list[LibStoredEvent]:
        """The library's ``select_events``, read through this thread's write batch."""
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
                for r in self._rows(sql, params)]

    def _originator_param(self, value: UUID) -> Any:
        return self._param(value)

    def _write_and_report(self, jobs: list[Job]) -> None:
        try:
            try:
                self._write_batch(jobs, inline=self.on_insert is not None)
            except _InlineFailed as failed:
                # A projection raised inside the write: the transaction was rolled back whole
                # (cheaper than a savepoint on every write), so write again without it; the
                # runner applies (and keeps logging) the event after the commit.
                logging.getLogger(__name__).error("projection failed inside the write; the runner will retry",
                                                  exc_info=failed.__cause__)
                self._write_batch(jobs, inline=False)
        except BaseException:
            self._settle_keys(jobs, committed=False)  # nothing of the batch landed
            raise
        self._settle_keys(jobs, committed=True)
        if self.after_commit is not None:
            landed = [j for j in jobs if j.error is None and j.ids]
            if landed:
                try:
                    self.after_commit(landed)
                except Exception:  # the writes are committed; a cache is only a cache
                    logging.getLogger(__name__).exception("after_commit failed")

    def _settle_keys(self, jobs: list[Job], *, committed: bool) -> None:
        """Tell the key ring which clients' keys the batch wrote, or destroyed (personal.py)."""
        if self.keyring is None:
            return
        for job in jobs:
            landed = committed and job.error is None and bool(job.ids)
            for e in job.events:
                if not isinstance(e, TenantStoredEvent):
                    continue
                if e.shreds is not None and landed:
                    self.keyring.forget(str(e.originator_id))
                elif e.new_key is not None:
                    self.keyring.settle(str(e.originator_id), e.new_key, landed=landed)

    @abstractmethod
    def _write_batch(self, jobs: list[Job], *, inline: bool) -> None:
        """One transaction for all jobs; each job's ``ids`` or ``error`` is set."""

    def _run_jobs(
        self, tx: Tx, jobs: list[Job], insert: Callable[[Job], list[int]], prev_head: int | None, *, inline: bool
    ) -> None:
        for job in jobs:
            job.ids, job.error, job.inline = [], None, False
        many = len(jobs) > 1
        rows: list[EventRow] = []
        for job in jobs:
            if many:
                tx.execute("SAVEPOINT job")
            try:
                job.ids = insert(job)
            except Exception as e:
                conflict = IntegrityError(str(e)) if isinstance(e, sqlite3.IntegrityError | psycopg.IntegrityError) else e
                if not many:
                    raise conflict from e
                tx.execute("ROLLBACK TO SAVEPOINT job")
                tx.execute("RELEASE SAVEPOINT job")
                job.error = conflict
                continue
            if many:
                tx.execute("RELEASE SAVEPOINT job")
            rows += _new_rows(job.events, job.ids)
        staff_actions.insert(tx, self._staff_actions, jobs, self._param)
        if rows and inline and self.on_insert is not None:
            prev = rows[0].notification_id - 1 if prev_head is None else prev_head
            try:
                applied = self.on_insert(tx, rows, prev)
            except Exception as e:
                raise _InlineFailed from e
            for job in jobs:
                job.inline = applied and job.error is None

    # ---- reads, one SQL text for both engines (``?`` placeholders) --------------------

    @property
    @abstractmethod
    def _events(self) -> str:
        """The events table's name as SQL (schema-qualified on PostgreSQL)."""

    @property
    @abstractmethod
    def _command_log(self) -> str:
        """The command log's name as SQL."""

    @property
    @abstractmethod
    def _staff_actions(self) -> str:
        """The staff action log's name as SQL (staff_actions.py)."""

    @abstractmethod
    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """One statement outside any transaction."""

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
            f"{self._text('tenant_id')}, at_us FROM {self._events} WHERE notification_id > ?"
        )
        params: list[Any] = [after]
        if tenant_id is not None:
            sql += " AND tenant_id = ?"
            params.append(self._param(tenant_id))
        if upto is not None:
            sql += " AND notification_id <= ?"
            params.append(upto)
        if skip_topics:
            # Events no reader wants are left in the database, not fetched and thrown away.
            sql += f" AND topic NOT IN ({', '.join('?' * len(skip_topics))})"
            params.extend(skip_topics)
        return cast(list[tuple[int, str, int, str, bytes, str, int]], self._rows(sql + " ORDER BY notification_id LIMIT ?", (*params, limit)))

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

    def max_notification_id(self) -> int:
        """The head of the store, 0 when it is empty. Asked before every command: one
        statement, no transaction (none in a write batch, which holds the write lock)."""
        batch = self._current_batch()
        if batch is not None:
            return batch.prev
        return int(self._rows(f"SELECT MAX(notification_id) FROM {self._events}", ())[0][0] or 0)

    def latest_at(self, tenant_id: UUID) -> int | None:
        batch = self._current_batch()
        if batch is not None and tenant_id in batch.latest:
            return batch.latest[tenant_id]
        sql = f"SELECT MAX(at_us) FROM {self._events} WHERE tenant_id = ?"
        latest = cast(int | None, self._rows(sql, (self._param(tenant_id),))[0][0])
        if batch is not None:
            batch.latest[tenant_id] = latest
        return latest

    def originator_ids(self, tenant_id: UUID, topic: str) -> list[UUID]:
        """The tenant's aggregates that have an event of ``topic``, in the order of their first."""
        sql = (f"SELECT originator_id FROM {self._events} WHERE tenant_id = ? AND topic = ? "
               "GROUP BY originator_id ORDER BY MIN(notification_id)")
        return [_uuid(r[0]) for r in self._rows(sql, (self._param(tenant_id), topic))]

    def count_events(self, tenant_id: UUID) -> int:
        sql = f"SELECT COUNT(*) FROM {self._events} WHERE tenant_id = ?"
        return int(self._rows(sql, (self._param(tenant_id),))[0][0])

    def changed_ids(self, after: int, upto: int) -> list[tuple[UUID, int]]:
        """The aggregates written by the events ``after < notification_id <= upto``, each
        with the highest version written there."""
        sql = (f"SELECT originator_id, MAX(originator_version) FROM {self._events} "
               "WHERE notification_id > ? AND notification_id <= ? GROUP BY originator_id")
        return [(_uuid(r[0]), int(r[1])) for r in self._rows(sql, (after, upto))]

    def get_command_record(self, tenant_id: UUID, key: str) -> CommandRecord | None:
        sql = f"SELECT request_hash, response, at_us FROM {self._command_log} WHERE tenant_id = ? AND key = ?"
        rows = self._rows(sql, (self._param(tenant_id), key))
        if not rows:
            return None
        return CommandRecord(tenant_id, key, rows[0][0], bytes(rows[0][1]), rows[0][2])

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


def _new_rows(stored_events: Sequence[LibStoredEvent], ids: Sequence[int]) -> list[EventRow]:
    rows = []
    for s, nid in zip(stored_events, ids, strict=True):
        tenant_id, at_us = _tenant_of(s)
        rows.append(EventRow(nid, _uuid(s.originator_id), s.originator_version, s.topic, s.state, tenant_id, at_us))
    return rows


def _tenant_of(s: LibStoredEvent) -> tuple[UUID, int]:
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


class _ImmediateTransaction(SQLiteTransaction):
    # A deferred BEGIN lets two processes read the chain head and then fail to upgrade
    # to a write lock; IMMEDIATE takes the write lock first and waits for it instead.
    def __enter__(self) -> Any:
        cursor = self.connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        return cursor


class SQLiteEventRecorder(EventRecorder, SQLiteApplicationRecorder):
    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = EVENTS_TABLE):
        super().__init__(datastore, events_table_name)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._reader_generation = 0
        t = self.events_table_name
        self.insert_events_statement = (
            f"INSERT INTO {t} (originator_id, originator_version, topic, state, tenant_id, "
            "at_us, chain) VALUES (?,?,?,?,?,?,?)"
        )
        self.select_events_statement = (
            f"SELECT originator_id, originator_version, topic, state FROM {t} "
            "WHERE originator_id=? "
        )

    def construct_create_table_statements(self) -> list[str]:
        t = self.events_table_name
        return [
            f"CREATE TABLE IF NOT EXISTS {t} ("
            # An explicit INTEGER PRIMARY KEY keeps its values through VACUUM; no
            # AUTOINCREMENT: events are never deleted, and it would write sqlite_sequence
            # on every commit.
            "notification_id INTEGER PRIMARY KEY, "
            "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, "
            "topic TEXT NOT NULL, state BLOB NOT NULL, tenant_id TEXT NOT NULL, "
            "at_us INTEGER NOT NULL, chain BLOB NOT NULL, "
            "UNIQUE (originator_id, originator_version))",
            f"CREATE INDEX IF NOT EXISTS {t}_tenant_idx ON {t} (tenant_id, notification_id)",
            f"CREATE INDEX IF NOT EXISTS {t}_tenant_at_idx ON {t} (tenant_id, at_us)",
            "CREATE TABLE IF NOT EXISTS command_log (tenant_id TEXT NOT NULL, "
            "key TEXT NOT NULL, request_hash TEXT NOT NULL, response BLOB NOT NULL, "
            "at_us INTEGER NOT NULL, PRIMARY KEY (tenant_id, key)) WITHOUT ROWID",
            # Each client's data key (store/personal.py); erasing the client deletes its row.
            "CREATE TABLE IF NOT EXISTS client_keys (client_id TEXT NOT NULL PRIMARY KEY, "
            "tenant_id TEXT NOT NULL, key BLOB NOT NULL)",
            *staff_actions.sqlite_ddl(),
        ]

    def insert_events(self, stored_events: Sequence[LibStoredEvent], **kwargs: Any) -> Sequence[int] | None:
        return self._submit(stored_events, kwargs)

    def _write_batch(self, jobs: list[Job], *, inline: bool) -> None:
        with (
            writer_lock(self.datastore.pool.db_name),
            self.datastore.get_connection(commit=True) as conn,
            _ImmediateTransaction(conn, commit=True),
        ):
            cur = conn._sqlite_conn.cursor()
            cur.row_factory = None
            # What is deleted (an erased client's key, the rows it leaves) is overwritten
            # with zeros, not left in free pages (DOMAIN §2.9).
            cur.execute("PRAGMA secure_delete = ON")
            # Under the write lock ids follow the previous head without gaps (max + 1; a
            # rolled-back savepoint gives its ids back), so no query for the head. Chain
            # heads are read once per batch and tenant, and carried from job to job.
            heads: dict[UUID, bytes] = {}

            def insert(job: Job) -> list[int]:
                mine = dict(heads)  # a job rolled back to its savepoint leaves no trace
                ids = self._insert_job(cur, job.events, mine, **job.kwargs)
                heads.update(mine)
                return ids

            self._run_jobs(SQLiteTx(cur), jobs, insert, None, inline=inline)

    def _can_batch(self) -> bool:
        return not self.datastore.pool.is_sqlite_memory_mode

    @contextlib.contextmanager
    def _batch_transaction(self) -> Iterator[_Batch]:
        with (
            writer_lock(self.datastore.pool.db_name),
            self.datastore.get_connection(commit=True) as conn,
            _ImmediateTransaction(conn, commit=True),
        ):
            cur = conn._sqlite_conn.cursor()
            cur.row_factory = None
            cur.execute("PRAGMA secure_delete = ON")  # as every write (an erasure leaves no copy)
            cur.execute(f"SELECT MAX(notification_id) FROM {self.events_table_name}")
            prev = int(cur.fetchone()[0] or 0)
            cur.execute("SAVEPOINT line")
            yield _Batch(SQLiteTx(cur), cur, lambda job, heads: self._insert_job(cur, job.events, heads, **job.kwargs),
                         prev, {})

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[LibStoredEvent]:
        if self._current_batch() is not None:
            return self._batch_select_events(originator_id, gt, lte, desc, limit)
        return super().select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)

    def _originator_param(self, value: UUID) -> Any:
        return value.hex  # as eventsourcing's SQLite recorder stores it

    def _insert_job(
        self, c: Any, stored_events: Sequence[LibStoredEvent], heads: dict[UUID, bytes], **kwargs: Any
    ) -> list[int]:
        ids: list[int] = []
        for s in stored_events:
            tenant_id, at_us = _tenant_of(s)
            if tenant_id not in heads:
                c.execute(
                    f"SELECT chain FROM {self.events_table_name} WHERE tenant_id=? "
                    "ORDER BY notification_id DESC LIMIT 1",
                    (str(tenant_id),),
                )
                row = c.fetchone()
                heads[tenant_id] = bytes(row[0]) if row else hashchain.GENESIS
            oid = _uuid(s.originator_id)
            chain = hashchain.link(
                heads[tenant_id], tenant_id, oid, s.originator_version, s.topic, at_us, s.state, self.chain_key
            )
            heads[tenant_id] = chain
            c.execute(
                self.insert_events_statement,
                (oid.hex, s.originator_version, s.topic, s.state, str(tenant_id), at_us, chain),
            )
            ids.append(c.lastrowid)
        for s in stored_events:
            if isinstance(s, TenantStoredEvent) and s.new_key is not None:
                c.execute("INSERT INTO client_keys (client_id, tenant_id, key) VALUES (?,?,?)",
                          (str(s.originator_id), str(s.tenant_id), s.new_key))
            if isinstance(s, TenantStoredEvent) and s.shreds is not None:
                oid = _uuid(s.shreds)
                c.execute("DELETE FROM client_keys WHERE client_id = ?", (str(oid),))
                # Snapshots hold the aggregate's decrypted state: a cache, gone with the key.
                c.execute(f"DELETE FROM {SNAPSHOTS_TABLE} WHERE originator_id IN (?, ?)", (oid.hex, str(oid)))
                # The staff action log copied the reasons given on the client's commands.
                c.execute(f"UPDATE {staff_actions.TABLE} SET reason = NULL WHERE tenant_id = ? AND aggregate_ids LIKE ? "
                          "AND reason IS NOT NULL", (str(s.tenant_id), f'%"{oid}"%'))
        record: CommandRecord | None = kwargs.get("command_record")
        if record is not None:
            c.execute(
                "INSERT INTO command_log VALUES (?,?,?,?,?)",
                (str(record.tenant_id), record.key, record.request_hash, record.response, record.at_us),
            )
        return ids

    @property
    def _events(self) -> str:
        return self.events_table_name

    @property
    def _command_log(self) -> str:
        return "command_log"

    @property
    def _staff_actions(self) -> str:
        return staff_actions.TABLE

    def _text(self, column: str) -> str:
        # eventsourcing stores originator_id as 32 hex digits: hyphenate it here, in C,
        # rather than row by row in Python (``hyphenated`` remains the fallback).
        c = column
        return (
            f"CASE WHEN length({c}) = 32 THEN lower(substr({c}, 1, 8) || '-' || substr({c}, 9, 4) || '-' || "
            f"substr({c}, 13, 4) || '-' || substr({c}, 17, 4) || '-' || substr({c}, 21)) ELSE {c} END"
        )

    def _param(self, value: UUID) -> Any:
        return str(value)

    def scrub(self, tables: Sequence[str]) -> None:
        # Every write runs with ``secure_delete`` (freed cells and pages are zeroed); the
        # WAL still holds the pages as they were: copy them home and empty the file.
        if self.datastore.pool.is_sqlite_memory_mode:
            return
        with self.datastore.get_connection(commit=False) as conn:
            conn._sqlite_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        batch = self._current_batch()
        if batch is not None:  # this thread's open write batch: read what it wrote
            batch.cur.execute(sql, params)
            return cast(list[tuple[Any, ...]], batch.cur.fetchall())
        reader = self._reader()
        if reader is None:
            with self.datastore.get_connection(commit=False) as conn:
                cur = conn._sqlite_conn.cursor()  # plain tuples: replay's hot path reads here
                cur.row_factory = None
                cur.execute(sql, params)
                return cur.fetchall()
        cur = reader.cursor()
        cur.execute(sql, params)
        return cur.fetchall()

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's own connection for the reads above. Every command first asks for
        the store's head (``SELECT MAX(notification_id)``, 14 µs); through the pool's
        bookkeeping it took 50. Autocommit: each statement is its own read transaction, so
        a reader never holds back a checkpoint. An in-memory database exists only inside
        the pool's connections, so it reads through them."""
        pool = self.datastore.pool
        if pool.is_sqlite_memory_mode:
            return None
        held = getattr(self._local, "reader", None)
        if held is not None and held[0] == self._reader_generation:
            return cast(sqlite3.Connection, held[1])
        conn = sqlite3.connect(pool.db_name, check_same_thread=False, isolation_level=None, timeout=30)
        with self._readers_lock:
            self._readers.append(conn)
        self._local.reader = (self._reader_generation, conn)
        return conn

    def close_readers(self) -> None:
        with self._readers_lock:
            self._reader_generation += 1  # a thread that reads again opens a new one
            for conn in self._readers:
                conn.close()
            self._readers.clear()


class PostgresEventRecorder(EventRecorder, PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = EVENTS_TABLE):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        table = Identifier(self.events_table_name)
        self.t = Composed([schema, SQL("."), table])
        self.sql_create_statements = [
            SQL(
                "CREATE TABLE IF NOT EXISTS {t} ("
                "notification_id bigserial PRIMARY KEY, "
                "originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
                "topic text NOT NULL, state bytea NOT NULL, tenant_id uuid NOT NULL, "
                "at_us bigint NOT NULL, chain bytea NOT NULL, "
                "UNIQUE (originator_id, originator_version))"
            ).format(t=self.t),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (tenant_id, notification_id)").format(
                i=Identifier(f"{self.events_table_name}_tenant_idx"), t=self.t
            ),
            SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (tenant_id, at_us)").format(
                i=Identifier(f"{self.events_table_name}_tenant_at_idx"), t=self.t
            ),
            SQL(
                "CREATE TABLE IF NOT EXISTS {s}.command_log (tenant_id uuid NOT NULL, "
                "key text NOT NULL, request_hash text NOT NULL, response bytea NOT NULL, "
                "at_us bigint NOT NULL, PRIMARY KEY (tenant_id, key))"
            ).format(s=schema),
            SQL(
                "CREATE TABLE IF NOT EXISTS {s}.client_keys (client_id text NOT NULL PRIMARY KEY, "
                "tenant_id text NOT NULL, key bytea NOT NULL)"
            ).format(s=schema),
            *staff_actions.postgres_ddl(self.datastore.schema),
        ]
        self.insert_rows_statement = SQL(
            "INSERT INTO {t} (originator_id, originator_version, topic, state, tenant_id, "
            "at_us, chain) SELECT o, v, tp, st, tn, a, ch FROM unnest("
            "%s::uuid[], %s::bigint[], %s::text[], %s::bytea[], %s::uuid[], %s::bigint[], "
            "%s::bytea[]) WITH ORDINALITY AS u(o, v, tp, st, tn, a, ch, n) ORDER BY n "
            "RETURNING notification_id"
        ).format(t=self.t)
        self.insert_log_statement = SQL("INSERT INTO {s}.command_log VALUES (%s,%s,%s,%s,%s)").format(s=schema)
        # The events and the command's log row in one statement (a data-modifying CTE).
        self.insert_rows_and_log_statement = SQL(
            "WITH ev AS ({rows}), lg AS (INSERT INTO {s}.command_log VALUES (%s,%s,%s,%s,%s)) "
            "SELECT notification_id FROM ev"
        ).format(rows=self.insert_rows_statement, s=schema)
        self.select_events_statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {t} "
            "WHERE originator_id = %s"
        ).format(t=self.t)

    def insert_events(self, stored_events: Sequence[LibStoredEvent], **kwargs: Any) -> Sequence[int] | None:
        return self._submit(stored_events, kwargs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _write_batch(self, jobs: list[Job], *, inline: bool) -> None:
        # Round trips are what a PostgreSQL write costs: BEGIN, the table lock (commit order
        # = id order), the head and every tenant's chain head go in one simple-protocol
        # message (the tenant ids are UUIDs, safe as literals); each job's events and its
        # command-log row then go in one statement; COMMIT is the last.
        tenants = list(dict.fromkeys(_tenant_of(e)[0] for job in jobs for e in job.events))
        literals = ",".join(f"'{t}'" for t in tenants)
        head_sql = (
            f"BEGIN; SET LOCAL lock_timeout = '0s'; LOCK TABLE {self._events} IN EXCLUSIVE MODE; "
            f"SELECT (SELECT MAX(notification_id) FROM {self._events}), tn, (SELECT chain FROM {self._events} "
            f"WHERE tenant_id = tn ORDER BY notification_id DESC LIMIT 1) FROM unnest(ARRAY[{literals}]::uuid[]) AS tn"
            if tenants
            else f"BEGIN; SET LOCAL lock_timeout = '0s'; LOCK TABLE {self._events} IN EXCLUSIVE MODE; "
            f"SELECT MAX(notification_id), NULL, NULL FROM {self._events}"
        )
        with self.datastore.get_connection() as conn:
            assert conn.autocommit  # the transaction is ours: BEGIN above, COMMIT below
            curs = conn.cursor(row_factory=tuple_row)
            try:
                curs.execute(head_sql)
                while curs.nextset():
                    pass
                found = curs.fetchall()
                prev = int(found[0][0] or 0)
                heads = {r[1]: bytes(r[2]) if r[2] is not None else hashchain.GENESIS for r in found if r[1] is not None}

                def insert(job: Job) -> list[int]:
                    mine = dict(heads)  # a job rolled back to its savepoint leaves no trace
                    ids = self._insert_job(curs, job.events, mine, job.kwargs.get("command_record"))
                    heads.update(mine)
                    return ids

                self._run_jobs(PgTx(curs), jobs, insert, prev, inline=inline)
                curs.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    curs.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def _batch_transaction(self) -> Iterator[_Batch]:
        with self.datastore.get_connection() as conn:
            assert conn.autocommit  # the transaction is ours: BEGIN here, COMMIT below
            curs = conn.cursor(row_factory=tuple_row)
            try:
                curs.execute(
                    f"BEGIN; SET LOCAL lock_timeout = '0s'; LOCK TABLE {self._events} IN EXCLUSIVE MODE; "
                    f"SAVEPOINT line; SELECT MAX(notification_id) FROM {self._events}"
                )
                while curs.nextset():
                    pass
                found = curs.fetchone()
                prev = int(found[0] or 0) if found else 0

                def insert(job: Job, heads: dict[UUID, bytes]) -> list[int]:
                    for tenant_id in dict.fromkeys(_tenant_of(e)[0] for e in job.events):
                        if tenant_id not in heads:
                            curs.execute(
                                f"SELECT chain FROM {self._events} WHERE tenant_id = %s "
                                "ORDER BY notification_id DESC LIMIT 1", (tenant_id,), prepare=True,
                            )
                            row = curs.fetchone()
                            heads[tenant_id] = bytes(row[0]) if row else hashchain.GENESIS
                    return self._insert_job(curs, job.events, heads, job.kwargs.get("command_record"))

                yield _Batch(PgTx(curs), curs, insert, prev, {})
                curs.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    curs.execute("ROLLBACK")
                raise

    def _finish_line(self, batch: _Batch, job: Job) -> None:
        # Three statements, one round trip (pipeline mode): nothing here returns rows. If
        # the row fails, the statements after it are skipped and the savepoint stays, for
        # the line to be rolled back to.
        with batch.cur.connection.pipeline():
            staff_actions.insert(batch.tx, self._staff_actions, [job], self._param)
            batch.cur.execute("RELEASE SAVEPOINT line")
            batch.cur.execute("SAVEPOINT line")

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[LibStoredEvent]:
        if self._current_batch() is not None:
            return self._batch_select_events(originator_id, gt, lte, desc, limit)
        return cast(Sequence[LibStoredEvent], super().select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit))

    def _insert_job(
        self, curs: Any, stored_events: Sequence[LibStoredEvent], heads: dict[UUID, bytes], record: CommandRecord | None
    ) -> list[int]:
        cols: list[list[Any]] = [[] for _ in range(7)]
        for s in stored_events:
            tenant_id, at_us = _tenant_of(s)
            oid = _uuid(s.originator_id)
            chain = hashchain.link(
                heads[tenant_id], tenant_id, oid, s.originator_version, s.topic, at_us, s.state, self.chain_key
            )
            heads[tenant_id] = chain
            for col, value in zip(
                cols,
                (oid, s.originator_version, s.topic, s.state, tenant_id, at_us, chain),
                strict=True,
            ):
                col.append(value)
        schema = Identifier(self.datastore.schema)
        for s in stored_events:
            if isinstance(s, TenantStoredEvent) and s.new_key is not None:
                curs.execute(SQL("INSERT INTO {s}.client_keys (client_id, tenant_id, key) VALUES (%s, %s, %s)").format(
                    s=schema), (str(s.originator_id), str(s.tenant_id), s.new_key))
            if isinstance(s, TenantStoredEvent) and s.shreds is not None:
                curs.execute(SQL("DELETE FROM {s}.client_keys WHERE client_id = %s").format(s=schema), (str(s.shreds),))
                curs.execute(SQL("DELETE FROM {s}.{t} WHERE originator_id = %s").format(
                    s=schema, t=Identifier(SNAPSHOTS_TABLE)), (_uuid(s.shreds),))
                curs.execute(SQL("UPDATE {s}.{t} SET reason = NULL WHERE tenant_id = %s AND aggregate_ids LIKE %s "
                                 "AND reason IS NOT NULL").format(s=schema, t=Identifier(staff_actions.TABLE)),
                             (s.tenant_id, f'%"{_uuid(s.shreds)}"%'))
        log = (record.tenant_id, record.key, record.request_hash, record.response, record.at_us) if record else None
        if stored_events and log:
            curs.execute(self.insert_rows_and_log_statement, (*cols, *log))
        elif stored_events:
            curs.execute(self.insert_rows_statement, cols)
        elif log:
            curs.execute(self.insert_log_statement, log)
            return []
        else:
            return []
        return sorted(r[0] for r in curs.fetchall())

    @property
    def _events(self) -> str:
        return f'"{self.datastore.schema}"."{self.events_table_name}"'

    @property
    def _command_log(self) -> str:
        return f'"{self.datastore.schema}".command_log'

    @property
    def _client_keys(self) -> str:
        return f'"{self.datastore.schema}".client_keys'

    @property
    def _staff_actions(self) -> str:
        return f'"{self.datastore.schema}".{staff_actions.TABLE}'

    def _text(self, column: str) -> str:
        return f"{column}::text"

    def scrub(self, tables: Sequence[str]) -> None:
        # Deleted and updated rows stay in the tables' pages as dead tuples; a VACUUM frees
        # them for reuse but leaves their bytes in the page until overwritten (tried and
        # seen: the name was still in the heap and index files). VACUUM FULL writes each
        # table (and its indexes) anew and unlinks the old files. It holds an exclusive
        # lock on the table while it rewrites it: proportionate to the table's size, and
        # erasures are rare. Old WAL segments, archives and backups taken before are the
        # operator's part (docs/operations.md).
        schema = self.datastore.schema
        with self.datastore.get_connection() as conn:
            assert conn.autocommit  # VACUUM runs outside any transaction
            for table in (f'"{schema}".client_keys', f'"{schema}".{SNAPSHOTS_TABLE}',
                          f'"{schema}".{staff_actions.TABLE}', *tables):
                # ANALYZE with it: the planner's statistics sample a column's values.
                conn.execute(f"VACUUM (FULL, ANALYZE) {table}")

    def _param(self, value: UUID) -> Any:
        return value

    def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        batch = self._current_batch()
        if batch is not None:  # this thread's open write batch: read what it wrote
            batch.cur.execute(pg_sql(sql), params, prepare=True)
            return cast(list[tuple[Any, ...]], batch.cur.fetchall())
        return cast(list[tuple[Any, ...]], self._pooled_rows(sql, params))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _pooled_rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.datastore.get_connection() as conn:
            curs = conn.cursor(row_factory=tuple_row)
            curs.execute(pg_sql(sql), params, prepare=True)
            return curs.fetchall()
