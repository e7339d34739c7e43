"""Registrations as pure decisions (DOMAIN §3.1–§3.2): a seat or the waitlist, promotion of
the oldest waitlisted when a seat is freed, and what a transfer may do."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classledger.aggregates import course as co
from classledger.aggregates import registration as rg
from classledger.aggregates.base import Meta, project
from classledger.aggregates.course import Group
from classledger.aggregates.errors import Conflict, Invalid
from classledger.aggregates.registration import Registration

META = Meta(tenant_id=uuid.uuid4(), at=datetime(2026, 2, 10, 9, tzinfo=UTC), actor="Jana")
RUNNING = date(2026, 2, 10)
COURSE = uuid.uuid4()


def group(capacity: int, course_id: uuid.UUID | None = None) -> Group:
    events = co.create_group(uuid.uuid4(), META, course_id=course_id or COURSE, branch_id=uuid.uuid4(), name="G",
                             capacity=capacity, starts_on=date(2026, 2, 1), ends_on=date(2026, 6, 30), schedule=())
    return project(None, events)  # type: ignore[no-any-return]



def fill(g: Group, n: int) -> tuple[Group, list[Registration]]:
    regs = []
    for _ in range(n):
        events, _state = rg.register(g, META, uuid.uuid4(), uuid.uuid4(), RUNNING, late=False)
        g = events[0].apply(g)
        regs.append(events[1].apply(None))
    return g, regs


def test_a_full_group_waitlists() -> None:
    g, regs = fill(group(2), 3)
    assert [r.state for r in regs] == ["registered", "registered", "waitlist"]
    assert len(g.seats) == 2
    assert [s.registration_id for s in g.queue] == [regs[2].id]


def test_refusals_of_registering() -> None:
    g, regs = fill(group(2), 1)
    with pytest.raises(Conflict) as e:
        rg.register(g, META, uuid.uuid4(), regs[0].client_id, RUNNING, late=False)
    assert e.value.code == "already_registered"
    with pytest.raises(Conflict) as e:
        rg.register(g, META, uuid.uuid4(), uuid.uuid4(), date(2026, 7, 1), late=False)
    assert e.value.code == "group_ended"
    with pytest.raises(Invalid) as e:
        rg.register(g, META, uuid.uuid4(), uuid.uuid4(), date(2026, 1, 15), late=True)
    assert e.value.code == "not_running"
    _, late = rg.register(g, META, uuid.uuid4(), uuid.uuid4(), RUNNING, late=True)
    assert late == "late"


def test_leaving_a_seat_promotes_the_oldest_waitlisted() -> None:
    g, regs = fill(group(1), 3)
    events = rg.leave(g, META, regs[0], regs[1])
    assert [type(e).__name__ for e in events] == ["GroupSeatReleased", "GroupWaitlistLeft", "GroupSeatTaken",
                                                  "RegistrationPromoted"]
    g = project(g, events[:3])
    assert [s.registration_id for s in g.seats] == [regs[1].id]
    assert [s.registration_id for s in g.queue] == [regs[2].id]
    assert events[3].originator_id == regs[1].id
    # Leaving the waitlist frees no seat: nobody is promoted.
    assert [type(e).__name__ for e in rg.leave(g, META, regs[2], regs[2])] == ["GroupWaitlistLeft"]


def test_leave_needs_the_head_of_the_queue() -> None:
    g, regs = fill(group(1), 3)
    with pytest.raises(ValueError, match="head of the group's queue"):
        rg.leave(g, META, regs[0], regs[2])


def test_transfer_rules() -> None:
    source, regs = fill(group(3), 1)
    other_course = group(3, course_id=uuid.uuid4())
    with pytest.raises(Conflict) as e:
        rg.check_transfer(regs[0], source, RUNNING)
    assert e.value.code == "same_group"
    with pytest.raises(Conflict) as e:
        rg.check_transfer(regs[0], other_course, RUNNING)
    assert e.value.code == "different_course"
    full, _ = fill(group(1), 1)
    events, state = rg.transfer(regs[0], full, META, RUNNING)
    assert state == "waitlist"
    moved = events[1].apply(regs[0])
    assert moved.groups == (source.id, full.id)


@given(st.integers(1, 6), st.integers(0, 12), st.lists(st.integers(0, 11), max_size=12))
def test_seats_never_exceed_capacity_and_the_queue_moves_in_order(capacity: int, n: int, leaving: list[int]) -> None:
    g, regs = fill(group(capacity), n)
    by_id = {r.id: r for r in regs}
    gone: set[uuid.UUID] = set()
    for i in leaving:
        if not regs or regs[i % len(regs)].id in gone:
            continue
        r = regs[i % len(regs)]
        head = by_id[g.queue[0].registration_id] if g.queue else None
        queue_before = [s.registration_id for s in g.queue]
        had_seat = g.seated(r.id)
        g = project(g, [e for e in rg.leave(g, META, r, head) if e.originator_id == g.id])
        gone.add(r.id)
        if had_seat and queue_before:
            assert g.seated(queue_before[0])  # the oldest waitlisted took the seat
        assert len(g.seats) <= capacity
        assert not g.full or not g.queue or len(g.seats) == capacity


def index_of(regs: list[Registration]) -> rg.ClientRegistrations:
    """One client's open registrations (the index is per client; here it lists these)."""
    idx: rg.ClientRegistrations | None = None
    for r in regs:
        idx = project(idx, rg.index_opened(idx, META, r.client_id, r.id))
    assert idx is not None
    return idx


