"""DOMAIN §5 at size: a tenant with 10,000 clients and a year of registrations (the demo's
generator, through the real command path), next to a second tenant.

Prints, for each database: the live monthly report's latency per month (median of 5),
and for the month replay (§5.7) the number of events it read, next to that tenant's
events in that month and in total, and all events in the store. Context: the raw read
rate (read + orjson-decode every stored event) measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop, engines, raw_read_rate
from bench.results import Figure, add_json_option, against, alone, write
from classledger.demo import demo_tenant_id, generate
from classledger.instants import us
from classledger.projections.activity import ActivityTimeline
from classledger.projections.activity_model import month_bounds
from classledger.projections.activity_months import replay_month
from classledger.system import System, now

CLIENTS = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("clients", type=int, nargs="?", default=CLIENTS, help=f"clients of the big tenant (default {CLIENTS:,})")
    add_json_option(parser)
    a = parser.parse_args()
    clients = a.clients
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in engines(Path(tmp)).items():
            system = System.open(url)
            try:
                t0 = time.perf_counter()
                big = generate(system, clients=clients, seed=1)
                generate(system, clients=clients // 10, seed=2)
                build_s = time.perf_counter() - t0
                tid = demo_tenant_id(1)
                view = system.view(ActivityTimeline)
                raw, total_events = raw_read_rate(system.store)
                tenant_events = system.store.recorder.count_events(tid)
                print(f"\n== {name}: {clients} clients, {tenant_events} events of the tenant, {total_events} in the store "
                      f"(built in {build_s:.0f} s, {big['commands_per_second']} commands/s); raw read {raw:,.0f} events/s")
                print(f"{'month':8} {'peak':>5} {'report ms':>10} {'replay ms':>10} {'read':>6} {'month evts':>10} {'tenant evts':>11}")
                as_of = us(now())
                latencies = []
                month = None
                first = now().replace(day=1)
                for m in range(12):
                    back = 11 - m
                    y, mo = divmod(first.year * 12 + first.month - 1 - back, 12)
                    month = f"{y:04d}-{mo + 1:02d}"
                    times = []
                    for _ in range(5):
                        t1 = time.perf_counter()
                        rep = view.report(tid, month, as_of=as_of)
                        times.append((time.perf_counter() - t1) * 1000)
                    latencies.append(statistics.median(times))
                    t2 = time.perf_counter()
                    replayed = replay_month(system.store, view, tid, month, as_of=as_of)
                    replay_ms = (time.perf_counter() - t2) * 1000
                    assert rep is not None
                    assert replayed is not None
                    assert replayed.report == rep, month
                    _, _, lo, hi = month_bounds(month, ZoneInfo("Europe/Bratislava"))
                    in_month = len(system.store.recorder.read_rows(0, 10**7, tenant_id=tid, at_from_us=lo, at_to_us=hi))
                    print(f"{month:8} {rep['peak']:5d} {statistics.median(times):10.1f} {replay_ms:10.1f} {replayed.events_read:6d} {in_month:10d} {tenant_events:11d}")
                print(f"live report: median {statistics.median(latencies):.1f} ms, worst {max(latencies):.1f} ms over 12 months")
                assert replayed is not None
                figures += [
                    alone(f"live monthly report, {clients:,} clients (worst month)", name, max(latencies), "ms"),
                    against("month replay: events read, of the tenant's", name, replayed.events_read, "events",
                            tenant_events, "tenant events"),
                ]
            finally:
                system.close()
                drop(url)
    write(a.json, figures)


if __name__ == "__main__":
    main()
