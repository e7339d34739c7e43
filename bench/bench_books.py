"""A payment end to end (command → atomic write → projection) against the
raw single-row insert rate of the same database, and the as-of balance of a client with
10,000 transactions. Medians of several runs.

Payments are measured twice: one writer (one process, one thread: every payment pays a
whole commit), and as a server under load: ``--processes N`` worker processes (each its
own System on the same database, as ``classledger serve --workers N`` runs; N defaults to
the machine's CPUs), each with ``--threads T`` request threads paying at once."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop, engine_names, fresh_database, median_ms, raw_insert_rate, server_rate
from bench.results import Figure, add_json_option, against, alone, write
from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.instants import us
from classledger.projections.books import Books
from classledger.system import System

PAYMENTS = 400
HISTORY = 10_000
# One writer against one single-row commit is printed, not judged: the library's own save of
# one event bounds that ratio (docs/performance.md, the storage floor).


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


def pay(system: System, slot: tuple[Principal, str, str], _i: int) -> None:
    admin, branch, client = slot
    system.execute(admin, "receive_payment", {"client_id": client, "amount": "10.00", "method": "cash", "branch_id": branch})


def payments_per_second_as_server(url: str, system: System, admin: Principal, branch: str, processes: int,
                                  threads: int) -> float:
    """A server under load: ``processes`` workers × ``threads`` request threads, each
    thread paying for its own client."""
    clients = [system.execute(admin, "register_client", {"name": f"Platiteľ {i}", "branch_id": branch})["id"]
               for i in range(processes * threads)]
    return server_rate(url, pay, [(admin, branch, c) for c in clients], processes=processes,
                       per_thread=max(PAYMENTS // threads, 50))


def timed_balance(books: Books, tenant_id: uuid.UUID, client_id: uuid.UUID, at: int) -> float:
    return median_ms(lambda: books.balance(tenant_id, client_id, as_of=at), runs=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    add_json_option(parser)
    a = parser.parse_args()
    n, threads, runs = a.processes, a.threads, a.runs
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'database':9} {'raw inserts/s':>13} {'payments/s':>10} {'ratio':>6} {f'{n}x{threads} server/s':>15} {'ratio':>6}"
              f"   as-of balance, {HISTORY} transactions (ms): {'now':>5} {'middle':>7}")
        for name in engine_names():
            raws, rates, multi = [], [], []
            for _ in range(runs):
                url = fresh_database(name, Path(tmp))
                system = System.open(url)
                try:
                    raws.append(raw_insert_rate(system.store, 1000))
                    admin, branch, client = setup(system)
                    rates.append(payments_per_second(system, admin, branch, client))
                    multi.append(payments_per_second_as_server(url, system, admin, branch, n, threads))
                    raws.append(raw_insert_rate(system.store, 1000))  # before and after: the machine drifts
                finally:
                    system.close()
                    drop(url)
            url = fresh_database(name, Path(tmp))
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
            print(f"{name:9} {raw:13.0f} {rate:10.0f} {rate / raw:6.2f} {many:15.0f} {many / raw:6.2f}"
                  f"   {'':>40}{now_ms:5.1f} {mid_ms:7.1f}", flush=True)
            figures += [
                against("payments, one writer", name, rate, "payments/s", raw, "raw commits/s"),
                against(f"payments, {n}x{threads} server", name, many, "payments/s", raw, "raw commits/s"),
                alone(f"as-of balance, {HISTORY:,} transactions", name, now_ms, "ms"),
            ]
    write(a.json, figures)


if __name__ == "__main__":
    main()
