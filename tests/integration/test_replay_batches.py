"""A rebuild writes a page's rows in a few statements, never one per event (API §5), and
stays exact: the passes (DOMAIN §4.11), the books (§6), the cabinet's visits (§8.1), the
client trail (§9.2) and the catalogue's groups and registrations (§3.2), rebuilt in small
pages, equal the live tables, on both engines."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from classledger import projections
from classledger.demo import generate
from classledger.projections import batch, bulk, replay
from classledger.projections.batch import update_many
from classledger.projections.runtime import Runner
from classledger.projections.verify import dump
from classledger.store import tx as txmod
from classledger.store.database import Store
from classledger.system import System

BATCHED = ["passes", "books", "cabinet", "trail", "catalogue"]
PAGE = 100


def test_update_many_sets_columns_by_key_and_only_what_changed(store: Store) -> None:
    db, d = store.db, store.db.dialect
    keys = (("tenant_id", "text"), ("k", "text"))
    with db.write() as tx:
        tx.execute("CREATE TABLE t_upd (tenant_id TEXT NOT NULL, k TEXT NOT NULL, n BIGINT, s TEXT, "
                   "PRIMARY KEY (tenant_id, k))")
        tx.executemany("INSERT INTO t_upd (tenant_id, k, n, s) VALUES (?, ?, ?, ?)",
                       [("a", "x", 1, "one"), ("a", "y", 2, "two"), ("b", "x", 3, "three")])
        update_many(tx, d, "t_upd", keys, (("n", "bigint"), ("s", "text")),
                    [("a", "x", 9 * 10**15, None), ("a", "absent", 5, "five")])
        update_many(tx, d, "t_upd", keys, (("s", "text"),), [("a", "y", "two"), ("b", "x", "drei")], only_changed=True)
        update_many(tx, d, "t_upd", keys, (("s", "text"),), [])
    with db.read() as tx:
        got = tx.execute("SELECT tenant_id, k, n, s FROM t_upd ORDER BY tenant_id, k")
    assert got == [("a", "x", 9 * 10**15, None), ("a", "y", 2, "two"), ("b", "x", 3, "drei")]


@pytest.fixture
def school(system: System) -> System:
    """A small demo school: passes sold and used by visits, their postings, cancellations."""
    generate(system, clients=40, seed=7)
    return system


@contextmanager
def counting() -> Iterator[list[str]]:
    """Every statement any transaction runs meanwhile (an ``executemany`` once)."""
    seen: list[str] = []
    patched: list[tuple[Any, str, Any]] = []
    for cls in (txmod.SQLiteTx, txmod.PgTx):
        for name in ("execute", "one", "update", "executemany"):
            orig = getattr(cls, name)

            def wrap(self: Any, sql: str, params: Any = (), _orig: Any = orig) -> Any:
                seen.append(sql)
                return _orig(self, sql, params)

            patched.append((cls, name, orig))
            setattr(cls, name, wrap)
    try:
        yield seen
    finally:
        for cls, name, orig in patched:
            setattr(cls, name, orig)


def test_a_rebuild_writes_pages_not_events(school: System) -> None:
    store = school.store
    scratch = projections.select(store.db, BATCHED, suffix=replay.SCRATCH)
    runner = Runner(store, scratch)
    handled = {t for p in scratch for t in p.handlers}
    events, after = [], 0
    while rows := store.recorder.read_texts(after, 1000):
        events += [r for r in rows if r[3].rsplit(":", 1)[-1] in handled]
        after = rows[-1][0]
    assert len(events) > 500  # visits, their passes' figures, their postings
    with counting() as seen:
        bulk.bulk_catch_up(runner, page=PAGE)
    mine = [s for s in seen if any(p.t(table) in s for p in scratch for table in p.tables)]
    pages = -(-(store.recorder.max_notification_id() or 0) // PAGE)
    # Each statement a few times per page at most (a table's inserts, a pass's figures, a
    # trail's owners read for the whole page); one per event ran hundreds of times.
    most = Counter(mine).most_common(3)
    assert most[0][1] <= 2 * pages, most


def test_small_pages_rebuild_exactly_what_the_live_runner_built(school: System) -> None:
    store = school.store
    live = projections.select(store.db, BATCHED)
    Runner(store, live).catch_up()
    scratch, _, _ = replay.build_scratch(store, BATCHED, fresh=True, page=37, workers=1)
    with store.db.read() as tx:
        for s, lv in zip(scratch, live, strict=True):
            for table in lv.tables:
                assert dump(tx, s, table) == dump(tx, lv, table), (lv.name, table)
    with store.db.read() as tx:
        (cancelled,) = tx.one(f"SELECT COUNT(*) FROM {live[1].t('transactions')} WHERE status = 'cancelled'") or (0,)
        (changed,) = tx.one(f"SELECT COUNT(*) FROM {live[0].t('passes')} WHERE remaining < lessons_total") or (0,)
    assert changed > 0  # the figures were updated after the sale, across pages
    assert cancelled >= 0


def test_the_trail_is_rebuilt_from_the_stored_events_without_decoding_them(
    school: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOMAIN §9.2: the client trail, rebuilt by statements over the stored events, equals
    the trail the live runner wrote event by event, the owners included; built beside a
    projection whose own events end early (the staff keys), it still reaches the head."""
    store = school.store
    live = projections.select(store.db, ["keys", "trail"])
    Runner(store, live).catch_up()
    decoded: list[str] = []
    real = bulk._decoder

    def watching(wanted: Any, unwanted: list[str], keys: Any = None) -> Any:
        decoded.extend(wanted)
        return real(wanted, unwanted, keys)

    monkeypatch.setattr(bulk, "_decoder", watching)
    scratch, _, _ = replay.build_scratch(store, ["keys", "trail"], fresh=True, page=50, workers=1)
    assert set(decoded) == set(live[0].handlers)  # the staff keys' events only
    head = store.recorder.max_notification_id()
    positions = Runner(store, scratch).positions()
    assert {positions[s.key] for s in scratch} == {head}
    with store.db.read() as tx:
        for s, lv in zip(scratch, live, strict=True):
            for table in lv.tables:
                assert dump(tx, s, table) == dump(tx, lv, table), (lv.name, table)


def test_a_rebuild_by_copy_builds_what_the_live_runner_built(school: System, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read model rebuilt with each batch sent by ``COPY`` (PostgreSQL; the live
    runner's small pages went as JSON texts) equals the live tables, row for row (API §5)."""
    monkeypatch.setattr(batch, "PG_COPY_MIN", 1)
    monkeypatch.setattr(batch, "_CONFLICTED", set())
    store = school.store
    live = projections.select(store.db, ["all"])
    Runner(store, live).catch_up()
    scratch, _, _ = replay.build_scratch(store, ["all"], fresh=True, workers=1)
    with store.db.read() as tx:
        for s, lv in zip(scratch, live, strict=True):
            for table in lv.tables:
                assert dump(tx, s, table) == dump(tx, lv, table), (lv.name, table)
