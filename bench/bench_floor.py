"""The storage floor of a command: how fast its SQL alone runs, with no domain Python.

Against the raw single-row insert rate, how much of a command's time does the database
itself take? This bench answers it: it
traces the SQL that one real command executes (SQLite's trace callback gives each
statement with its values inlined), then replays that SQL ``--commands`` times on the same
database file, one transaction per command, exactly as the command commits, the statement
texts prepared before the clock starts. Between two statements nothing runs but the loop.

The replayed copies stay realistic: the command is traced twice in a row, and every value
that differs between the two traces (ids the command made, versions, times, the request's
key, positions) is continued for each copy: numbers by the step seen between the two
traces, strings by a fresh id of the same shape. Values the two traces share (the tenant,
the client, the branch, the pass) stay, so the copies touch the same rows and index pages
as a run of real commands does.

On PostgreSQL the calls psycopg received (query, values) are recorded instead, and
replayed through psycopg on one connection, round trip for round trip: there the floor
includes psycopg's own Python (adapting values, the protocol), which no command can avoid.

The table: raw inserts/s (before and after), the command's SQL alone per s and its ratio,
the real command per s and its ratio, and the share of a real command's time that is SQL.
Medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bench_books, bench_visits
from bench.common import drop, engine_names, fresh_database, raw_insert_rate
from bench.results import Figure, add_json_option, against, write
from classledger.store.database import Store
from classledger.system import System

# A literal in a traced statement: a quoted string, a blob, or a bare integer.
LITERAL = re.compile(r"x'[0-9a-fA-F]*'|'(?:[^']|'')*'|(?<![\w.])-?\d+(?![\w.])")
DASHED = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
WRITES = ("INSERT", "UPDATE", "DELETE", "SELECT")


def traced(system: System, run: Callable[[], object]) -> list[str]:
    """The statements one command executes on SQLite, values inlined, in order."""
    seen: list[str] = []
    pool = system.store.factory.datastore.pool  # type: ignore[attr-defined]
    conns = [c._sqlite_conn for c in [*pool._pool, *pool._in_use.values()]]
    conns += list(system.store.recorder._readers)  # type: ignore[attr-defined]
    for c in conns:
        c.set_trace_callback(seen.append)
    try:
        run()
    finally:
        for c in conns:
            c.set_trace_callback(None)
    return [s.strip() for s in seen if s.split(None, 1)[0].upper() in WRITES]


def literal(text: str) -> object:
    """A traced literal as the value the statement was bound with."""
    if text.startswith("x'"):
        return bytes.fromhex(text[2:-1])
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return int(text)


Copy = Callable[[int], list[tuple[str, tuple[object, ...]]]]


def template_of(first: list[str], second: list[str]) -> Copy:
    """Statements for the i-th copy, as ``(sql with ? placeholders, values)``: values that
    changed between two consecutive real commands continue (``continued``). Bound, not inlined, so SQLite prepares each text once, as
    the store's cached statements do."""
    if len(first) != len(second):
        raise SystemExit(f"the two traces differ in shape ({len(first)} and {len(second)} statements): retry")
    plans: list[tuple[str, list[tuple[object, object]]]] = []
    for a, b in zip(first, second, strict=True):
        pieces_a, pieces_b = LITERAL.split(a), LITERAL.split(b)
        if pieces_a != pieces_b:
            raise SystemExit("the two traces differ in shape: retry")
        pairs = [(literal(x), literal(y)) for x, y in zip(LITERAL.findall(a), LITERAL.findall(b), strict=True)]
        plans.append(("?".join(pieces_a), pairs))

    def copy(i: int) -> list[tuple[str, tuple[object, ...]]]:
        return [(sql, tuple(continued(i, x, y) for x, y in pairs)) for sql, pairs in plans]

    return copy


