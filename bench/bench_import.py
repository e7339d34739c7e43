"""Clients imported per second through the real command path, against the raw insert rate.

For each database: the raw single-row insert rate (one transaction per row, same pool
and settings), then N `register_client` lines through the importer (validation, decision,
one atomic write with its command-log row, hash chain), then the projections catching up.
Medians of several runs; ratios against the raw rate measured in the same run.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop, engine_names, fresh_database, raw_insert_rate
from classledger.application.importer import Importer
from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.system import System

N = 2000
RUNS = 3


def one_run(url: str) -> tuple[float, float, float]:
    system = System.open(url)
    try:
        raw = raw_insert_rate(system.store, 1000)
        tid = uuid.uuid4()
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        sp = system_principal(tid)
        system.execute(sp, "create_tenant", {"name": "Bench", "timezone": "Europe/Bratislava", "currency": "EUR"}, at=t0)
        system.execute(sp, "issue_key", {"role": "director", "staff": "Bench"}, at=t0)
        director = Principal(tid, uuid.uuid4(), "Bench", "director")
        branch = system.execute(director, "add_branch", {"name": "B", "city": "Bratislava"}, at=t0)["id"]
        lines = [
            orjson.dumps({"at": (t0 + timedelta(seconds=i + 1)).isoformat(), "actor": "Bench", "command": "register_client",
                          "args": {"name": f"Klient Číslo {i}", "branch_id": branch, "phones": [f"+421 905 {i:06d}"], "tags": ["bench"]}})
            for i in range(N)
        ]
        start = time.perf_counter()
        summary = Importer(system.app, tid).run(lines)
        write_s = time.perf_counter() - start
        assert summary.rejected == 0, summary.errors[:2]
        start = time.perf_counter()
        system.runner.catch_up()
        project_s = time.perf_counter() - start
        return raw, N / write_s, N / (write_s + project_s)
    finally:
        system.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'database':10} {'raw inserts/s':>14} {'imports/s':>10} {'ratio':>6} {'with projections/s':>19} {'ratio':>6}")
        for name in engine_names():
            results = []
            for _ in range(RUNS):
                url = fresh_database(name, Path(tmp))
                try:
                    results.append(one_run(url))
                finally:
                    drop(url)
            raw = statistics.median(r[0] for r in results)
            imp = statistics.median(r[1] for r in results)
            full = statistics.median(r[2] for r in results)
            print(f"{name:10} {raw:14.0f} {imp:10.0f} {imp / raw:6.2f} {full:19.0f} {full / raw:6.2f}")


if __name__ == "__main__":
    main()
