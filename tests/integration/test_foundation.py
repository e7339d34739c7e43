"""The foundation on both databases: tenant-stamped storage, the command pipeline,
idempotency, optimistic concurrency, the hash chain and exactly-once projections."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from classledger.aggregates.errors import Conflict, Forbidden, Invalid
from classledger.application.principal import Principal
from classledger.application.tenants import hash_key, system_principal
from classledger.instants import us
from classledger.projections.keys import StaffKeys
from classledger.store import hashchain
from classledger.system import System

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def make_tenant(system: System, name: str = "Detské centrum Slniečko") -> tuple[uuid.UUID, Principal]:
    tenant_id = uuid.uuid4()
    sysp = system_principal(tenant_id)
    system.execute(
        sysp,
        "create_tenant",
        {"name": name, "timezone": "Europe/Bratislava", "currency": "EUR", "tiers": [["S", 100], ["M", 500]]},
        at=T0,
    )
    ans = system.execute(sysp, "issue_key", {"role": "director", "staff": "Jana Nováková"}, at=T0)
    key = ans["key"]
    row = system.view(StaffKeys).lookup(hash_key(key))
    assert row is not None
    assert row.tenant_id == tenant_id
    assert row.role == "director"
    return tenant_id, Principal(tenant_id, row.staff_id, row.staff_name, row.role, row.city)


def test_events_carry_their_tenant_and_are_read_per_tenant(system: System) -> None:
    a, pa = make_tenant(system, "A")
    b, _ = make_tenant(system, "B")
    system.execute(pa, "add_branch", {"name": "Centrum", "city": "Bratislava"}, at=T0)
    rows_a = system.store.recorder.read_rows(0, 1000, tenant_id=a)
    rows_b = system.store.recorder.read_rows(0, 1000, tenant_id=b)
    assert {r.tenant_id for r in rows_a} == {a}
    assert {r.tenant_id for r in rows_b} == {b}
    assert len(rows_a) == 3  # created, key, branch
    assert len(rows_b) == 2


def test_month_window_reads_only_that_tenants_instants(system: System) -> None:
    a, pa = make_tenant(system)
    system.execute(pa, "add_branch", {"name": "Feb", "city": "Košice"}, at=datetime(2026, 2, 3, tzinfo=UTC))
    lo = us(datetime(2026, 2, 1, tzinfo=UTC))
    hi = us(datetime(2026, 3, 1, tzinfo=UTC))
    rows = system.store.recorder.read_rows(0, 100, tenant_id=a, at_from_us=lo, at_to_us=hi)
    assert [r.topic.rpartition(":")[2] for r in rows] == ["BranchAdded"]


def test_hash_chain_verifies_and_detects_tampering(system: System) -> None:
    a, pa = make_tenant(system)
    for i in range(3):
        system.execute(pa, "add_branch", {"name": f"B{i}", "city": "Žilina"}, at=T0)
    report = hashchain.verify(a, system.store.recorder.chain_rows(a))
    assert report.ok
    assert report.events_checked == 5
    rows = list(system.store.recorder.chain_rows(a))
    nid, oid, v, topic, at_us, state, chain = rows[2]
    tampered = [*rows[:2], (nid, oid, v, topic, at_us, state.replace(b"B0", b"B9"), chain), *rows[3:]]
    bad = hashchain.verify(a, iter(tampered))
    assert not bad.ok
    assert bad.first_bad_notification_id == nid


def test_create_with_same_id_is_a_noop_and_other_args_conflict(system: System) -> None:
    _, p = make_tenant(system)
    bid = str(uuid.uuid4())
    first = system.execute(p, "add_branch", {"id": bid, "name": "Centrum", "city": "Tartu"}, at=T0)
    again = system.execute(p, "add_branch", {"id": bid, "name": "Centrum", "city": "Tartu"}, at=T0 + timedelta(hours=1))
    assert again == first
    with pytest.raises(Conflict) as e:
        system.execute(p, "add_branch", {"id": bid, "name": "Other", "city": "Tartu"}, at=T0)
    assert e.value.code == "duplicate_id"


def test_idempotency_key_returns_first_answer_and_writes_nothing(system: System) -> None:
    a, p = make_tenant(system)
    first = system.execute(p, "add_branch", {"name": "X", "city": "Riga"}, at=T0, idempotency_key="k-1")
    before = len(system.store.recorder.read_rows(0, 1000, tenant_id=a))
    again = system.execute(p, "add_branch", {"name": "X", "city": "Riga"}, at=T0, idempotency_key="k-1")
    assert again == first
    assert len(system.store.recorder.read_rows(0, 1000, tenant_id=a)) == before
    with pytest.raises(Conflict) as e:
        system.execute(p, "add_branch", {"name": "Y", "city": "Riga"}, at=T0, idempotency_key="k-1")
    assert e.value.code == "idempotency_key_reused"


def test_bad_args_are_refused_and_change_nothing(system: System) -> None:
    _, p = make_tenant(system)
    before = system.store.recorder.max_notification_id()
    with pytest.raises(Invalid) as e:
        system.execute(p, "add_branch", {"name": "X", "city": "Riga", "extra": 1}, at=T0)
    assert e.value.code == "invalid_args"
    with pytest.raises(Invalid):
        system.execute(p, "define_lesson_type", {"code": "group", "name": "G", "single_visit_price": 12.5}, at=T0)
    with pytest.raises(Invalid):
        system.execute(p, "define_lesson_type", {"code": "group", "name": "G", "single_visit_price": "1e3"}, at=T0)
    assert system.store.recorder.max_notification_id() == before


def test_roles_are_enforced(system: System) -> None:
    a, _ = make_tenant(system)
    clerk = Principal(a, uuid.uuid4(), "Accountant", "accountant")
    with pytest.raises(Forbidden):
        system.execute(clerk, "add_branch", {"name": "X", "city": "Riga"}, at=T0)
    admin = Principal(a, uuid.uuid4(), "Front desk", "admin")
    with pytest.raises(Forbidden):
        system.execute(admin, "add_branch", {"name": "X", "city": "Riga"}, at=T0)


def test_monotonic_clock_rejects_the_past(system: System) -> None:
    _, p = make_tenant(system)
    system.execute(p, "add_branch", {"name": "X", "city": "Riga"}, at=T0 + timedelta(days=1))
    with pytest.raises(Conflict) as e:
        system.execute(p, "add_branch", {"name": "Y", "city": "Riga"}, at=T0, monotonic_clock=True)
    assert e.value.code == "clock_behind"


def test_concurrent_writers_on_one_aggregate_lose_and_double_nothing(system: System) -> None:
    a, p = make_tenant(system)
    n = 24
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            system.app.execute(p, "add_branch", {"name": f"Branch {i}", "city": "Tallinn"}, at=T0)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    tenant = system.app.get(a)
    assert sorted(b.name for b in tenant.branches.values()) == sorted(f"Branch {i}" for i in range(n))
    versions = [r.originator_version for r in system.store.recorder.read_rows(0, 1000, tenant_id=a) if r.originator_id == a]
    assert versions == list(range(1, n + 3))


def test_projection_runner_applies_each_event_once(system: System, database_url: str) -> None:
    make_tenant(system)
    other = System.open(database_url)  # a second process's view of the same database
    try:
        system.runner.catch_up()
        # everything is applied already: the second runner finds nothing to do
        assert other.runner.catch_up() == 0
        positions = system.runner.positions()
        head = system.store.recorder.max_notification_id()
        assert positions["keys"] == head
        with system.store.db.read() as tx:
            (count,) = tx.one(f"SELECT COUNT(*) FROM {system.view(StaffKeys).t('keys')}")
        assert count == 1
    finally:
        other.close()


def test_a_save_that_committed_but_reported_a_conflict_is_answered_from_what_is_stored(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a failover a save can raise a uniqueness error for events that were in fact
    stored. The pipeline must answer from the stored record, not report a failure, and
    must not record the command twice."""
    from eventsourcing.persistence import IntegrityError

    a, p = make_tenant(system)
    recorder = system.store.recorder
    writer = system.app.writer
    real_write = writer.write
    calls = {"n": 0}

    def commit_then_fail(write):
        calls["n"] += 1
        result = real_write(write)
        if calls["n"] == 1:
            raise IntegrityError("duplicate key value violates unique constraint (after failover)")
        return result

    monkeypatch.setattr(writer, "write", commit_then_fail)
    before = len(recorder.read_rows(0, 1000, tenant_id=a))
    answer = system.app.execute(p, "add_branch", {"name": "Po výpadku", "city": "Nitra"}, at=T0)
    assert answer["ok"] is True
    assert calls["n"] == 1  # answered from the log, not decided and written again
    rows = recorder.read_rows(0, 1000, tenant_id=a)
    assert len(rows) == before + 1
    assert [b.name for b in system.app.get(a).branches.values()] == ["Po výpadku"]