def test_cancelling_a_seat_promotes_the_oldest_waitlisted_and_closes_the_registration() -> None:  # DOMAIN §3.2
    g, regs = fill(group(1), 3)
    done = rg.cancel(regs[0], g, regs[1], index_of(regs), META)
    assert done.leaving.unseated
    assert done.leaving.promoted == regs[1]
    assert project(regs[0], done.cancelled[:1]).state == "cancelled"
    assert project(index_of(regs), done.cancelled[1:]).open == (regs[1].id, regs[2].id)
    waitlisted = rg.cancel(regs[2], g, regs[1], index_of(regs), META)  # from the waitlist: no seat freed
    assert (waitlisted.leaving.unseated, waitlisted.leaving.promoted) == (False, None)
    cancelled = project(regs[0], done.cancelled[:1])
    with pytest.raises(Conflict) as e:
        rg.cancel(cancelled, g, regs[1], index_of(regs), META)
    assert e.value.code == "registration_cancelled"


def test_a_move_leaves_one_group_and_takes_a_place_in_the_other() -> None:  # DOMAIN §3.2
    source, regs = fill(group(1), 2)
    target = group(2)
    done = rg.move(regs[0], source, regs[1], target, META, RUNNING)
    assert (done.state, done.leaving.promoted) == ("registered", regs[1])
    assert project(regs[0], done.placed[1:]).group_id == target.id
    with pytest.raises(Conflict) as e:
        rg.move(regs[0], source, regs[1], source, META, RUNNING)
    assert e.value.code == "same_group"


def test_grant_credit_rules() -> None:  # DOMAIN §3.3
    _, regs = fill(group(2), 1)
    with pytest.raises(Conflict) as e:
        rg.grant_credit(regs[0], META, uuid.uuid4(), RUNNING, kind="makeup", expires_on=date(2026, 2, 9), value=None)
    assert e.value.code == "credit_expired"
    (granted,) = rg.grant_credit(regs[0], META, uuid.uuid4(), RUNNING, kind="coupon", expires_on=RUNNING, value="5.00")
    credit: rg.Credit = granted.apply(None)
    assert (credit.client_id, credit.kind, credit.value) == (regs[0].client_id, "coupon", "5.00")
    cancelled = project(regs[0], [rg.RegistrationCancelled.next(regs[0], META)])
    with pytest.raises(Conflict) as e:
        rg.grant_credit(cancelled, META, uuid.uuid4(), RUNNING, kind="makeup", expires_on=RUNNING, value=None)
    assert e.value.code == "registration_cancelled"


@given(st.integers(1, 4), st.integers(1, 9), st.lists(st.integers(0, 8), max_size=9))
def test_cancellations_promote_in_queue_order_and_book_exactly_the_promoted(
        capacity: int, n: int, order: list[int]) -> None:  # DOMAIN §3.2, §7.3
    g, regs = fill(group(capacity), n)
    by_id = {r.id: r for r in regs}
    idx = index_of(regs)
    for i in order:
        if not regs:
            break
        r = by_id[regs[i % len(regs)].id]
        if r.state == "cancelled":
            continue
        head = by_id[g.queue[0].registration_id] if g.queue else None
        queue_before = [s.registration_id for s in g.queue]
        had_seat = g.seated(r.id)
        done = rg.cancel(r, g, head, idx, META)
        assert done.leaving.unseated == had_seat
        expected = by_id[queue_before[0]] if had_seat and queue_before else None
        assert done.leaving.promoted == expected
        g = project(g, [e for e in done.leaving.events if e.originator_id == g.id])
        for e in done.leaving.events + done.cancelled:
            if e.originator_id in by_id:
                by_id[e.originator_id] = e.apply(by_id[e.originator_id])
        idx = project(idx, done.cancelled[1:])
        assert len(g.seats) <= capacity
        assert set(idx.open) == {x.id for x in by_id.values() if x.state != "cancelled"}
        assert {s.registration_id for s in g.seats} == {x.id for x in by_id.values()
                                                          if x.state in ("registered", "late")}
