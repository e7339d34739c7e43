"""Rebuild, verify and resume projections from the event store (API §5).

A rebuild never touches the live tables until the end. It builds the projection's
tables again under a scratch suffix, fed by the same runtime (each page commits with its
position, so a killed rebuild resumes where it stopped), and then, in one transaction,
puts the scratch tables in place of the live ones (renamed in; ``--tenant``: that
tenant's rows copied) and sets the live position to the scratch's. Events recorded after
that position are applied by the live runner as usual. ``--tenant`` limits all of this to
one tenant's rows and events. A large build shares the projections between worker
processes (``build_scratch``).

Verification builds the scratch tables up to the live position and compares the two,
row by row in a canonical order.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson

from classledger import projections as registry
from classledger.projections import tracking
from classledger.projections.failures import FAILURES_DDL, read_failures
from classledger.projections.runtime import EventRecord, Projection, Runner
from classledger.store.codec import event_class, open_state, type_name, upcast
from classledger.store.database import Store, Tx, check_identifier
from classledger.store.personal import KeyRing, declares_personal
from classledger.store.recorders import hyphenated

SCRATCH = "_scratch"
BULK_PAGE = 20_000  # events per transaction of a rebuild: large, and memory stays flat
WORKERS = 2  # worker processes of a large rebuild of several projections (the machines have 2 CPUs)
SQLITE_CACHE_KB = 65_536  # the page cache of a rebuild's SQLite connection (KiB)
ANALYZE_AFTER = (1, 4, 16)  # pages of a rebuild after which PostgreSQL gathers the tables' statistics
PARALLEL_MIN = 100_000  # events to read before workers pay off: each costs a Python start (~1 s)


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


@dataclass
class Difference:
    projection: str
    table: str
    only_live: int
    only_rebuilt: int
    examples: list[str]


@dataclass
class VerifyResult:
    ok: bool
    differences: list[Difference]
    events: int

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "differences": [d.__dict__ for d in self.differences],
        }


def select(store: Store, names: Sequence[str], *, suffix: str = "") -> list[Projection]:
    every = registry.build(store.db, suffix=suffix)
    if list(names) == ["all"]:
        return every
    known = {p.name: p for p in every}
    missing = [n for n in names if n not in known]
    if missing:
        raise KeyError(f"unknown projection(s) {missing}; known: {sorted(known)}")
    return [known[n] for n in names]


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


def _where(tenant_id: UUID | None) -> tuple[str, tuple[Any, ...]]:
    return ("WHERE tenant_id = ?", (str(tenant_id),)) if tenant_id else ("", ())


def dump(tx: Tx, p: Projection, table: str, tenant_id: UUID | None = None) -> list[tuple[Any, ...]]:
    """A table's rows in a canonical order: the unit of comparison."""
    where, params = _where(tenant_id)
    rows = tx.execute(f"SELECT * FROM {p.t(table)} {where}", params)
    return sorted((tuple(_canon(v) for v in r) for r in rows), key=repr)


def _canon(v: Any) -> Any:
    if isinstance(v, memoryview | bytearray):
        return bytes(v)
    if isinstance(v, bool):
        return int(v)
    return v


