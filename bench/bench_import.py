"""Lines imported per second through the real command path, against this machine's limits.

For each database, side by side in one run (medians of ``RUNS`` runs, each on a fresh
database):

* **driver**: the plain driver's durable single-row commit rate (``sqlite3`` in WAL mode
  with ``synchronous=FULL``, as the store opens it; ``psycopg`` in autocommit): the
  floor of the hardware and the database, nothing of ours;
* **raw**: the store's raw rate, the same one-row commits through the store's pool and
  transaction helper (``bench.common.raw_insert_rate``);
* **import**: a synthetic stretch of a school's year (clients registered, then payments
  from them, one command per line, each with its own business time) through the
  importer: parsing, validation, decision, the atomic write with its command-log row,
  staff action, hash chain and inline projections, batched commits;

and the import rate as a ratio of both. The bar: import ≥ 0.8× raw on SQLite, ≥ 0.5× on
PostgreSQL (docs/performance.md).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PAYLOAD, drop, engine_names, fresh_database, raw_insert_rate
from bench.results import Figure, add_json_option, against, write
from classledger.application.importer import Importer
from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.system import System

CLIENTS = 500
PAYMENTS = 1500
RAW_ROWS = 1000
RUNS = 3
TARGET = {"sqlite": 0.8, "postgres": 0.5}  # import lines/s against the raw commit rate


def driver_commit_rate(url: str, n: int = RAW_ROWS) -> float:
    """Durable one-row commits through the plain driver, no pool, no helper."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///"):] + ".driver", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_driver (id INTEGER PRIMARY KEY, payload BLOB)")
        t0 = time.perf_counter()
        for i in range(n):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO bench_driver (id, payload) VALUES (?, ?)", (i, PAYLOAD))
            conn.execute("COMMIT")
        rate = n / (time.perf_counter() - t0)
        conn.close()
        return rate
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("CREATE TABLE IF NOT EXISTS bench_driver (id BIGINT PRIMARY KEY, payload BYTEA)")
        t0 = time.perf_counter()
        for i in range(n):
            pg.execute("INSERT INTO bench_driver (id, payload) VALUES (%s, %s)", (i, PAYLOAD), prepare=True)
        return n / (time.perf_counter() - t0)


def year_lines(t0: datetime, branch: str) -> list[bytes]:
    clients = [str(uuid.uuid4()) for _ in range(CLIENTS)]
    lines = []
    at = t0
    for i, cid in enumerate(clients):
        at += timedelta(minutes=10)
        lines.append(orjson.dumps({
            "at": at.isoformat(), "actor": "Bench", "command": "register_client",
            "args": {"id": cid, "name": f"Klient Číslo {i}", "branch_id": branch, "phones": [f"+421 905 {i:06d}"],
                     "tags": ["bench"]},
        }))
    for i in range(PAYMENTS):
        at += timedelta(minutes=30)
        lines.append(orjson.dumps({
            "at": at.isoformat(), "actor": "Bench", "command": "receive_payment", "idempotency_key": f"pay-{i}",
            "args": {"client_id": clients[i * 7 % CLIENTS], "amount": f"{10 + i % 40}.00",
                     "method": ("cash", "card", "bank")[i % 3], "branch_id": branch},
        }))
    return lines


def one_run(url: str) -> tuple[float, float, float]:
    driver = driver_commit_rate(url)
    system = System.open(url)
    try:
        raw = raw_insert_rate(system.store, RAW_ROWS)
        tid = uuid.uuid4()
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        sp = system_principal(tid)
        system.execute(sp, "create_tenant", {"name": "Bench", "timezone": "Europe/Bratislava", "currency": "EUR"}, at=t0)
        system.execute(sp, "issue_key", {"role": "director", "staff": "Bench"}, at=t0)
        director = Principal(tid, uuid.uuid4(), "Bench", "director")
        branch = system.execute(director, "add_branch", {"name": "B", "city": "Bratislava"}, at=t0)["id"]
        lines = year_lines(t0, branch)
        start = time.perf_counter()
        summary = Importer(system.app, tid).run(lines)
        system.runner.catch_up()  # nothing left to do when the projections were applied inline
        seconds = time.perf_counter() - start
        assert summary.rejected == 0, summary.errors[:2]
        assert summary.applied == len(lines)
        return driver, raw, len(lines) / seconds
    finally:
        system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=RUNS)
    add_json_option(parser)
    a = parser.parse_args()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'database':9} {'driver commits/s':>16} {'raw commits/s':>13} {'import lines/s':>14} "
              f"{'/driver':>7} {'/raw':>5}")
        for name in engine_names():
            results = []
            for _ in range(a.runs):
                url = fresh_database(name, Path(tmp))
                try:
                    results.append(one_run(url))
                finally:
                    drop(url)
            driver = statistics.median(r[0] for r in results)
            raw = statistics.median(r[1] for r in results)
            imp = statistics.median(r[2] for r in results)
            print(f"{name:9} {driver:16.0f} {raw:13.0f} {imp:14.0f} {imp / driver:7.2f} {imp / raw:5.2f}", flush=True)
            figures.append(against("import vs raw commit", name, imp, "lines/s", raw, "raw commits/s",
                                   (">=", TARGET[name])))
            figures.append(against("import vs driver commit", name, imp, "lines/s", driver, "driver commits/s"))
    write(a.json, figures)


if __name__ == "__main__":
    main()
