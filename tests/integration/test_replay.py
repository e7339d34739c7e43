"""API §5 replay on both databases: rebuilds are deterministic, verification catches
drift, an interrupted rebuild resumes, and a tenant rebuild touches only that tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from classledger import projections
from classledger.application.tenants import system_principal
from classledger.projections import bulk, replay
from classledger.projections.activity import ActivityTimeline
from classledger.projections.runtime import EventRecord, Projection
from classledger.projections.verify import dump, verify
from classledger.projections.workers import partition
from classledger.store.database import Tx
from classledger.system import System

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def populate(system: System, tenants: int = 3) -> list[uuid.UUID]:
    ids = []
    for i in range(tenants):
        tid = uuid.uuid4()
        sp = system_principal(tid)
        system.execute(sp, "create_tenant", {"name": f"T{i}", "timezone": "Europe/Tallinn", "currency": "EUR", "tiers": [["S", 10]]}, at=T0)
        for k in range(4):
            system.execute(sp, "issue_key", {"role": "admin", "staff": f"staff {k}"}, at=T0 + timedelta(days=40 * k))
        ids.append(tid)
    return ids


def snapshot(system: System) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    with system.store.db.read() as tx:
        for p in system.views.values():
            for table in p.tables:
                out[p.t(table)] = dump(tx, p, table)
    return out


def test_rebuild_gives_identical_tables(system: System) -> None:
    populate(system)
    before = snapshot(system)
    summary = replay.rebuild(system.store, ["all"])
    assert summary.events == system.store.recorder.max_notification_id()
    assert snapshot(system) == before
    replay.rebuild(system.store, ["all"])
    assert snapshot(system) == before


def test_worker_processes_build_the_same_tables(system: System) -> None:
    populate(system)
    before = snapshot(system)
    summary = replay.rebuild(system.store, ["all"], workers=2)
    assert summary.events == system.store.recorder.max_notification_id()  # each worker read every event once
    assert snapshot(system) == before
    assert verify(system.store, ["all"], workers=2).ok


def test_projections_are_grouped_by_weight() -> None:
    from classledger.projections import build
    from classledger.store.database import Store

    store = Store.open("sqlite:///:memory:")
    try:
        every = build(store.db)
        groups = partition(every, 2)
        assert sorted(n for g in groups for n in g) == sorted(p.name for p in every)
        assert all(not {"trail", "books"} <= set(g) for g in groups)  # the two heaviest are apart
        assert partition(every, 1) == [[p.name for p in sorted(every, key=lambda p: -p.weight)]]
    finally:
        store.close()


def test_verify_passes_then_reports_a_tampered_row(system: System) -> None:
    populate(system)
    assert verify(system.store, ["all"]).ok
    keys = system.views[next(k for k in system.views if k.__name__ == "StaffKeys")]
    with system.store.db.write() as tx:
        tx.execute(f"UPDATE {keys.t('keys')} SET role = 'director' WHERE staff_name = 'staff 1'")
    result = verify(system.store, ["keys"])
    assert not result.ok
    [diff] = result.differences
    assert (diff.projection, diff.table, diff.only_live, diff.only_rebuilt) == ("keys", "keys", 3, 3)
    replay.rebuild(system.store, ["keys"])
    assert verify(system.store, ["all"]).ok


class Killed(Exception):
    pass


def test_an_interrupted_rebuild_resumes_from_its_checkpoint(system: System) -> None:
    populate(system, tenants=6)
    before = snapshot(system)
    seen = []

    def die_after_first_page(n: int) -> None:
        seen.append(n)
        raise Killed  # as if killed -9 right after a page committed

    with pytest.raises(Killed):
        replay.build_scratch(system.store, ["all"], fresh=True, page=7, progress=die_after_first_page)
    assert seen == [7]
    summary = replay.rebuild(system.store, ["all"])
    assert summary.resumed_from  # it did not start again from the first event
    assert summary.events == system.store.recorder.max_notification_id() - seen[0]
    assert snapshot(system) == before


def index_definitions(system: System) -> dict[str, set[str]]:
    """Each projection table's indexes, as their definitions (names included)."""
    if system.store.dialect == "sqlite":
        rows = system.store.db.query("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    else:
        rows = system.store.db.query("SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema()")
    out: dict[str, set[str]] = {}
    for table, sql in rows:
        if str(table).startswith("p_"):
            # SQLite quotes the table's name in an index it renamed along with the table
            out.setdefault(str(table), set()).add(str(sql).replace('"', ""))
    return out


def test_scratch_tables_are_built_with_only_the_indexes_the_handlers_read(system: System) -> None:
    populate(system)
    before = index_definitions(system)
    built, _, _ = replay.build_scratch(system.store, ["all"], fresh=True)
    scratch = {t: ixs for t, ixs in index_definitions(system).items() if t.endswith(replay.SCRATCH)}
    kept = {name.format(**p._names()) for p in built for name in p.applies_through}
    deferred = {ix for p in built for ix in p.index_ddl()}
    assert kept
    assert deferred
    for ixs in scratch.values():
        for ix in ixs:
            assert any(f" {name} " in ix for name in kept) or "pkey" in ix or "autoindex" in ix
    replay.rebuild(system.store, ["all"])
    assert index_definitions(system) == before  # the live tables got every index back, by their names


def test_page_size_does_not_change_the_result(system: System) -> None:
    populate(system)

    def scratch_rows(page: int) -> dict[str, list[tuple[object, ...]]]:
        built, _, _ = replay.build_scratch(system.store, ["all"], fresh=True, page=page)
        with system.store.db.read() as tx:
            return {p.t(t): dump(tx, p, t) for p in built for t in p.tables}

    one_by_one = scratch_rows(1)
    assert one_by_one == scratch_rows(5000)
    assert any(one_by_one.values())


def test_tenant_rebuild_touches_only_that_tenant(system: System) -> None:
    a, b, _ = populate(system)
    activity = system.view(ActivityTimeline)
    with system.store.db.write() as tx:
        tx.execute(f"DELETE FROM {activity.t('tenants')} WHERE tenant_id = ?", (str(b),))
    result = verify(system.store, ["activity"], tenant_id=a)
    assert result.ok  # a is intact
    assert not verify(system.store, ["activity"], tenant_id=b).ok
    replay.rebuild(system.store, ["activity"], tenant_id=b)
    assert verify(system.store, ["all"]).ok


def test_a_staged_page_is_dropped_when_another_process_applied_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: stageable projections apply a page in a read transaction before taking the
    write lock. If another runner applies those events meanwhile, the staged page must be
    discarded, not written a second time (exactly once)."""
    system = System.open(f"sqlite:///{tmp_path}/staged.db")  # pages are staged on SQLite only
    try:
        _staged_page_race(system, monkeypatch)
    finally:
        system.close()


def _staged_page_race(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    from classledger.projections.runtime import Runner

    populate(system)
    live = snapshot(system)
    store = system.store
    built, _, _ = replay.build_scratch(store, ["all"], fresh=True, workers=1, upto=0)
    runner = Runner(store, built)
    other = Runner(store, projections.select(store.db, ["all"], suffix=replay.SCRATCH))
    real = bulk._apply
    raced: list[int] = []

    def racing_apply(p: Projection, tx: Tx, records: list[EventRecord], after: int) -> int:
        n = real(p, tx, records, after)
        mine = [ev.id for ev in records if ev.id > after]
        if p.stageable and not raced and len(mine) > 2:
            # another process, between our read and our write, applies part of this page
            raced.append(other.catch_up(upto=mine[1]))
        return n

    monkeypatch.setattr(bulk, "_apply", racing_apply)
    bulk.bulk_catch_up(runner, page=5)
    assert raced
    assert raced[0] > 0
    with store.db.read() as tx:
        rebuilt = {p.t(t).removesuffix(replay.SCRATCH): dump(tx, p, t) for p in built for t in p.tables}
    assert rebuilt == live
    applied = dict(store.db.query("SELECT name, events_applied FROM projection_positions"))
    for p in built:  # each event counted once: the staged pages were not written as well
        assert applied[p.key] == applied[p.name], p.name


def test_one_tenants_events_are_read_in_order_in_pages(system: System) -> None:
    """A one-tenant rebuild (API §5, ``--tenant``) reads that tenant's events, in order, in
    pages, up to the head it was given and without the topics it skips."""
    *_, last = populate(system)  # its events come after the other tenants'
    recorder = system.store.recorder
    everything = recorder.read_texts(0, 10**6)
    mine = [r for r in everything if r[5] == str(last)]
    assert mine
    assert len(mine) < len(everything)
    pages, after = [], 0
    while rows := recorder.read_texts(after, 7, tenant_id=last):
        pages += rows
        after = rows[-1][0]
    assert pages == mine
    upto = mine[len(mine) // 2][0]
    assert recorder.read_texts(0, 10**6, tenant_id=last, upto=upto) == [r for r in mine if r[0] <= upto]
    skipped = mine[0][3]
    assert recorder.read_texts(0, 10**6, tenant_id=last, skip_topics=[skipped]) == [r for r in mine if r[3] != skipped]