def _reset_scratch(store: Store, scratch: Sequence[Projection]) -> None:
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
    CPU, else 1). Each worker runs ``bulk_catch_up`` on its group of projections, reading
    every event itself; each projection has its own position, committed with its rows, so
    exactly-once, resuming and the tables do not depend on how the projections are grouped.
    """
    scratch = select(store, names, suffix=SCRATCH)
    if fresh:
        _reset_scratch(store, scratch)
    runner = Runner(store, scratch)  # the tables and position rows exist before any worker starts
    positions = runner.positions()
    resumed = {p.name: pos for p in scratch if (pos := positions.get(p.key, 0))}
    if workers is None:
        head = upto if upto is not None else (store.recorder.max_notification_id() or 0)
        todo = head - min((positions.get(p.key, 0) for p in scratch), default=head)
        large = tenant_id is None and todo >= PARALLEL_MIN and (os.cpu_count() or 1) > 1
        workers = WORKERS if large else 1
    groups = partition(scratch, workers)
    if len(groups) > 1 and not _shareable(store.url):
        groups = [[p.name for p in scratch]]
    if len(groups) == 1:
        read = bulk_catch_up(runner, upto=upto, tenant_id=tenant_id, page=page, progress=progress)
    else:
        read = _run_workers(store.url, groups, tenant_id=tenant_id, upto=upto, page=page, progress=progress)
    return scratch, read, resumed


def partition(projections: Sequence[Projection], workers: int) -> list[list[str]]:
    """Projection names in at most ``workers`` groups of about equal ``weight`` (heaviest
    first, each to the lightest group so far; registry order among equals)."""
    groups: list[list[Projection]] = [[] for _ in range(max(1, workers))]
    for p in sorted(projections, key=lambda p: -p.weight):
        min(groups, key=lambda g: sum(q.weight for q in g)).append(p)
    return [[p.name for p in g] for g in groups if g]


def _shareable(url: str) -> bool:
    """Whether another process can open the same database (not an in-memory SQLite)."""
    return not url.startswith("sqlite") or (":memory:" not in url and "mode=memory" not in url)


# ---- worker processes -------------------------------------------------------------------


def _run_workers(
    url: str,
    groups: list[list[str]],
    *,
    tenant_id: UUID | None,
    upto: int | None,
    page: int,
    progress: Callable[[int], None] | None,
) -> int:
    """Build the groups' scratch tables in one spawned process each; the events read (by
    the worker that read most). Progress follows the slowest worker. A worker that fails
    makes this raise once all have stopped; what they committed stays (a rerun resumes)."""
    import multiprocessing
    import queue

    # spawn, not fork: a forked child would share this process's open database connections.
    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(i, os.getpid(), url, g, tenant_id, upto, page, messages), daemon=True)
        for i, g in enumerate(groups)
    ]
    for proc in procs:
        proc.start()
    seen = [0] * len(procs)
    shown = 0
    done: dict[int, int] = {}
    failed: dict[int, str] = {}
    try:
        while len(done) + len(failed) < len(procs):
            try:
                kind, i, value = messages.get(timeout=0.5)
            except queue.Empty:
                for i, proc in enumerate(procs):  # died without a word (killed, out of memory)
                    if i not in done and i not in failed and not proc.is_alive():
                        failed[i] = f"worker exited with {proc.exitcode}"
                continue
            if kind == "page":
                seen[i] += value
                if progress and min(seen) > shown:
                    progress(min(seen) - shown)
                    shown = min(seen)
            elif kind == "done":
                done[i] = value
            else:
                failed[i] = str(value)
    finally:
        for proc in procs:
            if proc.is_alive() and (len(done) + len(failed) < len(procs)):
                proc.terminate()  # this process is failing (an exception, Ctrl-C): stop them too
            proc.join()
    if failed:
        raise RuntimeError("; ".join(f"worker {i} ({', '.join(groups[i])}): {m}" for i, m in sorted(failed.items())))
    return max(done.values(), default=0)


def _worker(
    index: int, parent: int, url: str, names: list[str], tenant_id: UUID | None, upto: int | None, page: int,
    messages: Any,
) -> None:
    """One worker process: ``bulk_catch_up`` for its projections' scratch tables."""
    _die_with(parent)
    store = Store.open(url)
    try:
        runner = Runner(store, select(store, names, suffix=SCRATCH))
        read = bulk_catch_up(runner, upto=upto, tenant_id=tenant_id, page=page,
                             progress=lambda n: messages.put(("page", index, n)))
        messages.put(("done", index, read))
    except BaseException as e:
        messages.put(("error", index, f"{type(e).__name__}: {e}"))
        raise
    finally:
        store.close()


def _die_with(parent: int) -> None:
    """Be killed when the parent dies, even by ``kill -9`` (Linux ``PR_SET_PDEATHSIG``): an
    orphan would go on writing scratch tables the next run also builds (still exactly once,
    the positions see to that, but two builders where the operator started one)."""
    import ctypes
    import ctypes.util
    import signal

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the parent joins us anyway
        pass
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the line above