def sql_alone(path: str, copy: Copy, n: int, *, after: int) -> float:
    """Commands/s replaying the statements alone, one transaction each, as committed;
    the copies continue after the ``after`` real commands that followed the traces."""
    plan = [copy(after + i + 1) for i in range(n)]
    conn = sqlite3.connect(path, isolation_level=None, cached_statements=256)
    try:
        (sync,) = conn.execute("PRAGMA synchronous").fetchone()
        assert sync == 2, "the replay commits as the store does (synchronous=FULL)"
        cur = conn.cursor()
        t0 = time.perf_counter()
        for statements in plan:
            cur.execute("BEGIN IMMEDIATE")
            for sql, values in statements:
                cur.execute(sql, values)
            cur.execute("COMMIT")
        return n / (time.perf_counter() - t0)
    finally:
        conn.close()


def payment(system: System) -> Callable[[], object]:
    admin, branch, client = bench_books.setup(system)
    args = {"client_id": client, "amount": "10.00", "method": "cash", "branch_id": branch}

    def one() -> object:
        return system.execute(admin, "receive_payment", args)
    for _ in range(50):
        one()
    return one


def visit(system: System) -> Callable[[], object]:
    boss, branch, client = bench_visits.setup(system)
    tpl = bench_visits.template(system, boss, 1000, 365)
    for _ in range(4):  # 4,000 lessons: the oldest sale is consumed first, then the next
        system.execute(boss, "sell_pass", {"template_id": tpl, "client_ids": [client], "branch_id": branch,
                                           "valid_from": "2026-01-01", "payment": "paid", "method": "cash"},
                       at=bench_visits.T0)
    count = iter(range(10**9))

    def one() -> object:
        i = next(count)
        return system.execute(boss, "record_visit", {"client_id": client, "lesson_type": "group",
                                                     "date": (date(2026, 1, 1) + timedelta(days=i % 300)).isoformat(),
                                                     "status": "attended"}, at=bench_visits.T0 + timedelta(minutes=i))
    for _ in range(50):
        one()
    return one


Call = tuple[str, Any, Any, dict[str, Any]]  # cursor method, query, values, keywords


def pg_traced(run: Callable[[], object]) -> list[Call]:
    """The calls one command makes on psycopg's cursors, in order."""
    seen: list[Call] = []
    originals = {m: getattr(psycopg.Cursor, m) for m in ("execute", "executemany")}

    def recording(method: str) -> Callable[..., Any]:
        def call(self: psycopg.Cursor[Any], query: Any, params: Any = None, **kw: Any) -> Any:
            seen.append((method, query, params, kw))
            return originals[method](self, query, params, **kw)
        return call
    for m in originals:
        setattr(psycopg.Cursor, m, recording(m))
    try:
        run()
    finally:
        for m, f in originals.items():
            setattr(psycopg.Cursor, m, f)
    return seen


def continued(i: int, x: Any, y: Any) -> Any:
    """The i-th continuation of a value seen as ``x`` then ``y`` in two consecutive commands."""
    if x == y or isinstance(y, bytes | bytearray | memoryview | bool):
        return y
    if isinstance(x, int) and isinstance(y, int):
        return y + (y - x) * i
    if isinstance(y, uuid.UUID):
        return uuid.uuid5(uuid.NAMESPACE_OID, f"{i}:{y}")
    if isinstance(y, list | tuple) and isinstance(x, list | tuple) and len(x) == len(y):
        return type(y)(continued(i, a, b) for a, b in zip(x, y, strict=True))
    if isinstance(y, dict) and isinstance(x, dict) and x.keys() == y.keys():
        return {k: continued(i, x[k], v) for k, v in y.items()}
    if isinstance(y, str) and isinstance(x, str) and y[:1] in ("[", "{") and x[:1] == y[:1]:
        # Rows sent as one JSON text (PostgreSQL's multi-row writes): continued value by value.
        try:
            return orjson.dumps(continued(i, orjson.loads(x), orjson.loads(y))).decode()
        except orjson.JSONDecodeError:
            pass
    if isinstance(y, str):
        fresh = uuid.uuid5(uuid.NAMESPACE_OID, f"{i}:{y}")
        return str(fresh) if DASHED.match(y) else fresh.hex if HEX32.match(y) else f"{y}:{i}"
    return y


