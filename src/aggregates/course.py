"""Courses and groups (DOMAIN §3.1). The group owns its capacity: seats and waitlist."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from classledger.aggregates.base import Aggregate, Event, Immutable, Meta
from classledger.aggregates.errors import Conflict, Invalid


class Course(Aggregate):
    name: str
    lesson_type: str


class CourseCreated(Event):
    name: str
    lesson_type: str

    def apply(self, state: Any) -> Course:
        return self.birth(Course, name=self.name, lesson_type=self.lesson_type)


class Slot(Immutable):
    weekday: int  # 0 = Monday
    starts_at: str  # HH:MM, tenant-local
    minutes: int


class Seat(Immutable):
    registration_id: UUID
    client_id: UUID


class GroupLesson(Immutable):
    """A lesson planned for the group (DOMAIN §7.3): its members are booked on it."""

    lesson_id: UUID
    starts_at: datetime


class Group(Aggregate):
    course_id: UUID
    branch_id: UUID
    name: str
    capacity: int
    starts_on: date
    ends_on: date
    schedule: tuple[Slot, ...] = ()
    seats: tuple[Seat, ...] = ()
    queue: tuple[Seat, ...] = ()  # the waitlist, oldest first
    lessons: tuple[GroupLesson, ...] = ()  # by start

    def phase(self, day: date) -> str:
        """running on days starts_on..ends_on, future before, ended after (DOMAIN §3.1)."""
        return "future" if day < self.starts_on else "ended" if day > self.ends_on else "running"

    @property
    def full(self) -> bool:
        return len(self.seats) >= self.capacity

    def holds(self, client_id: UUID) -> bool:
        return any(s.client_id == client_id for s in (*self.seats, *self.queue))

    def seated(self, registration_id: UUID) -> bool:
        return any(s.registration_id == registration_id for s in self.seats)

    def queued(self, registration_id: UUID) -> bool:
        return any(s.registration_id == registration_id for s in self.queue)


class GroupCreated(Event):
    course_id: UUID
    branch_id: UUID
    name: str
    capacity: int
    starts_on: date
    ends_on: date
    schedule: tuple[Slot, ...] = ()

    def apply(self, state: Any) -> Group:
        return self.birth(Group, course_id=self.course_id,
                     branch_id=self.branch_id, name=self.name, capacity=self.capacity, starts_on=self.starts_on,
                     ends_on=self.ends_on, schedule=self.schedule)


class GroupSeatTaken(Event):
    registration_id: UUID
    client_id: UUID

    def apply(self, state: Group) -> Group:
        return self.evolve(state, seats=(*state.seats, Seat(registration_id=self.registration_id, client_id=self.client_id)))


class GroupSeatReleased(Event):
    registration_id: UUID

    def apply(self, state: Group) -> Group:
        return self.evolve(state, seats=tuple(s for s in state.seats if s.registration_id != self.registration_id))


class GroupWaitlistJoined(Event):
    registration_id: UUID
    client_id: UUID

    def apply(self, state: Group) -> Group:
        return self.evolve(state, queue=(*state.queue, Seat(registration_id=self.registration_id, client_id=self.client_id)))


class GroupWaitlistLeft(Event):
    registration_id: UUID

    def apply(self, state: Group) -> Group:
        return self.evolve(state, queue=tuple(s for s in state.queue if s.registration_id != self.registration_id))


class GroupLessonsScheduled(Event):
    lessons: tuple[GroupLesson, ...]

    def apply(self, state: Group) -> Group:
        merged = sorted((*state.lessons, *self.lessons), key=lambda g: (g.starts_at, str(g.lesson_id)))
        return self.evolve(state, lessons=tuple(merged))


def check_gives(course: Course, lesson_type: str) -> None:
    """A group's lessons are of its course's lesson type (DOMAIN §7.3)."""
    if course.lesson_type != lesson_type:
        raise Invalid("lesson_type_mismatch", f"the group's course gives {course.lesson_type} lessons",
                      lesson_type=course.lesson_type)


def lessons_scheduled(group: Group, meta: Meta, lessons: Sequence[GroupLesson]) -> list[Event]:
    """The group keeps its lessons, so a plan and a registration racing on it meet (DOMAIN §7.3)."""
    return [GroupLessonsScheduled.next(group, meta, lessons=tuple(lessons))]


def create_course(course_id: UUID, meta: Meta, name: str, lesson_type: str) -> list[Event]:
    return [CourseCreated.make(meta, course_id, 1, name=name, lesson_type=lesson_type)]


def create_group(group_id: UUID, meta: Meta, *, course_id: UUID, branch_id: UUID, name: str, capacity: int,
                 starts_on: date, ends_on: date, schedule: tuple[Slot, ...]) -> list[Event]:
    if capacity < 1:
        raise Invalid("invalid_capacity", "a group has room for at least one client")
    if ends_on < starts_on:
        raise Invalid("invalid_term", "a group ends on or after the day it starts")
    for s in schedule:
        if not 0 <= s.weekday <= 6 or not 1 <= s.minutes <= 24 * 60 or not _hhmm(s.starts_at):
            raise Invalid("invalid_schedule", "a slot is a weekday 0-6, a start HH:MM and 1-1440 minutes")
    return [GroupCreated.make(meta, group_id, 1, course_id=course_id, branch_id=branch_id, name=name, capacity=capacity,
                              starts_on=starts_on, ends_on=ends_on, schedule=schedule)]


def _hhmm(text: str) -> bool:
    h, sep, m = text.partition(":")
    return bool(sep) and h.isdigit() and m.isdigit() and len(m) == 2 and 0 <= int(h) < 24 and 0 <= int(m) < 60


def admit(group: Group, meta: Meta, registration_id: UUID, client_id: UUID) -> Event:
    """A seat if one is free, else the end of the waitlist (DOMAIN §3.2)."""
    if group.full:
        return GroupWaitlistJoined.next(group, meta, registration_id=registration_id, client_id=client_id)
    return GroupSeatTaken.next(group, meta, registration_id=registration_id, client_id=client_id)


def release(group: Group, meta: Meta, registration_id: UUID) -> Event:
    if group.seated(registration_id):
        return GroupSeatReleased.next(group, meta, registration_id=registration_id)
    if group.queued(registration_id):
        return GroupWaitlistLeft.next(group, meta, registration_id=registration_id)
    raise Conflict("not_in_group", "this registration holds no place in the group")