# ---- the bulk path: what a rebuild into scratch tables runs ------------------------------


@dataclass(slots=True)
class _Topic:
    name: str
    upcast: bool  # the class has later versions than 1: run its upcasters
    personal: bool  # it may carry a client's sealed personal data, or destroy a key (store/personal.py)
    wanted: bool  # some projection being built handles it (else it is not even decoded)


Stored = tuple[int, str, int, str, bytes, str, int]  # ``EventRecorder.read_texts``' rows


def _decoder(
    wanted: Collection[str], unwanted: list[str], keys: KeyRing | None = None
) -> Callable[[Stored], EventRecord | None]:
    """``runtime.decode`` with what depends only on the topic worked out once per topic,
    on rows whose ids are text (``read_texts``); ``None`` for an event of a type no
    projection in ``wanted`` handles (nearly half of a school's events: seats, waitlists),
    whose topic is then added to ``unwanted``."""
    topics: dict[str, _Topic] = {}
    loads = orjson.loads

    def decode(row: Stored) -> EventRecord | None:
        nid, oid, version, topic, raw, tenant, at_us = row
        info = topics.get(topic)
        if info is None:
            cls = event_class(topic)
            name = type_name(topic)
            info = topics[topic] = _Topic(
                name=name, upcast=getattr(cls, "class_version", 1) != 1, wanted=name in wanted,
                personal=keys is not None and (declares_personal(cls) or getattr(cls, "SHREDS_KEY", False)),
            )
            if not info.wanted:
                unwanted.append(topic)
        if not info.wanted:
            return None
        state = loads(raw)
        if info.personal and keys is not None:
            state = open_state(topic, oid, state, keys)
        elif info.upcast or "class_version" in state:
            state = upcast(topic, state)
        return EventRecord(nid, tenant if len(tenant) == 36 else hyphenated(tenant),
                           oid if len(oid) == 36 else hyphenated(oid), version, info.name, at_us, state)

    return decode


def _apply(p: Projection, tx: Tx, records: list[EventRecord], after: int) -> int:
    """Apply to ``p`` (not flushed yet) the records past ``after`` it handles; how many."""
    handlers = p.handlers
    mine = [ev for ev in records if ev.id > after and ev.type in handlers]
    if mine:
        p.prefetch(tx, mine)
    for ev in mine:
        handlers[ev.type](p, tx, ev)
    return len(mine)


