"""Scheduled lessons and who is booked on them (DOMAIN §7.2–§7.4).

A lesson is given at one place and time: a branch, optionally a room and an instructor,
a lesson type, a start on the tenant's wall clock and a length, and a capacity. Clients are
booked on it one by one, as a group's members (§7.3) or with a make-up credit (§3.3).
The lesson owns its seats, so two front desks booking the last seat meet optimistic
concurrency and exactly one wins. Cancelling a lesson keeps its bookings as history.

Each client also keeps the list of their booked lessons (``ClientLessons``), so archiving
(§2.5) finds every future booking to cancel without a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from classledger.aggregates.base import Aggregate, Event, Immutable, Meta
from classledger.aggregates.errors import Conflict, Forbidden, Invalid
from classledger.aggregates.recurrence import Repeat, local_instant, occurrences
from classledger.aggregates.schedule import BranchHours

UnbookReason = Literal["unbooked", "registration_cancelled", "transferred", "archived", "lesson_cancelled"]


class Booking(Immutable):
    client_id: UUID
    registration_id: UUID | None = None  # booked as a group's member (§7.3)
    credit_id: UUID | None = None  # booked with a make-up credit (§3.3)


class Mark(Immutable):
    """A booked client's attendance on the lesson (DOMAIN §7.1): the visit that records it."""

    client_id: UUID
    visit_id: UUID
    status: Literal["attended", "absent"]


class Lesson(Aggregate):
    branch_id: UUID
    room_id: UUID | None = None
    instructor_id: UUID | None = None
    group_id: UUID | None = None
    series_id: UUID  # the plan it came from: one id for every date of a recurrence
    lesson_type: str
    day: date  # the tenant's local date
    time: time  # the tenant's wall clock
    starts_at: datetime
    ends_at: datetime
    capacity: int
    bookings: tuple[Booking, ...] = ()
    marks: tuple[Mark, ...] = ()
    cancelled: bool = False

    def mark_of(self, client_id: UUID) -> Mark | None:
        return next((m for m in self.marks if m.client_id == client_id), None)

    def booked(self, client_id: UUID) -> Booking | None:
        return next((b for b in self.bookings if b.client_id == client_id), None)

    @property
    def full(self) -> bool:
        return len(self.bookings) >= self.capacity


class Planned(Immutable):
    """One date of a plan, with its instants."""

    day: date
    starts_at: datetime
    ends_at: datetime


class LessonScheduled(Event):
    branch_id: UUID
    room_id: UUID | None = None
    instructor_id: UUID | None = None
    group_id: UUID | None = None
    series_id: UUID
    lesson_type: str
    day: date
    time: time
    duration_min: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    bookings: tuple[Booking, ...] = ()

    def apply(self, state: Any) -> Lesson:
        return self.birth(Lesson, branch_id=self.branch_id, room_id=self.room_id, instructor_id=self.instructor_id,
                          group_id=self.group_id, series_id=self.series_id, lesson_type=self.lesson_type,
                          day=self.day, time=self.time, starts_at=self.starts_at, ends_at=self.ends_at,
                          capacity=self.capacity, bookings=self.bookings)


class LessonBooked(Event):
    booking: Booking

    def apply(self, state: Lesson) -> Lesson:
        return self.evolve(state, bookings=(*state.bookings, self.booking))


class LessonUnbooked(Event):
    client_id: UUID
    why: UnbookReason

    def apply(self, state: Lesson) -> Lesson:
        return self.evolve(state, bookings=tuple(b for b in state.bookings if b.client_id != self.client_id))


class LessonAttendanceMarked(Event):
    mark: Mark

    def apply(self, state: Lesson) -> Lesson:
        return self.evolve(state, marks=(*state.marks, self.mark))


class LessonAttendanceUnmarked(Event):
    client_id: UUID
    visit_id: UUID

    def apply(self, state: Lesson) -> Lesson:
        return self.evolve(state, marks=tuple(m for m in state.marks if m.visit_id != self.visit_id))


class LessonCancelled(Event):
    def apply(self, state: Lesson) -> Lesson:
        return self.evolve(state, cancelled=True)


# ---- a client's booked lessons ----------------------------------------------------------


