"""The projections' tracking records (projections/tracking.py): where each one stands."""

from __future__ import annotations

from classledger.projections import tracking
from classledger.projections.failures import FAILURES_DDL
from classledger.store.database import Store


def _setup(store: Store, positions: dict[str, int]) -> None:
    with store.db.write() as tx:
        tracking.create(tx)
        tx.execute(FAILURES_DDL)
        for key, at in positions.items():
            tracking.start(tx, key, 1)
            tracking.put(tx, key, at)


def _applied(store: Store) -> dict[str, int]:
    return {str(k): int(n) for k, n in store.db.query("SELECT name, events_applied FROM projection_positions")}


def test_a_claim_moves_all_or_nothing(store: Store) -> None:
    _setup(store, {"a": 5, "b": 5, "c": 4})
    with store.db.write() as tx:
        assert tracking.claim(tx, {"a": 2, "b": 1}, prev_head=5, last=7)
        assert not tracking.claim(tx, {"a": 2, "c": 1}, prev_head=7, last=9)  # c is behind: a is given back
    assert tracking.read(store.db) == {"a": 7, "b": 7, "c": 4}
    assert _applied(store) == {"a": 2, "b": 1, "c": 0}


def test_a_projection_stuck_for_a_tenant_is_never_claimed(store: Store) -> None:
    _setup(store, {"a": 5, "b": 5})
    with store.db.write() as tx:
        tx.execute("INSERT INTO projection_failures (name, tenant_id, notification_id, event_type, error, attempts) "
                   "VALUES ('b', 't', 3, 'ClientRegistered', 'KeyError', 1)")
        assert not tracking.claim(tx, {"a": 1, "b": 1}, prev_head=5, last=6)
    assert tracking.read(store.db) == {"a": 5, "b": 5}


def test_advance_never_moves_back_and_record_counts(store: Store) -> None:
    _setup(store, {"a": 3, "b": 9})
    with store.db.write() as tx:
        tracking.advance(tx, ["a", "b"], 6)
    assert tracking.read(store.db) == {"a": 6, "b": 9}
    with store.db.write() as tx:
        assert tracking.lock(tx, store.dialect, ["a"]) == {"a": 6}
        tracking.record(tx, [(12, 4, "a"), (12, 1, "b")])
        tracking.count(tx, "a", 2)
        assert tracking.position(tx, "a") == 12
    assert _applied(store) == {"a": 6, "b": 1}
    with store.db.write() as tx:
        tracking.forget(tx, "b")
        assert tracking.version(tx, "b") is None
        assert tracking.version(tx, "a") == 1
    assert tracking.read(store.db) == {"a": 12}