def bulk_catch_up(
    runner: Runner,
    *,
    page: int = BULK_PAGE,
    upto: int | None = None,
    tenant_id: UUID | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """``Runner.catch_up`` for a rebuild: large pages, each projection first reads the
    rows the page will touch in a few statements (``prefetch``), then applies the page in
    memory and writes its rows with ``executemany`` (``finish_page``). Each page commits
    with the positions, as in the runtime: exactly once, and a killed build resumes.

    On SQLite, whose write lock is one for the whole database, ``stageable`` projections
    apply the page in a read transaction first and only flush under the lock, so worker
    processes building other projections are not kept waiting meanwhile. The write
    transaction then checks each staged projection's position: one that moved (another
    process applied those events) has its staged page discarded and not written."""
    store, db = runner.store, runner.db
    head = upto if upto is not None else (store.recorder.max_notification_id() or 0)
    positions = runner.positions()
    start = min((positions.get(p.key, 0) for p in runner.projections), default=head)
    # Topics seen and handled by none of these projections: later pages do not fetch them
    # (not for one tenant's build, whose progress counts that tenant's events).
    unwanted: list[str] = []
    skip = unwanted if tenant_id is None else []
    decode = _decoder({t for p in runner.projections for t in p.handlers}, unwanted, store.mapper.keyring)
    first = start
    skipped = False
    stage = [p for p in runner.projections if p.stageable] if db.dialect == "sqlite" else []
    total = 0
    pages = 0
    while start < head:
        rows = store.recorder.read_texts(start, page, upto=head, tenant_id=tenant_id, skip_topics=tuple(skip))
        skipped = skipped or bool(skip)
        if not rows:
            runner.advance(head)  # the filtered tenant (or the wanted topics) have nothing more up to head
            if skipped:
                if progress:
                    progress(head - start)
                start = head
            break
        records = [ev for r in rows if (ev := decode(r)) is not None]
        last = rows[-1][0]
        staged: dict[str, tuple[int, int]] = {}  # key -> (position applied after, events applied)
        if stage:
            with db.read() as rtx:
                now = tracking.read_in(rtx)
                for p in stage:
                    pos = now.get(p.key, 0)
                    if pos < last:
                        staged[p.key] = (pos, _apply(p, rtx, records, pos))
        with db.write(durable=False) as tx:
            if db.dialect == "postgresql":
                # A page's statements are planned for the rows they name, never by a generic
                # plan made while the scratch tables were empty (which walks a whole tenant).
                tx.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            else:
                # A page's rows land all over the tables' B-trees (a client's trail, a pass):
                # SQLite's default 2 MB page cache would write and read the same pages again.
                tx.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
            held = runner.lock_positions(tx)
            moved: list[tracking.Move] = []
            for p in runner.projections:
                pos = held.get(p.key, 0)
                ahead = staged.get(p.key)
                if pos >= last:
                    if ahead is not None:
                        p.discard_page()
                    continue  # another process got here first
                if ahead is not None and ahead[0] == pos:
                    applied = ahead[1]  # staged on exactly these rows: write it
                else:
                    if ahead is not None:
                        p.discard_page()
                    applied = _apply(p, tx, records, pos)
                p.finish_page(tx)
                moved.append((last, applied, p.key))
            tracking.record(tx, moved)
        covered = last - start if skipped else len(rows)  # about: the ids passed over are events too
        start = last
        total += len(rows)
        pages += 1
        if db.dialect == "postgresql" and pages in ANALYZE_AFTER:
            _analyze(runner)
        if progress:
            progress(covered)
    if skipped:
        total = store.recorder.count_between(first, start)  # every event replayed, fetched or passed over
    return total


def _analyze(runner: Runner) -> None:
    """Give PostgreSQL the statistics of the tables being built: created empty, they would
    otherwise be planned as empty until autovacuum comes by (a join by key then walks
    every row of a tenant instead of using the key)."""
    with runner.db.write() as tx:
        for p in runner.projections:
            for table in p.tables:
                tx.execute(f"ANALYZE {p.t(table)}")


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
    live = select(store, names)
    Runner(store, live)  # the live tables exist and have a position row
    # Catch up whatever arrived during the build, then switch in one transaction.
    read += Runner(store, scratch, isolate=False).catch_up(tenant_id=tenant_id, progress=progress)
    with store.db.write() as tx:
        for s, lv in zip(scratch, live, strict=True):
            position = tracking.position(tx, s.key)
            where, params = _where(tenant_id)
            for table in lv.tables:
                if tenant_id is None:
                    _swap_in(tx, store.db.dialect, s.t(table), lv.t(table))
                    continue
                tx.execute(f"DELETE FROM {lv.t(table)} {where}", params)
                tx.execute(f"INSERT INTO {lv.t(table)} SELECT * FROM {s.t(table)} {where}", params)
            if tenant_id is None:
                tracking.put(tx, lv.key, position)
                tx.execute("DELETE FROM projection_failures WHERE name = ?", (lv.key,))
            else:
                # The tenant's rows are now built from every one of its events: nothing waits.
                tx.execute("DELETE FROM projection_failures WHERE name = ? AND tenant_id = ?", (lv.key, str(tenant_id)))
            s.drop(tx)
            tracking.forget(tx, s.key)
    return RebuildSummary([p.name for p in live], read, time.perf_counter() - t0, resumed)


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


def verify(
    store: Store,
    names: Sequence[str],
    *,
    tenant_id: UUID | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> VerifyResult:
    live = select(store, names)
    live_runner = Runner(store, live)
    live_runner.catch_up()
    positions = live_runner.positions()
    target = min(positions.get(p.key, 0) for p in live)
    scratch, read, _ = build_scratch(store, names, tenant_id=tenant_id, upto=target, fresh=True, progress=progress,
                                     workers=workers)
    differences: list[Difference] = []
    with store.db.read() as tx:
        for s, lv in zip(scratch, live, strict=True):
            for table in lv.tables:
                a = dump(tx, lv, table, tenant_id)
                b = dump(tx, s, table, tenant_id)
                if a != b:
                    sa, sb = set(a), set(b)
                    only_live = sorted(sa - sb, key=repr)
                    only_new = sorted(sb - sa, key=repr)
                    differences.append(
                        Difference(lv.name, table, len(only_live), len(only_new),
                                   [f"live: {r!r}" for r in only_live[:3]] + [f"rebuilt: {r!r}" for r in only_new[:3]])
                    )
    _reset_scratch(store, scratch)
    return VerifyResult(not differences, differences, read)


# ---- the operator's command: scripts/replay.py ------------------------------------------


def _progress(total: int) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    import sys

    if not sys.stderr.isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="ev", unit_scale=True, file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
    return bar.update, bar.close


def _tell_stuck(stuck: list[dict[str, Any]]) -> None:
    import sys

    for f in stuck:
        sys.stderr.write(f"{f['projection']}: stuck for tenant {f['tenant_id']} at event {f['notification_id']} "
                         f"({f['event_type']}), position {f['position']}: {f['error']}\n")


def main(argv: Sequence[str] | None = None) -> int:
    import argparse
    import sys
    from datetime import UTC, datetime

    import orjson

    from classledger.projections.activity import ActivityTimeline, replay_month
    from classledger.projections.activity_model import us
    from classledger.projections.clients import ClientDirectory
    from classledger.projections.peak import with_peak_clients

    ap = argparse.ArgumentParser(
        prog="replay.py",
        description="Rebuild projections from the event store (API §5). The database is CLASSLEDGER_DATABASE_URL.",
    )
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
    a = ap.parse_args(argv)
    store = Store.open()
    try:
        if a.status:
            report = status(store)
            sys.stdout.write(orjson.dumps(report).decode() + "\n")
            _tell_stuck(report["stuck"])
            return 0 if report["ok"] else 1
        if a.prune_old:
            sys.stdout.write(orjson.dumps({"dropped": prune_old_versions(store)}).decode() + "\n")
            return 0
        names = [a.projection]
        if a.month:
            if a.tenant is None:
                ap.error("--month needs --tenant")
            view, directory = select(store, ["activity", "clients"])
            assert isinstance(view, ActivityTimeline)
            assert isinstance(directory, ClientDirectory)
            Runner(store, [view, directory]).catch_up()
            result = replay_month(store, view, a.tenant, a.month, as_of=us(datetime.now(UTC)))
            if result is None:
                sys.stderr.write(f"no tenant {a.tenant}\n")
                return 2
            report = with_peak_clients(view, directory, a.tenant, result.report)
            out = {**report, "replay": {"events_read": result.events_read, "tenant_events": result.tenant_events, "state_from": result.snapshot}}
            sys.stdout.write(orjson.dumps(out).decode() + "\n")
            return 0
        try:
            select(store, names)
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
            sys.stdout.write(orjson.dumps(v.as_json()).decode() + "\n")
            if not v.ok:
                for d in v.differences:
                    sys.stderr.write(f"{d.projection}.{d.table}: {d.only_live} rows only live, {d.only_rebuilt} only rebuilt\n")
                    for ex in d.examples:
                        sys.stderr.write(f"    {ex}\n")
            _tell_stuck([f.as_json() for f in read_failures(store.db)])  # what a live table is missing, and why
            return 0 if v.ok else 1
        sys.stdout.write(orjson.dumps(r.as_json()).decode() + "\n")
        _tell_stuck([f.as_json() for f in read_failures(store.db)])  # of projections not rebuilt, or the bug is back
        return 0
    finally:
        store.close()
