"""Aggregates with long histories load from a snapshot plus the events after it.

A client's account after 10,000 payments, or a pass with a year of visits, would
otherwise be replayed event by event whenever it is not in a process's cache (a fresh
server worker, or after another process wrote it). A snapshot must therefore give back
exactly the state the whole history folds to, for every kind of aggregate.
"""

from __future__ import annotations

import uuid

from classledger.aggregates.base import Snapshot, project
from classledger.demo import generate
from classledger.system import System


def _all_aggregate_ids(system: System) -> list[uuid.UUID]:
    rows = system.store.db.query("SELECT DISTINCT originator_id FROM events")
    return [r[0] if isinstance(r[0], uuid.UUID) else uuid.UUID(r[0]) for r in rows]


def test_every_aggregate_loads_the_same_from_its_snapshot_as_from_its_whole_history(system: System) -> None:
    system.app.snapshot_every = 3  # snapshot nearly everything the demo touches
    generate(system, clients=40, seed=11)
    app = system.app
    assert app.snapshots is not None
    ids = _all_aggregate_ids(system)
    kinds: set[str] = set()
    snapshotted = 0
    for aggregate_id in ids:
        history = list(app.events.get(aggregate_id))
        folded = project(None, history)
        if folded is None:
            continue
        loaded = app.repository.get(aggregate_id, projector_func=project)  # snapshot + tail
        assert loaded == folded, type(folded).__name__
        # ... and a snapshot taken now survives the store's own encoding.
        stored = app.mapper.to_stored_event(Snapshot.take(folded))
        assert app.mapper.to_domain_event(stored).apply(None) == folded
        if any(True for _ in app.snapshots.get(aggregate_id, limit=1)):
            snapshotted += 1
            kinds.add(type(folded).__name__)
    assert snapshotted > 40
    assert {"Client", "ClientAccount", "Pass"} <= kinds, kinds


def test_a_fresh_process_loads_a_long_account_from_its_snapshot(database_url: str) -> None:
    from classledger.application.principal import Principal
    from classledger.application.tenants import system_principal

    first = System.open(database_url)
    try:
        tid = uuid.uuid4()
        boss = Principal(tid, uuid.uuid4(), "Boss", "director")
        first.execute(system_principal(tid), "create_tenant", {"name": "S", "timezone": "Europe/Bratislava", "currency": "EUR"})
        branch = first.execute(boss, "add_branch", {"name": "B", "city": "Bratislava"})["id"]
        client = first.execute(boss, "register_client", {"name": "Platiteľ", "branch_id": branch})["id"]
        for _ in range(230):
            first.execute(boss, "receive_payment", {"client_id": client, "amount": "1.00", "method": "cash", "branch_id": branch})
    finally:
        first.close()
    second = System.open(database_url)
    try:
        from classledger.aggregates.books import account_id

        account = account_id(uuid.UUID(client))
        assert second.app.snapshots is not None
        snapshot = next(iter(second.app.snapshots.get(account, desc=True, limit=1)))
        assert snapshot.originator_version == 200
        tail = list(second.app.events.get(account, gt=snapshot.originator_version))
        assert len(tail) == 30  # what a cold load reads, not 230 events
        assert second.app.get(account) == project(None, second.app.events.get(account))
        second.execute(boss, "receive_payment", {"client_id": client, "amount": "1.00", "method": "cash", "branch_id": branch})
    finally:
        second.close()
