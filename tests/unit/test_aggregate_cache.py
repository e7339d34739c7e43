"""The aggregate cache is only ever behind the store by what a refresh will evict.

``AggregateCache`` (application/cache.py) replaces per-load fast-forwarding: it must never
serve a state older than the store's as of its last refresh, whatever order threads
report their loads and saves in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from classledger.aggregates.base import Aggregate
from classledger.application.cache import AggregateCache

AT = datetime(2026, 1, 1, tzinfo=UTC)
X, Y, Z = (uuid.UUID(int=i) for i in (1, 2, 3))


def state(aggregate_id: uuid.UUID, version: int) -> Aggregate:
    return Aggregate(id=aggregate_id, version=version, tenant_id=uuid.UUID(int=9), created_on=AT, modified_on=AT)


def changed(log: dict[int, uuid.UUID | tuple[uuid.UUID, int]]):  # type: ignore[no-untyped-def]
    """What the store answers: each aggregate written in the range, with its highest
    version there. An entry is an id (its version counts its entries in the log so far)
    or an explicit (id, version) for a history that began before the log shown."""

    def ids(after: int, upto: int) -> Iterable[tuple[uuid.UUID, int]]:
        latest: dict[uuid.UUID, int] = {}
        counts: dict[uuid.UUID, int] = {}
        for n in sorted(log):
            if n > upto:
                break
            entry = log[n]
            a, version = entry if isinstance(entry, tuple) else (entry, counts.get(entry, 0) + 1)
            counts[a] = version
            if n > after:
                latest[a] = version
        return latest.items()

    return ids


def test_a_foreign_write_is_evicted_at_the_next_refresh() -> None:
    cache = AggregateCache()
    cache.loaded(cache.ticket(), X, state(X, 1))
    cache.loaded(cache.ticket(), Y, state(Y, 1))
    # another process wrote X v2 as notification 1
    cache.refresh(1, changed({1: (X, 2)}))
    assert cache.lookup(X) == (False, None)
    assert cache.lookup(Y)[0]
    assert cache.head == 1


def test_own_contiguous_writes_move_the_head_so_nothing_is_read_back() -> None:
    cache = AggregateCache()
    cache.saved([state(X, 1)], 1, 1)
    cache.saved([state(X, 2), state(Y, 1)], 2, 3)
    assert cache.head == 3
    calls: list[tuple[int, int]] = []
    cache.refresh(3, lambda a, b: calls.append((a, b)) or [])
    assert calls == []  # the store's head is ours: not even the ids are read
    assert cache.lookup(X)[1] == state(X, 2)


def test_own_write_after_a_foreign_one_is_kept_and_only_the_foreign_one_evicted() -> None:
    cache = AggregateCache()
    cache.loaded(cache.ticket(), Y, state(Y, 1))
    cache.saved([state(X, 1)], 2, 2)  # notification 1 was someone else's
    assert cache.head == 0
    cache.refresh(2, changed({1: (Y, 2), 2: X}))
    assert cache.lookup(Y) == (False, None)
    assert cache.lookup(X)[1] == state(X, 1)  # ours: already at the version the log shows
    assert cache.head == 2


def test_two_processes_taking_turns_keep_their_own_states() -> None:
    # Two server processes pay alternately, each for its own client: A writes X, B writes
    # Y, A writes X again... A's refresh sees B's writes and never reloads X.
    cache = AggregateCache()
    log: dict[int, uuid.UUID] = {}
    for turn in range(1, 6):
        log[len(log) + 1] = Y  # B's write
        cache.refresh(len(log), changed(log))
        log[len(log) + 1] = X  # A's own
        cache.saved([state(X, turn)], len(log), len(log))
        assert cache.lookup(X)[1] == state(X, turn)


def test_a_foreign_write_to_a_cached_aggregate_evicts_it_even_after_an_own_save() -> None:
    cache = AggregateCache()
    cache.saved([state(X, 1)], 1, 1)
    cache.refresh(2, changed({1: X, 2: X}))  # another process wrote X v2
    assert cache.lookup(X) == (False, None)


def test_a_save_reported_after_a_refresh_passed_it_is_dropped() -> None:
    # Thread A commits X v2 as notification 5; another process then writes X v3 (6);
    # thread B refreshes to 6 before A reports its save: A's state must not come back.
    cache = AggregateCache()
    cache.refresh(6, changed({5: X, 6: X}))
    cache.saved([state(X, 2)], 5, 5)
    assert cache.lookup(X) == (False, None)


def test_a_load_that_raced_an_eviction_is_not_cached() -> None:
    cache = AggregateCache()
    ticket = cache.ticket()  # thread A starts loading X (reads v1 from the store)
    cache.refresh(1, changed({1: X}))  # meanwhile X v2 lands and a refresh evicts X
    cache.loaded(ticket, X, state(X, 1))
    assert cache.lookup(X) == (False, None)


def test_known_absence_is_cached_and_evicted_when_the_id_appears() -> None:
    cache = AggregateCache()
    cache.loaded(cache.ticket(), X, None)
    assert cache.lookup(X) == (True, None)
    cache.refresh(1, changed({1: X}))
    assert cache.lookup(X) == (False, None)


def test_an_older_state_never_replaces_a_newer_one() -> None:
    cache = AggregateCache()
    cache.saved([state(X, 3)], 1, 1)
    cache.loaded(cache.ticket(), X, state(X, 2))
    assert cache.lookup(X)[1] == state(X, 3)


def test_an_empty_cache_catches_up_without_reading_ids() -> None:
    cache = AggregateCache()
    ticket = cache.ticket()  # a load begun before the refresh
    cache.refresh(10_000, lambda a, b: (_ for _ in ()).throw(AssertionError("not read")))
    assert cache.head == 10_000
    cache.loaded(ticket, X, state(X, 1))
    assert not cache.lookup(X)[0]  # it may predate the head: dropped


def test_a_wide_gap_clears_everything() -> None:
    cache = AggregateCache()
    cache.loaded(cache.ticket(), X, state(X, 1))
    cache.refresh(10**6, lambda a, b: (_ for _ in ()).throw(AssertionError("not read")))
    assert len(cache) == 0


def test_the_cache_is_bounded() -> None:
    cache = AggregateCache(maxsize=2)
    for i in (X, Y, Z):
        cache.loaded(cache.ticket(), i, state(i, 1))
    assert len(cache) == 2
    assert not cache.lookup(X)[0]


# A model of one store and one process's cache: foreign writes, own saves reported in any
# order, loads that start before and finish after other steps. Whatever happens, after a
# refresh every cached state equals the store's.
ops = st.lists(
    st.one_of(
        st.tuples(st.just("foreign"), st.sampled_from([X, Y, Z])),
        st.tuples(st.just("own"), st.sampled_from([X, Y, Z])),
        st.tuples(st.just("report"), st.integers(0, 5)),
        st.tuples(st.just("load_start"), st.sampled_from([X, Y, Z])),
        st.tuples(st.just("load_end"), st.integers(0, 5)),
        st.tuples(st.just("refresh"), st.just(X)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_after_any_interleaving_a_refresh_leaves_only_current_states(steps: list[tuple[str, object]]) -> None:
    cache = AggregateCache()
    log: dict[int, uuid.UUID] = {}
    versions: dict[uuid.UUID, int] = {}
    unreported: list[tuple[Aggregate, int]] = []
    loads: list[tuple[object, uuid.UUID, Aggregate | None]] = []

    def write(a: uuid.UUID) -> tuple[Aggregate, int]:
        versions[a] = versions.get(a, 0) + 1
        n = len(log) + 1
        log[n] = a
        return state(a, versions[a]), n

    for kind, arg in steps:
        if kind == "foreign":
            write(arg)  # type: ignore[arg-type]
        elif kind == "own":
            unreported.append(write(arg))  # type: ignore[arg-type]
        elif kind == "report" and unreported:
            s, n = unreported.pop(int(arg) % len(unreported))  # type: ignore[call-overload]
            cache.saved([s], n, n)
        elif kind == "load_start":
            a = arg
            v = versions.get(a)  # type: ignore[call-overload]
            loads.append((cache.ticket(), a, state(a, v) if v else None))  # type: ignore[arg-type]
        elif kind == "load_end" and loads:
            t, a, s = loads.pop(int(arg) % len(loads))  # type: ignore[call-overload]
            cache.loaded(t, a, s)  # type: ignore[arg-type]
        elif kind == "refresh":
            cache.refresh(len(log), changed(log))
    cache.refresh(len(log), changed(log))
    for a in (X, Y, Z):
        hit, s = cache.lookup(a)
        if hit:
            expected = versions.get(a)
            assert (s.version if s else None) == expected, (a, s, expected)
