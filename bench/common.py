"""What every benchmark measures against: this machine's own limits, in the same run.

* ``raw_insert_rate``: single-row inserts, one transaction each, through the same
  connection pool and settings as the event store (so SQLite's WAL and fsync, and
  PostgreSQL's commit, cost the same as ours);
* ``raw_read_rate``: read every stored event row in order and orjson-decode it, nothing
  else.

Benchmarks print medians of several runs: the machines are shared and noisy.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import psycopg

from classledger.store.database import Store
from classledger.system import System

PAYLOAD = orjson.dumps({"name": "Ľubica Šťastná", "phones": ["+421905123456"], "tags": ["trial"], "branch_id": str(uuid.uuid4())})


def _admin_url() -> str | None:
    return os.environ.get("CLASSLEDGER_BENCH_POSTGRES_URL") or os.environ.get("CLASSLEDGER_TEST_POSTGRES_URL")


def engine_names() -> list[str]:
    """The databases to measure on: SQLite always, PostgreSQL when configured."""
    return ["sqlite", "postgres"] if _admin_url() else ["sqlite"]


def fresh_database(name: str, tmp: Path) -> str:
    """A new, empty database of that engine (``drop`` it when done)."""
    if name == "sqlite":
        return f"sqlite:///{tmp}/bench-{uuid.uuid4().hex[:8]}.db"
    admin = _admin_url() or ""
    db = f"cl_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    return admin.rsplit("/", 1)[0] + "/" + db


def engines(tmp: Path) -> dict[str, str]:
    """A fresh database of every engine to measure on (``drop`` each when done)."""
    return {name: fresh_database(name, tmp) for name in engine_names()}


def drop(url: str) -> None:
    if url.startswith("postgresql"):
        admin = _admin_url() or ""
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def raw_insert_rate(store: Store, n: int = 2000) -> float:
    with store.db.write() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS bench_raw (id BIGINT PRIMARY KEY, payload BYTEA)" if store.dialect == "postgresql" else "CREATE TABLE IF NOT EXISTS bench_raw (id INTEGER PRIMARY KEY, payload BLOB)")
        tx.execute("DELETE FROM bench_raw")
    t0 = time.perf_counter()
    for i in range(n):
        with store.db.write() as tx:
            tx.execute("INSERT INTO bench_raw (id, payload) VALUES (?, ?)", (i, PAYLOAD))
    return n / (time.perf_counter() - t0)


def raw_read_rate(store: Store, page: int = 10_000, *, tenant_id: uuid.UUID | None = None) -> tuple[float, int]:
    """Events/s reading every stored event in order (or every event of one tenant) and
    decoding it with orjson, nothing else: the rows come as the rebuild reads them
    (``read_texts``: ids as text), so no ``UUID`` objects are built (that was two thirds
    of this loop's time on SQLite, and it made the limit look lower than it is)."""
    t0 = time.perf_counter()
    after, count = 0, 0
    while True:
        rows = store.recorder.read_texts(after, page, tenant_id=tenant_id)
        if not rows:
            break
        for r in rows:
            orjson.loads(r[4])
        count += len(rows)
        after = rows[-1][0]
    elapsed = time.perf_counter() - t0
    return (count / elapsed if elapsed else 0.0), count


def median_ms(fn: Callable[[], object], runs: int = 21) -> float:
    """The median wall time of ``fn`` in milliseconds."""
    samples = []
    for _ in range(runs):
        t1 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t1) * 1000)
    return statistics.median(samples)


def median_of(runs: int, fn: Callable[[], float]) -> float:
    return statistics.median(fn() for _ in range(runs))


Work = Callable[[System, Any, int], object]


def _serve(url: str, work: Work, slots: Sequence[Any], per_thread: int, start: Any, done: Any) -> None:
    system = System.open(url)
    try:
        for slot in slots:
            work(system, slot, -1)  # warm: the aggregates each thread will write are cached
        start.wait()
        threads = [threading.Thread(target=lambda s=slot: [work(system, s, i) for i in range(per_thread)]) for slot in slots]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.put(time.perf_counter())
    finally:
        system.close()


def server_rate(url: str, work: Work, slots: Sequence[Any], *, processes: int, per_thread: int) -> float:
    """Commands/s of a server under load: ``processes`` worker processes (each its own
    System on the same database, as ``classledger serve --workers N`` runs), each with
    ``len(slots) // processes`` request threads, every thread doing ``work(system, slot,
    i)`` for its own slot (its own client), ``per_thread`` times. The rate is over the
    whole run, from the moment every process is ready to the last one done."""
    ctx = multiprocessing.get_context("spawn")
    start, done = ctx.Event(), ctx.Queue()
    per = len(slots) // processes
    procs = [ctx.Process(target=_serve, args=(url, work, slots[i * per:(i + 1) * per], per_thread, start, done))
             for i in range(processes)]
    for p in procs:
        p.start()
    time.sleep(3)  # every process opens its System and warms up
    t0 = time.perf_counter()
    start.set()
    ends: list[float] = [done.get(timeout=900) for _ in procs]
    for p in procs:
        p.join()
    return len(slots) * per_thread / (max(ends) - t0)
