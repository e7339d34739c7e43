"""Rooms, instructors and opening hours as pure decisions (DOMAIN §7.2, §7.4)."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classledger.aggregates.base import Meta, project
from classledger.aggregates.course import (
    Course,
    Group,
    GroupLesson,
    check_gives,
    create_course,
    create_group,
    lessons_scheduled,
)
from classledger.aggregates.errors import Conflict, Forbidden, Invalid
from classledger.aggregates.lesson import (
    Booking,
    Lesson,
    book,
    check_audience,
    check_capacity,
    plan_dates,
    schedule,
)
from classledger.aggregates.recurrence import Repeat
from classledger.aggregates.registration import Credit, CreditGranted, use_makeup
from classledger.aggregates.schedule import (
    BranchHours,
    Instructor,
    Room,
    Slot,
    add_instructor,
    add_room,
    check_instructor,
    check_room,
    reserve,
    set_hours,
)

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Bratislava")
TENANT = uuid.uuid4()
META = Meta(tenant_id=TENANT, at=T0, actor="Jana")


def room() -> Room:
    return project(None, add_room(uuid.uuid4(), META, branch_id=uuid.uuid4(), name="A", capacity=12))  # type: ignore[no-any-return]


def slot(start_min: int, minutes: int) -> Slot:
    at = T0 + timedelta(minutes=start_min)
    return Slot(lesson_id=uuid.uuid4(), starts_at=at, ends_at=at + timedelta(minutes=minutes))


def day_of(instant: datetime) -> date:
    return instant.astimezone(ZONE).date()


def test_a_room_holds_one_lesson_at_a_time() -> None:
    r = room()
    r = reserve(r, META, [slot(0, 60)], day_of).apply(r)
    reserve(r, META, [slot(60, 30)], day_of)  # back to back is fine
    with pytest.raises(Conflict) as e:
        reserve(r, META, [slot(30, 60)], day_of)
    assert e.value.code == "room_booked"
    assert e.value.details["date"] == "2026-09-01"


def test_a_plan_clashing_with_itself_is_refused() -> None:
    with pytest.raises(Conflict):
        reserve(room(), META, [slot(0, 60), slot(30, 60)], day_of)


@given(st.lists(st.tuples(st.integers(0, 24 * 60 * 14), st.integers(1, 240)), max_size=40))
def test_no_room_is_ever_double_booked(plans: list[tuple[int, int]]) -> None:
    """Whatever is asked, what the room accepts never overlaps (DOMAIN §7.4)."""
    r = room()
    for start, minutes in plans:
        with contextlib.suppress(Conflict):
            r = reserve(r, META, [slot(start, minutes)], day_of).apply(r)
    taken = r.timetable.slots
    for a, b in itertools.pairwise(taken):
        assert a.ends_at <= b.starts_at


def hours() -> BranchHours:
    weekly = {d: [("08:00", "12:00"), ("13:00", "20:00")] for d in ("mon", "tue", "wed", "thu", "fri")}
    return project(None, set_hours(None, META, uuid.uuid4(), weekly, [date(2026, 9, 15)]))  # type: ignore[arg-type, no-any-return]


def test_opening_hours() -> None:
    h = hours()
    assert h.admits(date(2026, 9, 7), time(16, 0), 60)
    assert not h.admits(date(2026, 9, 7), time(11, 30), 60)  # runs into the lunch break
    assert not h.admits(date(2026, 9, 5), time(16, 0), 60)  # Saturday: not open
    assert not h.admits(date(2026, 9, 15), time(16, 0), 60)  # a closed day
    with pytest.raises(Invalid):
        set_hours(None, META, uuid.uuid4(), {"mon": [("10:00", "09:00")]}, [])
    with pytest.raises(Invalid):
        set_hours(None, META, uuid.uuid4(), {"mon": [("08:00", "12:00"), ("11:00", "14:00")]}, [])


def test_a_recurrence_skips_closed_days_and_a_one_off_on_one_is_refused() -> None:
    planned, skipped = plan_dates(date(2026, 9, 1), Repeat(every="week", until=date(2026, 9, 29)), time(16, 0), 45,
                                  ZONE, hours())
    assert skipped == [date(2026, 9, 15)]
    assert [p.day for p in planned] == [date(2026, 9, d) for d in (1, 8, 22, 29)]
    with pytest.raises(Conflict) as e:
        plan_dates(date(2026, 9, 15), None, time(16, 0), 45, ZONE, hours())
    assert e.value.code == "branch_closed"
    with pytest.raises(Conflict) as e:
        plan_dates(date(2026, 9, 1), Repeat(every="week", until=date(2026, 9, 29)), time(19, 30), 45, ZONE, hours())
    assert (e.value.code, e.value.details["date"]) == ("branch_closed", "2026-09-01")


def lesson(capacity: int, starts: datetime = T0 + timedelta(days=7)) -> Lesson:
    planned, _ = plan_dates(starts.astimezone(ZONE).date(), None, time(16, 0), 45, ZONE, None)
    (ev,) = schedule(META, [uuid.uuid4()], planned, series_id=uuid.uuid4(), branch_id=uuid.uuid4(), room_id=None,
                     instructor_id=None, group_id=None, lesson_type="group", at=time(16, 0), minutes=45,
                     capacity=capacity, bookings=[])
    return ev.apply(None)


def test_booking_refusals() -> None:
    one = lesson(1)
    client = uuid.uuid4()
    one = book(one, META, Booking(client_id=client), may_act_in_past=False)[0].apply(one)
    with pytest.raises(Conflict) as e:
        book(one, META, Booking(client_id=client), may_act_in_past=False)
    assert e.value.code == "already_on_lesson"
    with pytest.raises(Conflict) as e:
        book(one, META, Booking(client_id=uuid.uuid4()), may_act_in_past=False)
    assert e.value.code == "lesson_full"
    with pytest.raises(Invalid) as e:
        check_capacity(0, 0)
    assert e.value.code == "lesson_admits_nobody"
    past = lesson(5, T0 - timedelta(days=2))
    with pytest.raises(Forbidden) as e:
        book(past, META, Booking(client_id=client), may_act_in_past=False)
    assert e.value.code == "in_the_past"
    book(past, META, Booking(client_id=client), may_act_in_past=True)


@given(st.integers(1, 10), st.integers(0, 30))
def test_bookings_never_exceed_capacity(capacity: int, attempts: int) -> None:
    one = lesson(capacity)
    for _ in range(attempts):
        with contextlib.suppress(Conflict):
            one = book(one, META, Booking(client_id=uuid.uuid4()), may_act_in_past=False)[0].apply(one)
    assert len(one.bookings) == min(capacity, attempts)


def test_a_lessons_room_is_of_its_branch_and_holds_its_capacity() -> None:  # DOMAIN §7.2

    r = room()
    check_room(r, r.branch_id, 12)
    with pytest.raises(Invalid) as bad:
        check_room(r, uuid.uuid4(), 5)
    assert (bad.value.code, bad.value.details["room_id"]) == ("room_not_in_branch", str(r.id))
    with pytest.raises(Conflict) as full:
        check_room(r, r.branch_id, 13)
    assert (full.value.code, full.value.details) == ("lesson_full", {"room_capacity": 12, "capacity": 13})


def test_a_lessons_instructor_teaches_its_type() -> None:  # DOMAIN §7.1

    teacher: Instructor = project(None, add_instructor(uuid.uuid4(), META, name="Eva", lesson_types=["piano"]))
    check_instructor(teacher, "piano")
    with pytest.raises(Conflict) as e:
        check_instructor(teacher, "violin")
    assert (e.value.code, e.value.details["lesson_type"]) == ("instructor_not_qualified", "violin")


def test_a_lesson_is_for_a_group_or_for_named_clients() -> None:  # DOMAIN §7.2

    check_audience(uuid.uuid4(), [])
    check_audience(None, [uuid.uuid4()])
    with pytest.raises(Invalid) as e:
        check_audience(uuid.uuid4(), [uuid.uuid4()])
    assert e.value.code == "group_or_clients"


def test_a_groups_lessons_are_of_its_courses_type_and_the_group_keeps_them() -> None:  # DOMAIN §7.3

    course: Course = project(None, create_course(uuid.uuid4(), META, "Piano", "piano"))
    check_gives(course, "piano")
    with pytest.raises(Invalid) as e:
        check_gives(course, "violin")
    assert (e.value.code, e.value.details) == ("lesson_type_mismatch", {"lesson_type": "piano"})
    group: Group = project(None, create_group(uuid.uuid4(), META, course_id=course.id, branch_id=uuid.uuid4(),
                                              name="Tue", capacity=6, starts_on=date(2026, 9, 1),
                                              ends_on=date(2027, 6, 30), schedule=()))
    later, sooner = (GroupLesson(lesson_id=uuid.uuid4(), starts_at=T0 + timedelta(days=d)) for d in (7, 0))
    group = project(group, lessons_scheduled(group, META, [later, sooner]))
    assert [g.lesson_id for g in group.lessons] == [sooner.lesson_id, later.lesson_id]


def test_a_makeup_credit_books_a_lesson_of_its_type_for_its_own_client() -> None:  # DOMAIN §3.3

    client = uuid.uuid4()

    def credit(kind: str) -> Credit:
        granted = CreditGranted.make(META, uuid.uuid4(), 1, registration_id=uuid.uuid4(), client_id=client,
                                     kind=kind, expires_on=date(2026, 12, 31))
        return granted.apply(None)  # type: ignore[no-any-return]

    makeup = credit("makeup")
    (used,) = use_makeup(makeup, META, date(2026, 9, 2), client_id=client, gives="piano", lesson_type="piano")
    assert project(makeup, [used]).used
    for c, kwargs, code in (
        (makeup, {"client_id": uuid.uuid4(), "gives": "piano", "lesson_type": "piano"}, "credit_of_another_client"),
        (credit("coupon"), {"client_id": client, "gives": "piano", "lesson_type": "piano"}, "not_a_makeup"),
        (makeup, {"client_id": client, "gives": "piano", "lesson_type": "violin"}, "lesson_type_mismatch"),
    ):
        with pytest.raises(Conflict) as e:
            use_makeup(c, META, date(2026, 9, 2), **kwargs)  # type: ignore[arg-type]
        assert e.value.code == code
    with pytest.raises(Conflict) as spent:
        use_makeup(project(makeup, [used]), META, date(2026, 9, 2), client_id=client, gives="piano",
                   lesson_type="piano")
    assert spent.value.code == "credit_used"