class BookedLesson(Immutable):
    lesson_id: UUID
    starts_at: datetime
    group_id: UUID | None = None


class ClientLessons(Aggregate):
    client_id: UUID
    booked: tuple[BookedLesson, ...] = ()  # open bookings, by start


def client_lessons_id(client_id: UUID) -> UUID:
    return uuid5(client_id, "lessons")


class ClientLessonsBooked(Event):
    client_id: UUID
    lessons: tuple[BookedLesson, ...]

    def apply(self, state: ClientLessons | None) -> ClientLessons:
        if state is None:
            state = self.birth(ClientLessons, client_id=self.client_id)
            return state.model_copy(update={"booked": _by_start(self.lessons)})
        return self.evolve(state, booked=_by_start((*state.booked, *self.lessons)))


class ClientLessonsUnbooked(Event):
    client_id: UUID
    lesson_ids: tuple[UUID, ...]
    why: UnbookReason

    def apply(self, state: ClientLessons) -> ClientLessons:
        gone = set(self.lesson_ids)
        return self.evolve(state, booked=tuple(b for b in state.booked if b.lesson_id not in gone))


def _by_start(lessons: Sequence[BookedLesson]) -> tuple[BookedLesson, ...]:
    return tuple(sorted(lessons, key=lambda b: (b.starts_at, str(b.lesson_id))))


def client_booked(index: ClientLessons | None, meta: Meta, client_id: UUID,
                  lessons: Sequence[BookedLesson]) -> list[Event]:
    if not lessons:
        return []
    version = index.version + 1 if index else 1
    return [ClientLessonsBooked.make(meta, client_lessons_id(client_id), version, client_id=client_id,
                                     lessons=tuple(lessons))]


def client_unbooked(index: ClientLessons | None, meta: Meta, lesson_ids: Sequence[UUID],
                    why: UnbookReason) -> list[Event]:
    if index is None:
        return []
    held = {b.lesson_id for b in index.booked}
    ids = tuple(i for i in lesson_ids if i in held)
    if not ids:
        return []
    return [ClientLessonsUnbooked.next(index, meta, client_id=index.client_id, lesson_ids=ids, why=why)]


# ---- decisions --------------------------------------------------------------------------


def plan_dates(first: date, repeat: Repeat | None, at: time, minutes: int, zone: ZoneInfo,
               hours: BranchHours | None) -> tuple[list[Planned], list[date]]:
    """The dates of a plan with their instants, and the closed dates a recurrence skipped.

    A one-off lesson on a closed day is refused (``branch_closed``), and so is any date
    whose lesson would not lie inside the branch's opening hours (DOMAIN §7.2, §7.4).
    """
    if not 1 <= minutes <= 24 * 60:
        raise Invalid("invalid_duration", "a lesson lasts 1 to 1440 minutes", duration_min=minutes)
    planned: list[Planned] = []
    skipped: list[date] = []
    for day in occurrences(first, repeat):
        if hours is not None and hours.closed(day):
            if repeat is None:
                raise Conflict("branch_closed", f"the branch is closed on {day}", date=day.isoformat())
            skipped.append(day)
            continue
        if hours is not None and not hours.admits(day, at, minutes):
            raise Conflict("branch_closed", f"on {day} the lesson would run outside the branch's opening hours",
                           date=day.isoformat(), time=at.strftime("%H:%M"), duration_min=minutes)
        starts = local_instant(day, at, zone)
        planned.append(Planned(day=day, starts_at=starts, ends_at=starts + timedelta(minutes=minutes)))
    if not planned:
        raise Conflict("branch_closed", "the branch is closed on every date of this plan",
                       skipped=[d.isoformat() for d in skipped])
    return planned, skipped


def check_audience(group_id: UUID | None, client_ids: Sequence[UUID]) -> None:
    """A lesson is planned for a group or for named clients, not both (DOMAIN §7.2)."""
    if group_id is not None and client_ids:
        raise Invalid("group_or_clients", "a lesson is planned for a group or for named clients, not both")


def check_not_past(starts_at: datetime, day: date, meta: Meta, may_act_in_past: bool) -> None:
    """Only a regional director schedules or books in the past (DOMAIN §1.4)."""
    if starts_at < meta.at and not may_act_in_past:
        raise Forbidden("in_the_past", f"the lesson of {day} has already begun; only a regional director "
                        "schedules in the past", date=day.isoformat())