def pg_alone(url: str, first: list[Call], second: list[Call], n: int, *, after: int) -> float:
    """Commands/s replaying the psycopg calls alone on one autocommit connection (the
    recorder sends BEGIN and COMMIT itself), as the store's connections are set up."""
    if [(m, repr(q)) for m, q, _, _ in first] != [(m, repr(q)) for m, q, _, _ in second]:
        raise SystemExit("the two traces differ in shape: retry")
    plan = [[(m, q, continued(after + i + 1, a, b), kw) for (m, q, a, kw), (_, _, b, _) in zip(first, second, strict=True)]
            for i in range(n)]
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.cursor()
        t0 = time.perf_counter()
        for calls in plan:
            for method, query, values, kw in calls:
                getattr(cur, method)(query, values, **kw)
                while True:  # read every answer, as the store does
                    if cur.description is not None:
                        cur.fetchall()
                    if not cur.nextset():
                        break
        return n / (time.perf_counter() - t0)


def measure(engine: str, url: str, kind: Callable[[System], Callable[[], object]],
            n: int) -> dict[str, Any]:
    system = System.open(url)
    try:
        raw_before = raw_insert_rate(system.store, n)
        one = kind(system)
        # Away from a snapshot's version (every 100): both traces must have one shape.
        trace: Callable[[Callable[[], object]], Any] = (lambda f: traced(system, f)) if engine == "sqlite" else pg_traced
        first, second = trace(one), trace(one)
        t0 = time.perf_counter()
        for _ in range(n):
            one()
        real = n / (time.perf_counter() - t0)
        statements = len(second)
    finally:
        system.close()
    if engine == "sqlite":
        alone = sql_alone(url[len("sqlite:///"):], template_of(first, second), n, after=n)
    else:
        alone = pg_alone(url, first, second, n, after=n)
    # The store alone: the replayed rows are not for the projections to read again.
    store = Store.open(url)
    try:
        raw_after = raw_insert_rate(store, n)
    finally:
        store.close()
    return {"raw": statistics.median([raw_before, raw_after]), "alone": alone, "real": real, "statements": statements}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    add_json_option(parser)
    a = parser.parse_args()
    figures: list[Figure] = []
    print(f"{'database':9} {'command':8} {'statements':>10} {'raw inserts/s':>13} {'SQL alone/s':>11} {'ratio':>6}"
          f" {'real/s':>7} {'ratio':>6} {'SQL share':>9}   target")
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engine_names():
            for name, kind, target in (("payment", payment, 1 / 2), ("visit", visit, 1 / 3)):
                runs = []
                for _ in range(a.runs):
                    url = fresh_database(engine, Path(tmp))
                    try:
                        runs.append(measure(engine, url, kind, a.commands))
                    finally:
                        drop(url)
                figures += report(engine, name, target, runs)
    write(a.json, figures)


def report(engine: str, name: str, target: float, runs: list[dict[str, Any]]) -> list[Figure]:
    raw = statistics.median(r["raw"] for r in runs)
    alone = statistics.median(r["alone"] for r in runs)
    real = statistics.median(r["real"] for r in runs)
    print(f"{engine:9} {name:8} {runs[0]['statements']:10d} {raw:13.0f} {alone:11.0f} {alone / raw:6.2f}"
          f" {real:7.0f} {real / raw:6.2f} {real / alone:9.0%}   1/{round(1 / target)}", flush=True)
    # The SQL alone bounds what the real command can reach (printed beside the raw commit, not judged).
    return [against(f"{name}: its SQL alone", engine, alone, "commands/s", raw, "raw commits/s")]


if __name__ == "__main__":
    main()
