"""The PostgreSQL event recorder: the shared recorder (recorders.py) on the library's
PostgreSQL datastore.

It keeps the library's locking (``LOCK TABLE ... IN EXCLUSIVE MODE``, so commit order is
id order; no DB functions: with ``POSTGRES_ENABLE_DB_FUNCTIONS`` on, subscribers were
seen to skip concurrent events) but sends it in fewer round trips, and no NOTIFY:
nothing here listens, the projection runner polls.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.persistence import StoredEvent as LibStoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg import ClientCursor
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

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
from classledger.store.tx import PgTx, pg_sql


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
        # Statements kept as text, composed once: psycopg would compose a ``Composed`` again on
        # every execute. The events go in as one VALUES row each (rows are inserted, and
        # numbered, in the order given), one statement text per number of events.
        self._insert_rows: dict[tuple[int, bool, int], str] = {}
        self._insert_log = SQL("INSERT INTO {s}.command_log VALUES (%s,%s,%s,%s,%s)").format(s=schema).as_string()
        self._delete_key = SQL("DELETE FROM {s}.client_keys WHERE client_id = %s").format(s=schema).as_string()
        self._delete_snapshots = SQL("DELETE FROM {s}.{t} WHERE originator_id = %s").format(
            s=schema, t=Identifier(SNAPSHOTS_TABLE)).as_string()
        self._forget_reasons = SQL("UPDATE {s}.{t} SET reason = NULL WHERE tenant_id = %s AND aggregate_ids LIKE %s "
                                   "AND reason IS NOT NULL").format(s=schema, t=Identifier(staff_actions.TABLE)).as_string()
        self.select_events_statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {t} "
            "WHERE originator_id = %s"
        ).format(t=self.t)

    transient = (InterfaceError, OperationalError)

    def begin_write(
        self, tenants: Collection[UUID] = (), *, savepoint: str | None = None
    ) -> AbstractContextManager[WriteTx]:
        return self._begin_write(tenants, savepoint)

    @contextlib.contextmanager
    def _begin_write(self, tenants: Collection[UUID], savepoint: str | None) -> Iterator[WriteTx]:
        # Round trips are what a PostgreSQL write costs: BEGIN, the table lock (commit order
        # = id order), the savepoint, the head and every named tenant's chain head go in one
        # simple-protocol message (the tenant ids are UUIDs, safe as literals); COMMIT is
        # the last.
        literals = ",".join(f"'{t}'" for t in tenants)
        begin = (f"BEGIN; SET LOCAL lock_timeout = '0s'; LOCK TABLE {self._events} IN EXCLUSIVE MODE; "
                 + (f"SAVEPOINT {savepoint}; " if savepoint is not None else ""))
        head_sql = (
            begin + f"SELECT (SELECT MAX(notification_id) FROM {self._events}), tn, (SELECT chain FROM {self._events} "
            f"WHERE tenant_id = tn ORDER BY notification_id DESC LIMIT 1) FROM unnest(ARRAY[{literals}]::uuid[]) AS tn"
            if tenants
            else begin + f"SELECT MAX(notification_id), NULL, NULL FROM {self._events}"
        )
        with self.datastore.get_connection() as conn:
            assert conn.autocommit  # the transaction is ours: BEGIN above, COMMIT below
            curs = conn.cursor(row_factory=tuple_row)
            try:
                curs.execute(head_sql)
                while curs.nextset():
                    pass
                found = curs.fetchall()
                heads = {r[1]: bytes(r[2]) if r[2] is not None else hashchain.GENESIS for r in found if r[1] is not None}
                w = WriteTx(PgTx(curs), curs, int(found[0][0] or 0), heads)
                if savepoint is not None:
                    self._mark(w, savepoint)
                yield w
                self._commit(w)
            except BaseException:
                with contextlib.suppress(Exception):
                    curs.execute("ROLLBACK")
                raise

    def flush_actions(self, w: WriteTx) -> None:
        """Held: the staff action rows go with the statements that end their part of the
        transaction, in the same message (``_keep``, ``_commit``)."""

    def _commit(self, w: WriteTx) -> None:
        # The staff action rows still held and the COMMIT: one simple-protocol message. If
        # a row fails, the COMMIT is skipped and the transaction is rolled back whole.
        self._send_with(w, "COMMIT")

    def _send_with(self, w: WriteTx, *statements: str) -> None:
        """The held staff action rows, then ``statements``, in one message."""
        held = _Held()
        if w.actions:
            staff_actions.insert(held, self._staff_actions, w.actions, self._param)
        held.statements += statements
        if held.params:
            ClientCursor(w.cur.connection).execute("; ".join(held.statements), held.params)
        else:
            w.cur.execute("; ".join(held.statements))
        w.actions = []

    def _keep(self, w: WriteTx, name: str) -> None:
        # Three statements, one round trip: nothing here returns rows, so they go as one
        # simple-protocol message, the row's values bound on this side (a client-side
        # binding cursor: no pipeline to open and sync). If the row fails, the statements
        # after it are skipped and the savepoint stays, for the command to be rolled back to.
        self._send_with(w, f"RELEASE SAVEPOINT {name}", f"SAVEPOINT {name}")

    def _insert(self, w: WriteTx, stored_events: Sequence[LibStoredEvent], record: CommandRecord | None) -> list[int]:
        curs, heads = w.cur, w.heads
        for tenant_id in dict.fromkeys(tenant_of(e)[0] for e in stored_events):
            if tenant_id not in heads:
                curs.execute(
                    f"SELECT chain FROM {self._events} WHERE tenant_id = %s "
                    "ORDER BY notification_id DESC LIMIT 1", (tenant_id,), prepare=True,
                )
                row = curs.fetchone()
                heads[tenant_id] = bytes(row[0]) if row else hashchain.GENESIS
        values: list[Any] = []  # seven per event, in the order they are inserted
        for s in stored_events:
            tenant_id, at_us = tenant_of(s)
            oid = _uuid(s.originator_id)
            chain = hashchain.link(
                heads[tenant_id], tenant_id, oid, s.originator_version, s.topic, at_us, s.state, self.chain_key
            )
            heads[tenant_id] = chain
            values += (oid, s.originator_version, s.topic, s.state, tenant_id, at_us, chain)
        # A client's new data key goes in with the events (the same statement); what an
        # erasure deletes goes before them, in the same round trip (pipeline mode): if one
        # fails, those after it are skipped and the error is raised here.
        new_keys: list[Any] = []
        erasing: list[tuple[str, tuple[Any, ...]]] = []
        for s in stored_events:
            if isinstance(s, TenantStoredEvent) and s.new_key is not None:
                new_keys += (str(s.originator_id), str(s.tenant_id), s.new_key)
            if isinstance(s, TenantStoredEvent) and s.shreds is not None:
                erasing.append((self._delete_key, (str(s.shreds),)))
                erasing.append((self._delete_snapshots, (_uuid(s.shreds),)))
                erasing.append((self._forget_reasons, (s.tenant_id, f'%"{_uuid(s.shreds)}"%')))
        log = (record.tenant_id, record.key, record.request_hash, record.response, record.at_us) if record else None
        with curs.connection.pipeline() if erasing else contextlib.nullcontext():
            for statement, params in erasing:
                curs.execute(statement, params)
            if stored_events:
                statement = self._rows_statement(len(stored_events), log is not None, len(new_keys) // 3)
                curs.execute(statement, (*values, *(log or ()), *new_keys), prepare=True)
            elif log:
                curs.execute(self._insert_log, log, prepare=True)
                return []
            else:
                return []
            return sorted(r[0] for r in curs.fetchall())

    def _rows_statement(self, n: int, log: bool, keys: int) -> str:
        """The insert of ``n`` events (their notification ids returned), and in the same
        statement (data-modifying CTEs) the command's log row with ``log`` and ``keys``
        clients' new data keys."""
        statement = self._insert_rows.get((n, log, keys))
        if statement is None:
            rows = (f"INSERT INTO {self._events} (originator_id, originator_version, topic, state, tenant_id, "
                    f"at_us, chain) VALUES {', '.join(['(%s,%s,%s,%s,%s,%s,%s)'] * n)} RETURNING notification_id")
            also = ([f"lg AS (INSERT INTO {self._command_log} VALUES (%s,%s,%s,%s,%s))"] if log else []) + (
                [f"ks AS (INSERT INTO {self._client_keys} (client_id, tenant_id, key) VALUES "
                 f"{', '.join(['(%s,%s,%s)'] * keys)})"] if keys else [])
            statement = f"WITH ev AS ({rows}), {', '.join(also)} SELECT notification_id FROM ev" if also else rows
            self._insert_rows[(n, log, keys)] = statement
        return statement

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

    def _one_tenant(self, after: int, tenant: Any, upto: int | None) -> tuple[str, list[Any], str]:
        # From the tenant's next event (found through the (tenant_id, notification_id)
        # index): from ``after`` alone the planner walks the primary key and filters the
        # tenant, through every other tenant's events in between, all of the earlier
        # tenants' when a store's schools came in one after another (2.8 s for the first
        # page of the last of eight schools against 0.06 s).
        where, params, order = super()._one_tenant(after, tenant, upto)
        start = f"notification_id >= (SELECT MIN(notification_id) FROM {self._events} WHERE tenant_id = ? AND notification_id > ?)"
        return f"{start} AND {where}", [tenant, after, *params], order

    def _rows(self, sql: str, params: Sequence[Any], within: WriteTx | None = None) -> list[tuple[Any, ...]]:
        if within is not None:  # an open write transaction: read what it wrote
            within.cur.execute(pg_sql(sql), params, prepare=True)
            return cast(list[tuple[Any, ...]], within.cur.fetchall())
        return cast(list[tuple[Any, ...]], self._pooled_rows(sql, params))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _pooled_rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with self.datastore.get_connection() as conn:
            curs = conn.cursor(row_factory=tuple_row)
            curs.execute(pg_sql(sql), params, prepare=True)
            return curs.fetchall()


class _Held:
    """Statements held instead of sent (``staff_actions.Statements``; ``?`` placeholders made
    psycopg's, their values in order), for the caller to send with its own in one message."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.params: list[Any] = []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        for row in rows:
            self.statements.append(pg_sql(sql))
            self.params.extend(row)
