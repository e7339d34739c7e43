"""Issue 4's figures: a payment end to end (command → atomic write → projection) against the
raw single-row insert rate of the same database, and the as-of balance of a client with
10,000 transactions. Medians of several runs.

Payments are measured twice: one writer (one process, one thread: every payment pays a
whole commit), and ``--processes N`` writer processes at once, each its own System on the
same database, as a server with N workers runs (N defaults to the machine's CPUs)."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop, engines, median_ms, raw_insert_rate
from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.projections.activity_model import us
from classledger.projections.books import Books
from classledger.system import System

PAYMENTS = 400
HISTORY = 10_000


def setup(system: System) -> tuple[Principal, str, str]:
    tid = uuid.uuid4()
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    system.execute(system_principal(tid), "create_tenant", {"name": "B", "timezone": "Europe/Bratislava", "currency": "EUR"}, at=t0)
    admin = Principal(tid, uuid.uuid4(), "Bench", "director")
    branch = system.execute(admin, "add_branch", {"name": "B", "city": "Bratislava"}, at=t0)["id"]
    client = system.execute(admin, "register_client", {"name": "Platiteľ", "branch_id": branch}, at=t0)["id"]
    return admin, branch, client


def payments_per_second(system: System, admin: Principal, branch: str, client: str) -> float:
    t0 = time.perf_counter()
    for _ in range(PAYMENTS):
        system.execute(admin, "receive_payment", {"client_id": client, "amount": "10.00", "method": "cash", "branch_id": branch})
    return PAYMENTS / (time.perf_counter() - t0)


def _writer(url: str, admin: Principal, branch: str, client: str, start: Any, done: Any) -> None:
    system = System.open(url)
    try:
        system.execute(admin, "receive_payment", {"client_id": client, "amount": "1.00", "method": "cash", "branch_id": branch})
        start.wait()
        payments_per_second(system, admin, branch, client)
        done.put(time.perf_counter())
    finally:
        system.close()


def payments_per_second_in_processes(url: str, system: System, admin: Principal, branch: str, n: int) -> float:
    """N processes paying at once, each for its own client; the rate over the whole run."""
    ctx = multiprocessing.get_context("spawn")
    start, done = ctx.Event(), ctx.Queue()
    clients = [system.execute(admin, "register_client", {"name": f"Platiteľ {i}", "branch_id": branch})["id"] for i in range(n)]
    procs = [ctx.Process(target=_writer, args=(url, admin, branch, c, start, done)) for c in clients]
    for p in procs:
        p.start()
    time.sleep(3)  # let every process open its System and warm up
    t0 = time.perf_counter()
    start.set()
    ends = [done.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    return float(n * PAYMENTS / (max(ends) - t0))


def timed_balance(books: Books, tenant_id: uuid.UUID, client_id: uuid.UUID, at: int) -> float:
    return median_ms(lambda: books.balance(tenant_id, client_id, as_of=at), runs=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--runs", type=int, default=3)
    n = parser.parse_args().processes
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'database':9} {'raw inserts/s':>13} {'payments/s':>10} {'ratio':>6} {f'{n} procs/s':>11} {'ratio':>6}"
              f"   as-of balance, {HISTORY} transactions (ms): {'now':>5} {'middle':>7}")
        for name in engines(Path(tmp)):
            raws, rates, multi = [], [], []
            for _ in range(runs):
                url = engines(Path(tmp))[name]
                system = System.open(url)
                try:
                    raws.append(raw_insert_rate(system.store, 1000))
                    admin, branch, client = setup(system)
                    rates.append(payments_per_second(system, admin, branch, client))
                    multi.append(payments_per_second_in_processes(url, system, admin, branch, n))
                    raws.append(raw_insert_rate(system.store, 1000))  # before and after: the machine drifts
                finally:
                    system.close()
                    drop(url)
            url = engines(Path(tmp))[name]
            system = System.open(url)
            try:
                admin, branch, client = setup(system)
                start = datetime(2026, 1, 2, tzinfo=UTC)
                for i in range(HISTORY):
                    system.app.execute(admin, "receive_payment", {"client_id": client, "amount": "1.00", "method": "card", "branch_id": branch},
                                       at=start + timedelta(minutes=i))
                system.runner.catch_up()
                books = system.view(Books)
                tid = admin.tenant_id

                now_ms = timed_balance(books, tid, uuid.UUID(client), us(start + timedelta(days=30)))
                mid_ms = timed_balance(books, tid, uuid.UUID(client), us(start + timedelta(minutes=HISTORY // 2)))
                assert books.balance(tid, uuid.UUID(client), as_of=us(start + timedelta(days=30)))["total"] == f"-{HISTORY}.00"
            finally:
                system.close()
                drop(url)
            raw, rate, many = statistics.median(raws), statistics.median(rates), statistics.median(multi)
            print(f"{name:9} {raw:13.0f} {rate:10.0f} {rate / raw:6.2f} {many:11.0f} {many / raw:6.2f}"
                  f"   {'':>40}{now_ms:5.1f} {mid_ms:7.1f}", flush=True)


if __name__ == "__main__":
    main()
