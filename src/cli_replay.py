"""``classledger replay`` (and ``scripts/replay.py``): rebuild, verify, month-replay and
inspect projections (API §5). The work is done in ``classledger.projections``; this
module reads the operator's flags and prints the outcome as JSON.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

from classledger import projections as registry
from classledger.instants import us
from classledger.projections.activity import ActivityTimeline
from classledger.projections.activity_months import replay_month
from classledger.projections.bulk import BULK_PAGE
from classledger.projections.clients import ClientDirectory
from classledger.projections.failures import read_failures
from classledger.projections.peak import with_peak_clients
from classledger.projections.replay import prune_old_versions, rebuild, status
from classledger.projections.runtime import Runner
from classledger.projections.verify import verify
from classledger.projections.workers import PARALLEL_MIN, WORKERS
from classledger.store.database import Store

DESCRIPTION = "Rebuild projections from the event store (API §5). The database is CLASSLEDGER_DATABASE_URL."


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The replay command's flags, the same under ``classledger replay`` and ``scripts/replay.py``."""
    ap.add_argument("--projection", default="all", help="a projection name, or all (default)")
    ap.add_argument("--tenant", type=UUID, help="only this tenant's rows and events")
    ap.add_argument("--verify", action="store_true", help="rebuild into scratch tables and compare with the live ones")
    ap.add_argument("--month", help="YYYY-MM: the activity report by replaying only that month (needs --tenant)")
    ap.add_argument("--page", type=int, default=BULK_PAGE, help=f"events per transaction (default {BULK_PAGE})")
    ap.add_argument("--workers", type=int, help=f"processes sharing the projections (default {WORKERS} for "
                    f"a rebuild of {PARALLEL_MIN:,} events or more, else 1)")
    ap.add_argument("--status", action="store_true",
                    help="print each projection's position and the events set aside (exit 1 when any projection is stuck)")
    ap.add_argument("--prune-old", action="store_true",
                    help="drop the tables of projection versions older than this code's (once no process runs older code)")


def main(argv: Sequence[str] | None = None) -> int:
    """``scripts/replay.py``: the flags of ``add_arguments``; returns the exit status."""
    ap = argparse.ArgumentParser(prog="replay.py", description=DESCRIPTION)
    add_arguments(ap)
    return run(ap.parse_args(argv), ap)


def run(a: argparse.Namespace, ap: argparse.ArgumentParser) -> int:
    """Carry out parsed replay flags on the configured database; the exit status."""
    store = Store.open()
    try:
        if a.status:
            report = status(store)
            _print(report)
            _tell_stuck(report["stuck"])
            return 0 if report["ok"] else 1
        if a.prune_old:
            _print({"dropped": prune_old_versions(store)})
            return 0
        if a.month:
            if a.tenant is None:
                ap.error("--month needs --tenant")
            return _month(store, a.tenant, a.month)
        names = [a.projection]
        try:
            registry.select(store.db, names)
        except KeyError as e:
            sys.stderr.write(f"{e.args[0]}\n")
            return 2
        total = store.recorder.count_events(a.tenant) if a.tenant else (store.recorder.max_notification_id() or 0)
        update, close = _progress(total)
        try:
            if a.verify:
                v = verify(store, names, tenant_id=a.tenant, progress=update, workers=a.workers)
            else:
                r = rebuild(store, names, tenant_id=a.tenant, page=a.page, progress=update, workers=a.workers)
        finally:
            close()
        if a.verify:
            _print(v.as_json())
            if not v.ok:
                for d in v.differences:
                    sys.stderr.write(f"{d.projection}.{d.table}: {d.only_live} rows only live, {d.only_rebuilt} only rebuilt\n")
                    for ex in d.examples:
                        sys.stderr.write(f"    {ex}\n")
            _tell_stuck([f.as_json() for f in read_failures(store.db)])  # what a live table is missing, and why
            return 0 if v.ok else 1
        _print(r.as_json())
        _tell_stuck([f.as_json() for f in read_failures(store.db)])  # of projections not rebuilt, or the bug is back
        return 0
    finally:
        store.close()


def _month(store: Store, tenant: UUID, month: str) -> int:
    view, directory = registry.select(store.db, ["activity", "clients"])
    assert isinstance(view, ActivityTimeline)
    assert isinstance(directory, ClientDirectory)
    Runner(store, [view, directory]).catch_up()
    result = replay_month(store, view, tenant, month, as_of=us(datetime.now(UTC)))
    if result is None:
        sys.stderr.write(f"no tenant {tenant}\n")
        return 2
    report = with_peak_clients(view, directory, tenant, result.report)
    replayed = {"events_read": result.events_read, "tenant_events": result.tenant_events, "state_from": result.snapshot}
    _print({**report, "replay": replayed})
    return 0


def _print(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data).decode() + "\n")


def _progress(total: int) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="ev", unit_scale=True, file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
    return bar.update, bar.close


def _tell_stuck(stuck: list[dict[str, Any]]) -> None:
    for f in stuck:
        sys.stderr.write(f"{f['projection']}: stuck for tenant {f['tenant_id']} at event {f['notification_id']} "
                         f"({f['event_type']}), position {f['position']}: {f['error']}\n")
