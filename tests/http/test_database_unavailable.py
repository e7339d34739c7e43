"""A database that cannot be reached answers 503 with ``Retry-After``, never a 500, and
the API answers again once it is back (API §3: a 5xx other than 503 is a bug).

SQLite: the database's directory is gone (the pool's connections closed, the path
pointing where nothing can be opened). PostgreSQL: every connection is cut by the server
and the pool now dials a port where nothing listens. On both databases.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg

from tests.conftest import PG_URL
from tests.http.support import Api, assert_error


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def take_database_away(api: Api, tmp_path: Path) -> Callable[[], None]:
    """Make the database unreachable for this process; returns how to bring it back."""
    store = api.system.store
    ds: Any = store.factory.datastore
    if store.dialect == "sqlite":
        pool = ds.pool
        path = pool.db_name
        with pool._put_condition:  # the idle connections: gone with the file system
            while pool._pool:
                pool._pool.popleft().close()
        store.recorder.close_readers()
        pool.db_name = str(tmp_path / "unmounted" / "classledger.db")

        def back() -> None:
            pool.db_name = path
            store.recorder.close_readers()

        return back
    pool = ds.pool
    port, timeout = pool.kwargs["port"], pool.timeout
    pool.kwargs["port"] = str(_closed_port())
    pool.timeout = 1.0  # how long a request waits for a connection before giving up
    dbname = urlsplit(store.url).path.strip("/")
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))

    def back_pg() -> None:
        pool.kwargs["port"] = port
        pool.timeout = timeout

    return back_pg


def test_a_database_out_of_reach_answers_503_and_the_api_comes_back(api: Api, tmp_path: Path) -> None:
    cid = api.client()
    back = take_database_away(api, tmp_path)
    for r in (
        api.get("/v1/clients"),
        api.get(f"/v1/clients/{cid}"),
        api.get(f"/v1/clients/{cid}/history"),
        api.post("/v1/clients", {"name": "Nová", "branch_id": api.branch}),
        api.http.get("/healthz"),
    ):
        err = assert_error(r, 503, "database_unavailable")
        assert int(r.headers["retry-after"]) > 0
        assert "try again" in err["message"]
    back()
    deadline = time.monotonic() + 20  # the pool reconnects on its own schedule
    while True:
        r = api.get(f"/v1/clients/{cid}")
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert r.status_code == 200, r.text
    assert api.http.get("/healthz").json() == {"ok": True}
    assert api.post("/v1/clients", {"name": "Nová", "branch_id": api.branch}).status_code == 201
