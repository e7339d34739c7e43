"""Recording a visit end to end (command → pass, revenue transaction and
visit in one atomic write → projections) against the raw single-row insert rate of the same
database, measured in the same run; and loading a client with 200 passes and 5,000 visits:
the card (read models) and the command side cold (a fresh process's first visit, which
reads the client's pass index and the passes valid that day, never a long stream).
Medians of several runs. Visits are also measured as a server under load: ``--processes N``
workers (``classledger serve --workers N``) × ``--threads T`` request threads, each thread
recording the visits of its own client."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop, engine_names, fresh_database, median_ms, raw_insert_rate, server_rate
from bench.results import Figure, add_json_option, against, alone, write
from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.projections.clients import ClientDirectory
from classledger.projections.passes import PassBook
from classledger.system import System

VISITS = 400
PASSES = 200
HISTORY_VISITS = 5000
T0 = datetime(2026, 1, 1, 8, tzinfo=UTC)
# One writer against one single-row commit is printed, not judged: the library's own save of
# one event bounds that ratio (docs/performance.md, the storage floor).


def setup(system: System) -> tuple[Principal, str, str]:
    tid = uuid.uuid4()
    system.execute(system_principal(tid), "create_tenant", {"name": "B", "timezone": "Europe/Bratislava", "currency": "EUR"}, at=T0)
    boss = Principal(tid, uuid.uuid4(), "Bench", "director")
    branch = system.execute(boss, "add_branch", {"name": "B", "city": "Bratislava"}, at=T0)["id"]
    system.execute(boss, "define_lesson_type", {"code": "group", "name": "G", "single_visit_price": "15.00"}, at=T0)
    client = system.execute(boss, "register_client", {"name": "Návštevník", "branch_id": branch}, at=T0)["id"]
    return boss, branch, client


def template(system: System, boss: Principal, lessons: int, days: int) -> str:
    return str(system.execute(boss, "create_pass_template", {"name": f"P{lessons}", "price": "250.00", "lessons": lessons,
                                                             "validity_days": days, "lesson_type": "group",
                                                             "allow_overlap": True}, at=T0)["id"])


def visits_per_second(system: System) -> float:
    boss, branch, client = setup(system)
    tpl = template(system, boss, 1000, 365)
    system.execute(boss, "sell_pass", {"template_id": tpl, "client_ids": [client], "branch_id": branch,
                                       "valid_from": "2026-01-01", "payment": "paid", "method": "cash"}, at=T0)
    t0 = time.perf_counter()
    for i in range(VISITS):
        system.execute(boss, "record_visit", {"client_id": client, "lesson_type": "group",
                                              "date": (date(2026, 1, 1) + timedelta(days=i % 300)).isoformat(),
                                              "status": "attended"}, at=T0 + timedelta(minutes=i))
    return VISITS / (time.perf_counter() - t0)


def visit(system: System, slot: tuple[Principal, str], i: int) -> None:
    boss, client = slot
    system.execute(boss, "record_visit", {"client_id": client, "lesson_type": "group",
                                          "date": (date(2026, 1, 1) + timedelta(days=max(i, 0) % 300)).isoformat(),
                                          "status": "attended"}, at=T0 + timedelta(days=1, seconds=i))


def visits_per_second_as_server(url: str, system: System, processes: int, threads: int) -> float:
    """A server under load: ``processes`` workers × ``threads`` request threads, each
    thread recording visits of its own client (on its own pass)."""
    boss, branch, _ = setup(system)
    tpl = template(system, boss, 1000, 365)
    slots = []
    for k in range(processes * threads):
        client = system.execute(boss, "register_client", {"name": f"Návštevník {k}", "branch_id": branch}, at=T0)["id"]
        system.execute(boss, "sell_pass", {"template_id": tpl, "client_ids": [client], "branch_id": branch,
                                           "valid_from": "2026-01-01", "payment": "paid", "method": "cash"}, at=T0)
        slots.append((boss, client))
    return server_rate(url, visit, slots, processes=processes, per_thread=max(VISITS // threads, 50))


def build_history(system: System) -> tuple[Principal, str, str]:
    """200 passes of 25 lessons over a year and 5,000 visits taking them."""
    boss, branch, client = setup(system)
    tpl = template(system, boss, HISTORY_VISITS // PASSES, 60)
    at = T0
    per_pass = HISTORY_VISITS // PASSES
    for k in range(PASSES):
        day = date(2026, 1, 1) + timedelta(days=k)
        at += timedelta(minutes=1)
        system.app.execute(boss, "sell_pass", {"template_id": tpl, "client_ids": [client], "branch_id": branch,
                                               "valid_from": day.isoformat(), "payment": "on_credit"}, at=at)
        for _ in range(per_pass):
            at += timedelta(seconds=10)
            system.app.execute(boss, "record_visit", {"client_id": client, "lesson_type": "group",
                                                      "date": day.isoformat(), "status": "attended"}, at=at)
    system.runner.catch_up()
    return boss, branch, client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    add_json_option(parser)
    a = parser.parse_args()
    n, threads = a.processes, a.threads
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'database':9} {'raw inserts/s':>13} {'visits/s':>9} {'ratio':>6} {f'{n}x{threads} server/s':>15} "
              f"{'ratio':>6}   client with {PASSES} passes, "
              f"{HISTORY_VISITS} visits (ms): {'card':>6} {'cold visit':>10} {'warm visit':>10}")
        for name in engine_names():
            raws, rates, served = [], [], []
            for _ in range(a.runs):
                url = fresh_database(name, Path(tmp))
                system = System.open(url)
                try:
                    raws.append(raw_insert_rate(system.store, 1000))
                    rates.append(visits_per_second(system))
                    served.append(visits_per_second_as_server(url, system, n, threads))
                    raws.append(raw_insert_rate(system.store, 1000))  # before and after: the machine drifts
                finally:
                    system.close()
                    drop(url)
            url = fresh_database(name, Path(tmp))
            system = System.open(url)
            try:
                boss, _branch, client = build_history(system)
                cid = uuid.UUID(client)
                tid = boss.tenant_id
                directory, passes = system.view(ClientDirectory), system.view(PassBook)
                day = date(2026, 1, 1) + timedelta(days=PASSES - 1)

                def card(directory: ClientDirectory = directory, passes: PassBook = passes, tid: uuid.UUID = tid,
                         cid: uuid.UUID = cid, day: date = day) -> None:
                    c = directory.card(tid, cid)
                    assert c is not None
                    part = passes.card_part(tid, cid, day)
                    assert len(part["passes"]) == PASSES

                card_ms = median_ms(card)
                print("remainders on the last day:", passes.card_part(tid, cid, day)["remainders"], file=sys.stderr)
            finally:
                system.close()
            # The command side cold: a new process (empty aggregate cache) records a visit.
            colds, warms = [], []
            at = T0 + timedelta(days=400)
            for _ in range(5):
                system = System.open(url)
                try:
                    args = {"client_id": client, "lesson_type": "group", "date": day.isoformat(), "status": "attended"}
                    t1 = time.perf_counter()
                    system.app.execute(boss, "record_visit", args, at=at)
                    colds.append((time.perf_counter() - t1) * 1000)
                    at += timedelta(seconds=1)
                    t1 = time.perf_counter()
                    system.app.execute(boss, "record_visit", args, at=at)
                    warms.append((time.perf_counter() - t1) * 1000)
                    at += timedelta(seconds=1)
                finally:
                    system.close()
            drop(url)
            raw, rate, server = statistics.median(raws), statistics.median(rates), statistics.median(served)
            print(f"{name:9} {raw:13.0f} {rate:9.0f} {rate / raw:6.2f} {server:15.0f} {server / raw:6.2f}   {'':>44}{card_ms:6.1f} "
                  f"{statistics.median(colds):10.1f} {statistics.median(warms):10.1f}")
            figures += [
                against("visits, one writer", name, rate, "visits/s", raw, "raw commits/s"),
                against(f"visits, {n}x{threads} server", name, server, "visits/s", raw, "raw commits/s"),
                alone(f"client card, {PASSES} passes", name, card_ms, "ms"),
                alone(f"visit, cold, {HISTORY_VISITS:,} visits", name, statistics.median(colds), "ms"),
            ]
    write(a.json, figures)


if __name__ == "__main__":
    main()