def check_capacity(capacity: int, booking: int) -> None:
    if capacity < 1:
        raise Invalid("lesson_admits_nobody", "a lesson with capacity 0 admits nobody", capacity=capacity)
    if booking > capacity:
        raise Conflict("lesson_full", f"{booking} clients would overflow a lesson for {capacity}",
                       capacity=capacity, booking=booking)


def schedule(meta: Meta, ids: Sequence[UUID], planned: Sequence[Planned], *, series_id: UUID, branch_id: UUID,
             room_id: UUID | None, instructor_id: UUID | None, group_id: UUID | None, lesson_type: str, at: time,
             minutes: int, capacity: int, bookings: Sequence[Booking]) -> list[Event]:
    check_capacity(capacity, len(bookings))
    if len({b.client_id for b in bookings}) != len(bookings):
        raise Conflict("already_on_lesson", "a client is named twice for the same lesson")
    return [LessonScheduled.make(meta, lesson_id, 1, branch_id=branch_id, room_id=room_id,
                                 instructor_id=instructor_id, group_id=group_id, series_id=series_id,
                                 lesson_type=lesson_type, day=p.day, time=at, duration_min=minutes,
                                 starts_at=p.starts_at, ends_at=p.ends_at, capacity=capacity,
                                 bookings=tuple(bookings))
            for lesson_id, p in zip(ids, planned, strict=True)]


def book(lesson: Lesson, meta: Meta, booking: Booking, *, may_act_in_past: bool) -> list[Event]:
    """Book one client on a lesson, or refuse (DOMAIN §7.2)."""
    if lesson.cancelled:
        raise Conflict("lesson_cancelled", "this lesson was cancelled", lesson_id=str(lesson.id))
    check_not_past(lesson.starts_at, lesson.day, meta, may_act_in_past)
    if lesson.booked(booking.client_id):
        raise Conflict("already_on_lesson", "the client is already booked on this lesson",
                       client_id=str(booking.client_id))
    if lesson.capacity < 1:
        raise Invalid("lesson_admits_nobody", "a lesson with capacity 0 admits nobody")
    if lesson.full:
        raise Conflict("lesson_full", f"all {lesson.capacity} places of this lesson are taken",
                       capacity=lesson.capacity)
    return [LessonBooked.next(lesson, meta, booking=booking)]


def unbook(lesson: Lesson, meta: Meta, client_id: UUID, why: UnbookReason) -> list[Event]:
    if lesson.booked(client_id) is None:
        raise Conflict("not_on_lesson", "the client is not booked on this lesson", client_id=str(client_id))
    return [LessonUnbooked.next(lesson, meta, client_id=client_id, why=why)]


def cancel(lesson: Lesson, meta: Meta) -> list[Event]:
    if lesson.cancelled:
        raise Conflict("lesson_cancelled", "this lesson is already cancelled", lesson_id=str(lesson.id))
    return [LessonCancelled.next(lesson, meta)]


def mark(lesson: Lesson, meta: Meta, client_id: UUID, visit_id: UUID,
         status: Literal["attended", "absent"]) -> list[Event]:
    """Attendance on a lesson is for a client booked on it, once (DOMAIN §7.1, §7.4)."""
    if lesson.cancelled:
        raise Conflict("lesson_cancelled", "this lesson was cancelled", lesson_id=str(lesson.id))
    if lesson.booked(client_id) is None:
        raise Conflict("not_on_lesson", "the client is not booked on this lesson", client_id=str(client_id))
    if lesson.mark_of(client_id) is not None:
        raise Conflict("already_marked", "this client's attendance on the lesson is already marked; "
                       "cancel that visit first", client_id=str(client_id))
    return [LessonAttendanceMarked.next(lesson, meta, mark=Mark(client_id=client_id, visit_id=visit_id,
                                                                  status=status))]


def unmark(lesson: Lesson, meta: Meta, client_id: UUID, visit_id: UUID) -> list[Event]:
    if not any(m.visit_id == visit_id for m in lesson.marks):
        return []
    return [LessonAttendanceUnmarked.next(lesson, meta, client_id=client_id, visit_id=visit_id)]
