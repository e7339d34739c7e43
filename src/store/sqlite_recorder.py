"""The SQLite event recorder: the shared recorder (recorders.py) on the library's SQLite
datastore. Writers of every process take the database's write lock in turn
(``BEGIN IMMEDIATE``, behind writer_lock.py's file lock); readers keep a connection of
their own per thread beside the pool."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import StoredEvent as LibStoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore, SQLiteTransaction

from classledger.store import hashchain, staff_actions
from classledger.store.codec import TenantStoredEvent
from classledger.store.recorders import (
    EVENTS_TABLE,
    SNAPSHOTS_TABLE,
    CommandRecord,
    EventRecorder,
    WriteTx,
    _uuid,
    tenant_of,
)
from classledger.store.tx import SQLiteTx
from classledger.store.writer_lock import writer_lock


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

    def begin_write(
        self, tenants: Collection[UUID] = (), *, savepoint: str | None = None
    ) -> AbstractContextManager[WriteTx]:
        return self._begin_write(savepoint)

    @contextlib.contextmanager
    def _begin_write(self, savepoint: str | None) -> Iterator[WriteTx]:
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
            # rolled-back savepoint gives its ids back), so the head is read only when
            # asked for (``head``). Chain heads are read once per transaction and tenant.
            w = WriteTx(SQLiteTx(cur), cur, None)
            if savepoint is not None:
                self.savepoint(w, savepoint)
            yield w

    def can_batch(self) -> bool:
        return not self.datastore.pool.is_sqlite_memory_mode

    def _originator_param(self, value: UUID) -> Any:
        return value.hex  # as eventsourcing's SQLite recorder stores it

    def _insert(self, w: WriteTx, stored_events: Sequence[LibStoredEvent], record: CommandRecord | None) -> list[int]:
        c, heads = w.cur, w.heads
        ids: list[int] = []
        for s in stored_events:
            tenant_id, at_us = tenant_of(s)
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

    def _rows(self, sql: str, params: Sequence[Any], within: WriteTx | None = None) -> list[tuple[Any, ...]]:
        if within is not None:  # an open write transaction: read what it wrote
            within.cur.execute(sql, params)
            return cast(list[tuple[Any, ...]], within.cur.fetchall())
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
