"""Rebuild projections from the event store (API §5): build apart, then switch.

A rebuild never touches the live tables until the end. It builds the projection's
tables again under a scratch suffix, fed by the bulk feed (``bulk.py``: each page commits
with its position, so a killed rebuild resumes where it stopped), and then, in one
transaction, puts the scratch tables in place of the live ones (renamed in; ``--tenant``:
that tenant's rows copied) and sets the live position to the scratch's. Events recorded
after that position are applied by the live runner as usual. ``--tenant`` limits all of
this to one tenant's rows and events. A large build shares the projections between
worker processes (``workers.py``). Verification (``verify.py``) builds the same scratch
tables up to the live position and compares them with the live ones.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from classledger import projections as registry
from classledger.projections import tracking
from classledger.projections.bulk import BULK_PAGE, bulk_catch_up
from classledger.projections.failures import FAILURES_DDL, read_failures
from classledger.projections.runtime import Projection, Runner
from classledger.projections.workers import PARALLEL_MIN, WORKERS, partition, run_workers, shareable
from classledger.store.database import Store, Tx, check_identifier

SCRATCH = "_scratch"
INDEX_MEMORY_MB = 128  # PostgreSQL's sort memory for building a scratch table's indexes


@dataclass
class RebuildSummary:
    projections: list[str]
    events: int
    seconds: float
    resumed_from: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "projections": self.projections,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.events_per_second, 1),
            "resumed_from": self.resumed_from,
        }


_VERSIONED = re.compile(r"^p_([a-z]+)_v([0-9]+)_[a-z0-9_]+$")


def prune_old_versions(store: Store) -> list[str]:
    """Drop the tables of every projection version older than this code's (a version
    bump builds new tables beside the old ones and switches; the old ones stay for the
    processes still running the old code). Run it once every process runs this code: a
    process on the old version would lose its read model. Newer versions' tables (a
    rolling deploy's next code) are never touched. Returns the tables dropped."""
    current = {p.name: p.version for p in registry.build(store.db)}
    if store.dialect == "sqlite":
        rows = store.db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    else:
        rows = store.db.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
    old = []
    for (table,) in rows:
        m = _VERSIONED.match(table)
        if m and m.group(1) in current and int(m.group(2)) < current[m.group(1)]:
            old.append(check_identifier(table))
    with store.db.write() as tx:
        for table in old:
            tx.execute(f"DROP TABLE IF EXISTS {table}")
    return old


def where(tenant_id: UUID | None) -> tuple[str, tuple[Any, ...]]:
    return ("WHERE tenant_id = ?", (str(tenant_id),)) if tenant_id else ("", ())


def reset_scratch(store: Store, scratch: Sequence[Projection]) -> None:
    """Drop the scratch tables and their records: the next build starts from the first event."""
    with store.db.write() as tx:
        tracking.create(tx)  # a store no runner has run on yet
        tx.execute(FAILURES_DDL)
        for p in scratch:
            p.drop(tx)
            tracking.forget(tx, p.key)
            tx.execute("DELETE FROM projection_failures WHERE name = ?", (p.key,))


def status(store: Store) -> dict[str, Any]:
    """Where every projection stands and what is stuck (``--status``, ``GET /healthz``'s
    details): the head, each position and how far behind it is, and the events set
    aside per projection and tenant (projections/failures.py)."""
    with store.db.write() as tx:
        tracking.create(tx)  # a store no runner has run on yet
        tx.execute(FAILURES_DDL)
    head = store.recorder.max_notification_id() or 0
    positions = tracking.read(store.db)
    stuck = read_failures(store.db)
    return {
        "ok": not stuck,
        "head": head,
        "projections": {
            p.name: {"position": positions.get(p.key, 0), "behind": head - positions.get(p.key, 0),
                     "stuck_tenants": sum(1 for f in stuck if f.projection == p.key)}
            for p in registry.build(store.db)
        },
        "stuck": [f.as_json() for f in stuck],
    }


