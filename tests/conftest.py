"""Fixtures shared by every test: the databases every storage test runs on.

Storage tests take the ``store`` fixture and run once per engine: SQLite always, and
PostgreSQL when ``CLASSLEDGER_TEST_POSTGRES_URL`` points at a server (``make test`` starts
a private one). With ``CLASSLEDGER_REQUIRE_POSTGRES=1`` (CI) a missing server is an error,
not a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from classledger.store.database import Store
from classledger.system import System

PG_URL = os.environ.get("CLASSLEDGER_TEST_POSTGRES_URL", "")
ENGINES = ["sqlite", *(["postgres"] if PG_URL else [])]


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("CLASSLEDGER_REQUIRE_POSTGRES") == "1" and not PG_URL:
        raise pytest.UsageError(
            "CLASSLEDGER_REQUIRE_POSTGRES=1 but CLASSLEDGER_TEST_POSTGRES_URL is not set: "
            "PostgreSQL tests cannot be skipped here"
        )


def _with_db(url: str, dbname: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + dbname, p.query, p.fragment))


def make_pg_database() -> str:
    name = f"cl_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_db(PG_URL, name)


def drop_pg_database(url: str) -> None:
    name = urlsplit(url).path.strip("/")
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(engine: str, tmp_path: object, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database: a new SQLite file, or a new PostgreSQL database."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path}/classledger.db"
    else:
        url = make_pg_database()
        yield url
        drop_pg_database(url)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store.open(database_url)
    yield s
    s.close()


@pytest.fixture
def system(database_url: str) -> Iterator[System]:
    """The whole system (store, application, projections) on a fresh database."""
    s = System.open(database_url)
    yield s
    s.close()
