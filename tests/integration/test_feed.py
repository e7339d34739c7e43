"""The feed loop (projections/feed.py) in its live and bulk modes.

The live mode keeps a failing read model from taking anything else down: the projection
whose handler raises is stuck for that event's tenant only, every other projection and
every other tenant's events go on, and the loop reaches the head. The bulk mode (a
rebuild's scratch tables) raises instead and commits nothing of the failing page.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from classledger.aggregates.tenant import StaffKeyIssued
from classledger.application.tenants import system_principal
from classledger.projections import feed
from classledger.projections.bulk import bulk_catch_up
from classledger.projections.failures import read_failures
from classledger.projections.runtime import EventRecord, Projection, Runner, handles
from classledger.store.database import Store, Tx
from classledger.system import System

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
KEYS = 3


class StaffSeen(Projection):
    """Who was given a key, per tenant; refuses the staff members of ``refused``."""

    name = "feedseen"
    tables = {"staff": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, seq BIGINT NOT NULL, "
                       "PRIMARY KEY (tenant_id, seq))"}
    refused: str | None = None

    @handles(StaffKeyIssued)
    def _issued(self, tx: Tx, ev: EventRecord) -> None:
        if str(ev.tenant_id) == self.refused:
            raise ValueError(f"cannot read staff {ev.data['staff']['staff_name']}")
        tx.execute(f"INSERT INTO {self.t('staff')} (tenant_id, seq) VALUES (?, ?)", (str(ev.tenant_id), ev.id))


class StaffCounted(StaffSeen):
    name = "feedcounted"


def populate(system: System) -> list[str]:
    tenants = []
    for i in range(2):
        tid = uuid.uuid4()
        sp = system_principal(tid)
        system.execute(sp, "create_tenant", {"name": f"T{i}", "timezone": "Europe/Tallinn", "currency": "EUR",
                                              "tiers": [["S", 10]]}, at=T0)
        for k in range(KEYS):
            system.execute(sp, "issue_key", {"role": "admin", "staff": f"staff {k}"}, at=T0 + timedelta(days=k))
        tenants.append(str(tid))
    return tenants


def rows(store: Store, p: Projection) -> dict[str, int]:
    got = store.db.query(f"SELECT tenant_id, COUNT(*) FROM {p.t('staff')} GROUP BY tenant_id")
    return {str(t): int(n) for t, n in got}


def test_live_mode_sets_a_tenants_failing_event_aside_and_goes_on(system: System) -> None:
    good, bad = populate(system)
    store = system.store
    failing, healthy = StaffSeen(store.db), StaffCounted(store.db)
    failing.refused = bad
    runner = Runner(store, [failing, healthy])
    head = store.recorder.max_notification_id()
    assert runner.catch_up(page=2) == head  # every page, in small pages, to the head
    assert runner.positions()[failing.key] == runner.positions()[healthy.key] == head
    assert rows(store, healthy) == {good: KEYS, bad: KEYS}  # the other projection: everything
    assert rows(store, failing) == {good: KEYS}  # the other tenant: everything
    [stuck] = read_failures(store.db)
    assert (stuck.projection, stuck.tenant_id, stuck.event_type) == (failing.key, bad, "StaffKeyIssued")
    assert [f.projection for f in runner.stuck(bad)] == [failing.key]
    assert runner.stuck(good) == []
    # The fix: the tenant's events are applied from the one that failed, in order.
    failing.refused = None
    assert runner.resume() == []
    assert rows(store, failing) == {good: KEYS, bad: KEYS}


def test_bulk_mode_raises_and_commits_nothing_of_the_page(system: System) -> None:
    _, bad = populate(system)
    store = system.store
    failing = StaffSeen(store.db, suffix="_scratch")
    failing.refused = bad
    runner = Runner(store, [failing], isolate=False)
    with pytest.raises(ValueError, match="cannot read staff"):
        bulk_catch_up(runner, page=1000)
    assert runner.positions()[failing.key] == 0
    assert rows(store, failing) == {}
    assert read_failures(store.db) == []


class Pages:
    """A reader of fixed pages, then nothing (a tenant's events end before the head)."""

    def __init__(self, pages: list[feed.Batch], passed: int) -> None:
        self.pages, self.passed = pages, passed

    def read(self, start: int, head: int) -> feed.Batch | None:
        return self.pages.pop(0) if self.pages else None

    def passed_over(self, start: int, head: int) -> int:
        return self.passed

    def events_read(self, rows: int, first: int, end: int) -> int:
        return rows * 100 + end


class Recorded:
    def __init__(self) -> None:
        self.written: list[int] = []
        self.advanced: list[int] = []

    def write(self, batch: feed.Batch) -> None:
        self.written.append(batch.last)

    def advance(self, to: int) -> None:
        self.advanced.append(to)


@pytest.mark.parametrize(("passed", "end"), [(0, 7), (3, 10)])
def test_the_loop_moves_to_the_head_when_nothing_is_left(passed: int, end: int) -> None:
    progress: list[int] = []
    writer = Recorded()
    pages = [feed.Batch([], 2, 4, 4), feed.Batch([], 1, 7, 3)]
    read = feed.run(Pages(pages, passed), writer, start=0, head=10, progress=progress.append)
    assert writer.written == [4, 7]
    assert writer.advanced == [10]
    assert progress == [4, 3] + ([passed] if passed else [])
    assert read == 3 * 100 + end