def build_scratch(
    store: Store,
    names: Sequence[str],
    *,
    tenant_id: UUID | None = None,
    upto: int | None = None,
    fresh: bool = False,
    page: int = BULK_PAGE,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> tuple[list[Projection], int, dict[str, int]]:
    """Build (or resume building) the scratch copies; returns them, events read, resume points.

    ``workers``: how many processes share the projections (``None``: ``WORKERS`` when the
    build reads at least ``PARALLEL_MIN`` events of every tenant and there is more than one
    CPU, else 1), each running ``bulk_catch_up`` on its group of projections.
    """
    scratch = registry.select(store.db, names, suffix=SCRATCH)
    if fresh:
        reset_scratch(store, scratch)
    runner = Runner(store, scratch)  # the tables and position rows exist before any worker starts
    positions = runner.positions()
    resumed = {p.name: pos for p in scratch if (pos := positions.get(p.key, 0))}
    if workers is None:
        head = upto if upto is not None else (store.recorder.max_notification_id() or 0)
        todo = head - min((positions.get(p.key, 0) for p in scratch), default=head)
        large = tenant_id is None and todo >= PARALLEL_MIN and (os.cpu_count() or 1) > 1
        workers = WORKERS if large else 1
    groups = partition(scratch, workers)
    if len(groups) > 1 and not shareable(store.url):
        groups = [[p.name for p in scratch]]
    if len(groups) == 1:
        read = bulk_catch_up(runner, upto=upto, tenant_id=tenant_id, page=page, progress=progress)
    else:
        read = run_workers(store.url, groups, suffix=SCRATCH, tenant_id=tenant_id, upto=upto, page=page, progress=progress)
    return scratch, read, resumed


def rebuild(
    store: Store,
    names: Sequence[str],
    *,
    tenant_id: UUID | None = None,
    page: int = BULK_PAGE,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> RebuildSummary:
    t0 = time.perf_counter()
    scratch, read, resumed = build_scratch(store, names, tenant_id=tenant_id, page=page, progress=progress,
                                           workers=workers)
    if tenant_id is None:
        add_indexes(store, scratch)  # they take the live tables' place: with every index
    live = registry.select(store.db, names)
    Runner(store, live)  # the live tables exist and have a position row
    # Catch up whatever arrived during the build, then switch in one transaction.
    read += Runner(store, scratch, isolate=False).catch_up(tenant_id=tenant_id, progress=progress)
    with store.db.write() as tx:
        for s, lv in zip(scratch, live, strict=True):
            position = tracking.position(tx, s.key)
            where_tenant, params = where(tenant_id)
            for table in lv.tables:
                if tenant_id is None:
                    _swap_in(tx, store.db.dialect, s.t(table), lv.t(table))
                    continue
                tx.execute(f"DELETE FROM {lv.t(table)} {where_tenant}", params)
                tx.execute(f"INSERT INTO {lv.t(table)} SELECT * FROM {s.t(table)} {where_tenant}", params)
            if tenant_id is None:
                tracking.put(tx, lv.key, position)
                tx.execute("DELETE FROM projection_failures WHERE name = ?", (lv.key,))
            else:
                # The tenant's rows are now built from every one of its events: nothing waits.
                tx.execute("DELETE FROM projection_failures WHERE name = ? AND tenant_id = ?", (lv.key, str(tenant_id)))
            s.drop(tx)
            tracking.forget(tx, s.key)
    return RebuildSummary([p.name for p in live], read, time.perf_counter() - t0, resumed)


def add_indexes(store: Store, scratch: Sequence[Projection]) -> None:
    """Create the indexes the scratch tables were built without (``Projection.index_ddl``),
    each from the filled table in one pass rather than row by row in event order. Done
    again after a crash (``IF NOT EXISTS``)."""
    with store.db.write(durable=False) as tx:
        if store.dialect == "postgresql":
            tx.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_MEMORY_MB}MB'")
        for p in scratch:
            for stmt in p.index_ddl():
                tx.execute(stmt)


def _swap_in(tx: Tx, dialect: str, scratch: str, live: str) -> None:
    """Replace table ``live`` by table ``scratch`` (a whole rebuild): a rename, not a copy of
    every row. The scratch table's indexes are named after it and must take the live names
    (a later scratch build creates its own ``IF NOT EXISTS``): PostgreSQL renames them
    (its primary key's too); SQLite cannot, so they are built again under the live names."""
    tx.execute(f"DROP TABLE IF EXISTS {live}")
    tx.execute(f"ALTER TABLE {scratch} RENAME TO {live}")
    if dialect == "postgresql":
        rows = tx.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ?", (live,)
        )
        for (name,) in rows:
            if name.startswith(scratch):
                tx.execute(f"ALTER INDEX {check_identifier(name)} RENAME TO {check_identifier(live + name[len(scratch):])}")
        return
    rows = tx.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (live,)
    )
    for name, sql in rows:
        if name.startswith(scratch):
            tx.execute(f"DROP INDEX {check_identifier(name)}")
            tx.execute(str(sql).replace(name, check_identifier(live + name[len(scratch):]), 1))


