"""Opening the configured database: ``CLASSLEDGER_DATABASE_URL`` (API §1).

``Store`` owns one eventsourcing infrastructure factory (one connection pool), the
event recorder and the mapper; the application, the projections and the read side all
share it, so an SQLite file or a PostgreSQL pool is opened once per process.

``Database`` is the small SQL surface projections use for their own tables: one DDL and
one query text for both engines (``?`` placeholders, translated for psycopg), tuples
out, explicit write transactions.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from eventsourcing.persistence import InfrastructureFactory, IntegrityError, Mapper
from eventsourcing.postgres import PostgresFactory
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import get_topic
from psycopg.rows import tuple_row

from classledger.store.audit_key import DEVELOPMENT_KEY, AuditKey
from classledger.store.codec import OrjsonTranscoder, PydanticMapper
from classledger.store.personal import KeyRing
from classledger.store.postgres_recorder import PostgresEventRecorder
from classledger.store.recorders import EventRecorder
from classledger.store.sqlite_recorder import SQLiteEventRecorder
from classledger.store.tx import PgTx, SQLiteTx, Tx, pg_sql
from classledger.store.writer_lock import writer_lock

__all__ = ["Database", "Store", "Tx", "check_identifier", "database_url", "env_for_url"]

DEFAULT_URL = "sqlite:///./classledger.db"
Dialect = Literal["sqlite", "postgresql"]


class DatabaseURLError(ValueError):
    pass


def database_url() -> str:
    return os.environ.get("CLASSLEDGER_DATABASE_URL") or DEFAULT_URL


def env_for_url(url: str) -> dict[str, str]:
    """The eventsourcing environment for a classledger database URL."""
    common = {
        "TRANSCODER_TOPIC": get_topic(OrjsonTranscoder),
        "MAPPER_TOPIC": get_topic(PydanticMapper),
        "CREATE_TABLE": "y",
        # Aggregates with long histories (a client's account, a pass with a year of visits)
        # load from their latest snapshot plus the events after it (application/service.py).
        "IS_SNAPSHOTTING_ENABLED": "y",
    }
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise DatabaseURLError("sqlite URL needs a path: sqlite:///./classledger.db")
        if path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        if not parts.hostname or not parts.path.strip("/"):
            raise DatabaseURLError(
                "PostgreSQL URL must look like postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
            )
        return {
            **common,
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parts.path.strip("/")),
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or ""),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_POOL_SIZE": os.environ.get("CLASSLEDGER_PG_POOL_SIZE", "4"),
            "POSTGRES_MAX_OVERFLOW": os.environ.get("CLASSLEDGER_PG_MAX_OVERFLOW", "16"),
            "POSTGRES_CONNECT_TIMEOUT": "10",
            # Off on purpose: see store/postgres_recorder.py.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        }
    raise DatabaseURLError(
        f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DBNAME"
    )


class Database:
    """Transactions on the event store's own database, for projection tables and reads."""

    def __init__(self, factory: InfrastructureFactory[Any], dialect: Dialect) -> None:
        self.factory = factory
        self.dialect = dialect

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Tx]:
        """One atomic write; on SQLite the write lock is taken up front.

        ``durable=False`` (a rebuild's pages into scratch tables): the commit does not wait
        for an fsync (SQLite: ``synchronous=NORMAL`` in WAL mode; PostgreSQL: ``SET LOCAL
        synchronous_commit = off``). It is still atomic and survives the process being
        killed; only a crash of the machine (or of the server) may lose the last pages,
        which the rebuild then redoes from its checkpoint (rows and position commit together).
        """
        if self.dialect == "sqlite":
            ds = self.factory.datastore  # type: ignore[attr-defined]
            with writer_lock(ds.pool.db_name), ds.get_connection(commit=True) as conn:
                raw: sqlite3.Connection = conn._sqlite_conn
                cur = raw.cursor()
                cur.row_factory = None
                cur.execute("PRAGMA secure_delete = ON")  # an erased client's rows leave no trace (DOMAIN §2.9)
                if not durable:
                    (level,) = cur.execute("PRAGMA synchronous").fetchone()
                    cur.execute("PRAGMA synchronous=NORMAL")
                try:
                    cur.execute("BEGIN IMMEDIATE")
                    try:
                        yield SQLiteTx(cur)
                    except BaseException:
                        raw.rollback()
                        raise
                    try:
                        raw.commit()
                    except sqlite3.IntegrityError as e:
                        raise IntegrityError(e) from e
                finally:
                    if not durable:
                        cur.execute(f"PRAGMA synchronous={int(level)}")
        else:
            ds = self.factory.datastore  # type: ignore[attr-defined]
            with ds.get_connection() as conn, conn.transaction():
                cur = conn.cursor(row_factory=tuple_row)
                if not durable:
                    # The same trade as SQLite's NORMAL: the commit does not wait for the WAL flush.
                    cur.execute("SET LOCAL synchronous_commit = off")
                yield PgTx(cur)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement, no transaction around it: a single consistent read, one round trip."""
        ds = self.factory.datastore  # type: ignore[attr-defined]
        if self.dialect == "sqlite":
            with ds.get_connection(commit=False) as conn:
                cur = conn._sqlite_conn.cursor()
                cur.row_factory = None
                cur.execute(sql, params)
                return list(cur.fetchall())
        with ds.get_connection() as conn:
            cur = conn.cursor(row_factory=tuple_row)
            cur.execute(pg_sql(sql), params)
            return list(cur.fetchall())

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A consistent read (one snapshot of the database)."""
        if self.dialect == "sqlite":
            ds = self.factory.datastore  # type: ignore[attr-defined]
            with ds.get_connection(commit=False) as conn:
                raw = conn._sqlite_conn
                cur = raw.cursor()
                cur.row_factory = None
                cur.execute("BEGIN")
                try:
                    yield SQLiteTx(cur)
                finally:
                    raw.rollback()
        else:
            ds = self.factory.datastore  # type: ignore[attr-defined]
            with ds.get_connection() as conn, conn.transaction(force_rollback=True):
                cur = conn.cursor(row_factory=tuple_row)
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield PgTx(cur)


