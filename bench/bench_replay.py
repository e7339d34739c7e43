"""Replay against the machine's raw read rate, in one run.

Builds (once, then reuses) a store of at least ``--events`` events through the real
command path: several demo tenants, each a school with a year of history. Then, for each
database, measures the raw limit (read every stored event in order and orjson-decode it)
and runs ``scripts/replay.py --projection all`` as a separate process (events/s from its
summary, peak memory from the OS); when the store holds several tenants, the rebuild of
one tenant (``--tenant``) against the raw read of that tenant's events; and ``--month``
for one tenant (events read next to the tenant's total). Medians of several runs.

    python bench/bench_replay.py --events 1000000      # the targets' size (builds for a long time once)
    python bench/bench_replay.py --events 200000       # a quicker look
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import classledger
from bench.common import raw_read_rate
from bench.results import Figure, add_json_option, against, alone, write
from classledger.demo import demo_tenant_id, generate
from classledger.store.database import Store
from classledger.system import System

CLIENTS_PER_TENANT = 3000  # about 126,000 events each
TARGET = {"sqlite": 0.25, "postgres": 0.2}  # replay ev/s against the raw read rate
PEAK_MB = 500.0
# The code under test: its scripts beside its package (src/ is the package classledger), so
# that bench/compare.py can run these benches against another checkout's code.
CODE = Path(classledger.__file__).resolve().parent.parent


def ensure_store(url: str, events: int) -> None:
    store = Store.open(url)
    have = store.recorder.max_notification_id() or 0
    store.close()
    seed = 100
    while have < events:
        system = System.open(url)
        try:
            while demo_tenant_id(seed) and system.store.recorder.latest_at(demo_tenant_id(seed)) is not None:
                seed += 1
            generate(system, clients=CLIENTS_PER_TENANT, seed=seed)
            have = system.store.recorder.max_notification_id() or 0
            print(f"  built {have:,} events", file=sys.stderr)
        finally:
            system.close()


def copy_events(sqlite_url: str, pg_url: str) -> None:
    """Give the PostgreSQL store the SQLite store's events, row for row (same ids, states and
    hash chains), with COPY: the events were recorded once through the command path, and a
    second hour-long build on a shared machine measures nothing replay cares about."""
    Store.open(pg_url).close()  # the tables
    src = sqlite3.connect(sqlite_url[len("sqlite:///") :])
    with psycopg.connect(pg_url) as conn:
        have = one(conn.execute("SELECT COALESCE(MAX(notification_id), 0) FROM events").fetchone())
        cur = src.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state, tenant_id, at_us, chain "
            "FROM events WHERE notification_id > ? ORDER BY notification_id", (have,)
        )
        with conn.cursor().copy(
            "COPY events (notification_id, originator_id, originator_version, topic, state, tenant_id, at_us, chain) FROM STDIN"
        ) as copy:
            while batch := cur.fetchmany(10_000):
                for r in batch:
                    copy.write_row(r)
        # The clients' data keys too: without them every personal event would read as an
        # erased client's (and cost a key lookup each).
        keys = src.execute("SELECT client_id, tenant_id, key FROM client_keys").fetchall()
        conn.cursor().executemany(
            "INSERT INTO client_keys (client_id, tenant_id, key) VALUES (%s, %s, %s) ON CONFLICT (client_id) DO NOTHING", keys
        )
        conn.execute("SELECT setval(pg_get_serial_sequence('events', 'notification_id'), (SELECT MAX(notification_id) FROM events))")
        conn.execute("ANALYZE events")
    src.close()


def one(row: tuple[Any, ...] | None) -> Any:
    """The single value of a one-row, one-column answer."""
    assert row is not None
    return row[0]


def replay(url: str, *args: str) -> tuple[dict[str, Any], float]:
    env = {**os.environ, "CLASSLEDGER_DATABASE_URL": url}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run([sys.executable, str(CODE / "scripts" / "replay.py"), *args], env=env, capture_output=True, check=True)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return orjson.loads(out.stdout.splitlines()[-1]), max(peak_kb, before) / 1024


def rows_floor(url: str) -> tuple[int, float]:
    """The storage floor of a rebuild: the rows the rebuild wrote (every current projection
    table), copied into empty tables of the same definition, indexes included, by one
    ``INSERT ... SELECT`` per table in one non-durable transaction (as the rebuild's pages
    commit): the database's own work of writing those rows, with no projection logic and no
    Python between rows. Returns (rows, seconds); the copies are dropped."""
    store = Store.open(url)
    try:
        current = store.db.query("SELECT name, version FROM projection_positions")
    finally:
        store.close()
    prefixes = tuple(f"p_{name}_v{version}_" for name, version in current)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        src = sqlite3.connect(path)
        ddl = [(kind, name, sql) for kind, name, sql in src.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND type IN ('table', 'index')")
            if (kind == "table" and name.startswith(prefixes)) or (kind == "index" and any(p in sql for p in prefixes))]
        tables = [name for kind, name, _ in ddl if kind == "table"]
        rows = sum(one(src.execute(f"SELECT COUNT(*) FROM {t}").fetchone()) for t in tables)
        src.close()
        copy_path = f"{path}.floor"
        for suffix in ("", "-wal", "-shm"):
            Path(copy_path + suffix).unlink(missing_ok=True)
        dst = sqlite3.connect(copy_path, isolation_level=None)
        try:
            dst.execute("PRAGMA journal_mode=WAL")
            dst.execute("PRAGMA synchronous=NORMAL")
            for kind in ("table", "index"):
                for k, _, sql in ddl:
                    if k == kind:
                        dst.execute(sql)
            dst.execute("ATTACH ? AS src", (path,))
            t0 = time.perf_counter()
            dst.execute("BEGIN")
            for t in tables:
                dst.execute(f"INSERT INTO main.{t} SELECT * FROM src.{t}")
            dst.execute("COMMIT")
            return rows, time.perf_counter() - t0
        finally:
            dst.close()
            for suffix in ("", "-wal", "-shm"):
                Path(copy_path + suffix).unlink(missing_ok=True)
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'p\\_%'") if r[0].startswith(prefixes)]
        rows = sum(one(conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()) for t in tables)
        for t in tables:
            conn.execute(f'DROP TABLE IF EXISTS "floor_{t}"')
            conn.execute(f'CREATE TABLE "floor_{t}" (LIKE "{t}" INCLUDING ALL)')
        try:
            t0 = time.perf_counter()
            with conn.transaction():
                conn.execute("SET LOCAL synchronous_commit = off")
                for t in tables:
                    conn.execute(f'INSERT INTO "floor_{t}" SELECT * FROM "{t}"')
            return rows, time.perf_counter() - t0
        finally:
            for t in tables:
                conn.execute(f'DROP TABLE IF EXISTS "floor_{t}"')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, help="passed to replay.py (default: its own choice)")
    ap.add_argument("--build-postgres", action="store_true",
                    help="build the PostgreSQL store through the command path too (default: copy the SQLite store's events)")
    add_json_option(ap)
    a = ap.parse_args()
    figures: list[Figure] = []
    data = ROOT / "bench" / "data"
    data.mkdir(exist_ok=True)
    urls = {"sqlite": f"sqlite:///{data}/replay-{a.events}.db"}
    pg = os.environ.get("CLASSLEDGER_BENCH_POSTGRES_URL")
    if pg:
        name = f"cl_bench_replay_{a.events}"
        with psycopg.connect(pg, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        urls["postgres"] = pg.rsplit("/", 1)[0] + "/" + name
    rows = []
    for engine, url in urls.items():
        if engine == "postgres" and not a.build_postgres:
            copy_events(urls["sqlite"], url)
        ensure_store(url, a.events)
        store = Store.open(url)
        raws, rates, peaks = [], [], []
        for _ in range(a.runs):
            # The raw rate next to each replay: the machine is shared, its limit moves.
            rate, total = raw_read_rate(store)
            raws.append(rate)
            summary, peak = replay(url, "--projection", "all", *(["--workers", str(a.workers)] if a.workers else []))
            rates.append(summary["events_per_second"])
            peaks.append(peak)
        store.close()
        tenant = demo_tenant_id(100)
        store = Store.open(url)
        tenant_total = store.recorder.count_events(tenant)
        tenants = one(store.db.query("SELECT COUNT(DISTINCT tenant_id) FROM events")[0])
        # One tenant's rebuild (``--tenant``) against the raw read of that tenant's events
        # (a store of one tenant has measured it already).
        tenant_raws: list[float] = []
        tenant_rates: list[float] = []
        for _ in range(a.runs if tenants > 1 else 0):
            tenant_raws.append(raw_read_rate(store, tenant_id=tenant)[0])
            summary, _ = replay(url, "--projection", "all", "--tenant", str(tenant))
            tenant_rates.append(summary["events_per_second"])
        store.close()
        month, _ = replay(url, "--month", "2026-03", "--tenant", str(tenant))
        written, copies = 0, []
        for _ in range(a.runs):
            written, seconds = rows_floor(url)
            copies.append(seconds)
        raw, rep = statistics.median(raws), statistics.median(rates)
        # At half the raw rate a rebuild has 2 * events / raw seconds; the bulk copy of its
        # rows (no logic at all) is what the database alone takes of that budget.
        budget = 2 * total / raw
        # The ratio of each run against the raw rate measured next to it, and their median.
        ratios = sorted(r / w for r, w in zip(rates, raws, strict=True))
        rows.append((engine, total, raw, rep, statistics.median(ratios), max(peaks), month["replay"]["events_read"],
                     tenant_total, written, statistics.median(copies), statistics.median(copies) / budget,
                     f"{min(raws):,.0f}-{max(raws):,.0f}", f"{min(rates):,.0f}-{max(rates):,.0f}",
                     f"{ratios[0]:.2f}-{ratios[-1]:.2f}"))
        figures += [
            replace(against(f"replay all projections, {total:,} events, {tenants} tenant(s)", engine, rep, "events/s", raw,
                            "raw read events/s", (">=", TARGET[engine])), ratio=statistics.median(ratios)),
            alone(f"replay all projections, {total:,} events: peak memory", engine, max(peaks), "MB", ("<=", PEAK_MB)),
        ]
        if tenant_rates:
            tenant_ratios = [r / w for r, w in zip(tenant_rates, tenant_raws, strict=True)]
            figures.append(replace(
                against(f"replay all projections, one tenant of {tenant_total:,} events", engine,
                        statistics.median(tenant_rates), "events/s", statistics.median(tenant_raws),
                        "raw read events/s", (">=", TARGET[engine])), ratio=statistics.median(tenant_ratios)))
    print(f"{'database':9} {'events':>9} {'raw ev/s':>10} {'replay ev/s':>11} {'ratio':>6} {'peak MB':>8}"
          f"   --month read / tenant total   rows written, bulk copy alone s, share of the 0.5 budget"
          f"   ranges of the {a.runs} runs: raw, replay, ratio")
    for (engine, total, raw, rep, ratio, peak, read, tenant_total, written, copy_s, share,
         raw_range, rep_range, ratio_range) in rows:
        print(f"{engine:9} {total:9,} {raw:10,.0f} {rep:11,.0f} {ratio:6.2f} {peak:8.0f}   {read:,} / {tenant_total:,}"
              f"   {written:,} rows, {copy_s:.2f} s, {share:.0%}   {raw_range}; {rep_range}; {ratio_range}")
    write(a.json, figures)


if __name__ == "__main__":
    main()
