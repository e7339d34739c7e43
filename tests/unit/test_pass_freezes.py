"""Freezes moving a pass (DOMAIN §2.4, §4.6), on the pure functions, against a reference
that counts calendar days one by one with sets.

The rule (docs/accounting.md, pass lifecycle): a pass is paused on a day when any holder
is frozen, and each calendar day moves it at most once. A freeze moves the end by its days
inside the validity as it stands then (the moving validity) that no earlier freeze which
moved the pass covered; a freeze that moved the pass is kept on it whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import cast

from hypothesis import given
from hypothesis import strategies as st

from classledger.aggregates.base import Event, Meta, project
from classledger.aggregates.passes import (
    Pass,
    PassSold,
    PassValidityChanged,
    Pause,
    pause,
    paused_at_sale,
    unpaused_days,
)

FROM = date(2026, 3, 1)
META = Meta(tenant_id=uuid.uuid4(), at=datetime(2026, 3, 1, 9, tzinfo=UTC), actor="test")

Period = tuple[date, date]


def days_of(start: date, end: date) -> set[date]:
    return {start + timedelta(days=k) for k in range((end - start).days + 1)}


def reference(valid_from: date, valid_until: date, freezes: Iterable[Period]) -> date:
    """The rule, one day at a time: a day moves the pass when a freeze covering it is met
    while the day is inside the validity and no freeze that moved the pass covered it. The
    days so counted resume after the end, on days no freeze met so far covers (the pass is
    paused, not lengthened); a freeze the end moves over has moved the pass too."""
    covered: set[date] = set()
    met: list[set[date]] = []
    for start, end in freezes:
        days = days_of(start, end)
        met.append(days)
        new = {d for d in days if valid_from <= d <= valid_until} - covered
        if not new:
            continue
        covered |= days
        left = len(new)
        while left:
            valid_until += timedelta(days=1)
            over = [m for m in met if valid_until in m]
            for m in over:
                covered |= m
            if not over:
                left -= 1
    return valid_until


def a_pass(valid_until: date, paused: tuple[Pause, ...] = ()) -> Pass:
    sold = PassSold.make(META, uuid.uuid4(), 1, template_id=None, branch_id=uuid.uuid4(), city="Tallinn",
                         lesson_type="group", price=12000, discount=0, paid=0, unit=1200, value=12000,
                         payment="on_credit", remaining=10, lessons_total=10, valid_from=FROM,
                         valid_until=valid_until, client_ids=(uuid.uuid4(), uuid.uuid4()), paused=paused)
    p = project(None, [sold])
    assert isinstance(p, Pass)
    return p


def freeze_all(p: Pass, freezes: Iterable[Period]) -> Pass:
    """Each freeze recorded in turn, as ``move_passes_for_freeze`` does for every holder
    (with the holders' freezes recorded so far, this one included)."""
    recorded: list[Period] = []
    for start, end in freezes:
        recorded.append((start, end))
        p = project(p, pause(p, META, start, end, recorded))
    return p


periods = st.tuples(st.integers(-20, 120), st.integers(0, 40)).map(
    lambda t: (FROM + timedelta(days=t[0]), FROM + timedelta(days=t[0] + t[1])))


def test_overlapping_freezes_of_two_holders_move_by_the_distinct_days() -> None:
    """The reported case: 1–10 March and 5–15 March over a pass valid all March: 15 days, not 21."""
    p = freeze_all(a_pass(date(2026, 3, 31)), [(date(2026, 3, 1), date(2026, 3, 10)),
                                               (date(2026, 3, 5), date(2026, 3, 15))])
    assert p.valid_until == date(2026, 4, 15)
    assert p.version == 3  # sale, then one move per freeze


def test_the_same_days_frozen_twice_move_once() -> None:
    p = freeze_all(a_pass(date(2026, 3, 31)), [(date(2026, 3, 1), date(2026, 3, 10))] * 2)
    assert p.valid_until == date(2026, 4, 10)
    assert p.version == 2  # the second freeze emits nothing: there was nothing to move


def test_days_paused_at_sale_do_not_move_the_pass_again() -> None:
    until, paused = paused_at_sale(FROM, date(2026, 3, 31), [(date(2026, 3, 1), date(2026, 3, 10))])
    assert (until, paused) == (date(2026, 4, 10), (Pause(start=date(2026, 3, 1), end=date(2026, 3, 10)),))
    assert freeze_all(a_pass(until, paused), [(date(2026, 3, 3), date(2026, 3, 4))]).valid_until == until


def test_unpaused_days_counts_each_day_once_however_many_periods_cover_it() -> None:
    paused = (Pause(start=date(2026, 3, 5), end=date(2026, 3, 9)), Pause(start=date(2026, 3, 1), end=date(2026, 3, 6)),
              Pause(start=date(2026, 3, 20), end=date(2026, 3, 20)))
    assert unpaused_days(paused, date(2026, 3, 1), date(2026, 3, 31)) == 31 - 9 - 1
    assert unpaused_days(paused, date(2026, 3, 10), date(2026, 3, 9)) == 0


@given(st.lists(periods, max_size=8), st.integers(1, 90))
def test_the_move_is_the_reference(freezes: list[Period], validity: int) -> None:
    """Any freezes of any holders, in any order: the pass ends where the day-by-day reference says."""
    start = a_pass(FROM + timedelta(days=validity - 1))
    p = freeze_all(start, freezes)
    assert p.valid_until == reference(start.valid_from, start.valid_until, freezes)
    # The events say the move (their frozen days add up to it), and it never exceeds the
    # distinct frozen days: no calendar day counted twice.
    moved = (p.valid_until - start.valid_until).days
    assert moved == sum(frozen_days(start, freezes))
    assert moved <= len(set().union(*(days_of(*f) for f in freezes)))


def frozen_days(p: Pass, freezes: Iterable[Period]) -> list[int]:
    """The ``frozen_days`` of the events the freezes emit, in turn."""
    out, recorded = [], []
    for start, end in freezes:
        recorded.append((start, end))
        events = pause(p, META, start, end, recorded)
        out += [e.frozen_days for e in events if isinstance(e, PassValidityChanged)]
        p = project(p, events)
    return out


@given(st.lists(periods, max_size=8), st.integers(1, 90))
def test_freezes_inside_the_validity_move_it_by_their_distinct_days(freezes: list[Period], validity: int) -> None:
    """When every frozen day lies in the validity sold, the order of the freezes does not matter:
    the pass moves by the number of distinct frozen days, whoever was frozen on them (the bug
    moved it by the sum of the periods)."""
    until = FROM + timedelta(days=validity - 1)
    inside = [(max(s, FROM), min(e, until)) for s, e in freezes if s <= until and e >= FROM]
    distinct = len(set().union(*(days_of(*f) for f in inside)))
    assert freeze_all(a_pass(until), inside).valid_until == until + timedelta(days=distinct)
    assert freeze_all(a_pass(until), reversed(inside)).valid_until == until + timedelta(days=distinct)
    assert paused_at_sale(FROM, until, inside)[0] == until + timedelta(days=distinct)


@given(st.lists(periods, max_size=8), st.integers(1, 90))
def test_a_sale_into_freezes_is_the_freezes_met_in_date_order(freezes: list[Period], validity: int) -> None:
    """§2.4: selling into recorded freezes ends where recording them after the sale, in date
    order, would; and a sibling frozen again on any of those days later moves nothing."""
    until = FROM + timedelta(days=validity - 1)
    moved, paused = paused_at_sale(FROM, until, freezes)
    after = freeze_all(a_pass(until), sorted(set(freezes)))
    assert (moved, paused) == (after.valid_until, after.paused)
    assert moved == reference(FROM, until, sorted(set(freezes)))
    again = freeze_all(a_pass(moved, paused), [(q.start, q.end) for q in paused])
    assert again.valid_until == moved


def test_stored_v1_events_load_without_pauses() -> None:
    """Facts are never rewritten: a sale and a freeze stored before v2 (no ``paused``, no
    ``class_version``) are upcast on read and load with no pause recorded; new ones carry v2."""
    from dataclasses import replace

    from eventsourcing.persistence import StoredEvent

    from classledger.store.codec import OrjsonTranscoder, PydanticMapper

    codec = OrjsonTranscoder()
    mapper = PydanticMapper(transcoder=codec)
    sold, paused = paused_at_sale(FROM, date(2026, 3, 31), [(date(2026, 3, 1), date(2026, 3, 2))])
    p = a_pass(sold, paused)
    history = [*_history_of(p), *pause(p, META, date(2026, 3, 1), date(2026, 3, 10))]
    stored = [mapper.to_stored_event(e) for e in history]
    assert all(codec.decode(row.state)["class_version"] == 2 for row in stored)

    def as_v1(state: dict[str, object]) -> dict[str, object]:
        del state["class_version"], state["paused"]
        return state

    def load(rows: list[StoredEvent]) -> Pass:
        p = project(None, (cast(Event, mapper.to_domain_event(r)) for r in rows))
        assert isinstance(p, Pass)
        return p

    v1 = [replace(row, state=codec.encode(as_v1(codec.decode(row.state)))) for row in stored]
    old = load(v1)
    assert (old.valid_until, old.paused) == (date(2026, 4, 10), ())  # both moves kept; the periods unknown
    new = load(stored)
    assert (new.valid_until, new.paused) == (date(2026, 4, 10), (
        Pause(start=date(2026, 3, 1), end=date(2026, 3, 2)), Pause(start=date(2026, 3, 1), end=date(2026, 3, 10))))


def _history_of(p: Pass) -> list[PassSold]:
    """The sale that made ``p`` (``a_pass`` folds it away)."""
    return [PassSold.make(META, p.id, 1, template_id=None, branch_id=p.branch_id, city=p.city,
                          lesson_type=p.lesson_type, price=p.price, discount=p.discount, paid=p.paid, unit=p.unit,
                          value=p.value, payment=p.payment, remaining=p.remaining, lessons_total=p.lessons_total,
                          valid_from=p.valid_from, valid_until=p.valid_until, client_ids=p.client_ids,
                          paused=p.paused)]