_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def check_identifier(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a safe SQL identifier: {name!r}")
    return name


@dataclass
class Store:
    """The event store and its database, opened once per process."""

    url: str
    env: dict[str, str]
    factory: InfrastructureFactory[Any]
    recorder: EventRecorder
    mapper: PydanticMapper
    db: Database
    audit_key: AuditKey = DEVELOPMENT_KEY  # keys the hash chain (audit_key.py)

    @classmethod
    def open(cls, url: str | None = None, *, audit_key: AuditKey = DEVELOPMENT_KEY) -> Store:
        url = url or database_url()
        env = env_for_url(url)
        factory: InfrastructureFactory[Any]
        recorder: EventRecorder
        if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
            factory = SQLiteFactory(env)
            sqlite_recorder = SQLiteEventRecorder(factory.datastore)
            sqlite_recorder.create_table()
            recorder = sqlite_recorder
            dialect: Dialect = "sqlite"
        else:
            factory = PostgresFactory(env)
            pg_recorder = PostgresEventRecorder(factory.datastore)
            pg_recorder.create_table()
            recorder = pg_recorder
            dialect = "postgresql"
        mapper: Mapper[Any] = factory.mapper(transcoder=OrjsonTranscoder())
        if not isinstance(mapper, PydanticMapper):
            raise TypeError("the store needs classledger's PydanticMapper")
        # One key ring per store: the clients' data keys (store/personal.py).
        mapper.keyring = recorder.keyring = KeyRing(recorder.client_key, recorder.client_keys)
        recorder.chain_key = audit_key.secret
        return cls(url, env, factory, recorder, mapper, Database(factory, dialect), audit_key)

    @property
    def dialect(self) -> Dialect:
        return self.db.dialect

    def close(self) -> None:
        self.recorder.close_readers()
        self.factory.close()

