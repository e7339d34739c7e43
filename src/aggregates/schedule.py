"""Where and by whom lessons are given (DOMAIN §7.4): rooms, instructors, opening hours.

A room belongs to a branch and holds one lesson at a time; an instructor teaches one lesson
at a time. Each owns its timetable (the time slots it is taken), so "never double-booked"
is an invariant of one aggregate, kept by optimistic concurrency when two plans race. A
branch's opening hours are a weekly table of opening intervals plus closed days; a lesson
must lie inside one interval of its day. A branch that never set its hours is open at any
time: the rule applies once the school records them.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid5

from classledger.aggregates.base import Aggregate, Event, Immutable, Meta
from classledger.aggregates.errors import Conflict, Invalid
from classledger.aggregates.recurrence import WEEKDAYS, Weekday, parse_hhmm

MAX_LESSON = timedelta(hours=24)


class Slot(Immutable):
    """One lesson's time on a room's or an instructor's timetable (UTC instants)."""

    lesson_id: UUID
    starts_at: datetime
    ends_at: datetime


class Timetable(Immutable):
    """Taken slots, ordered by start; at most one lesson at any instant."""

    slots: tuple[Slot, ...] = ()

    def clash(self, starts_at: datetime, ends_at: datetime) -> Slot | None:
        """The slot that overlaps ``[starts_at, ends_at)``, if any (no lesson lasts > 24 h)."""
        i = bisect_left(self.slots, ends_at, key=_start)
        while i > 0:
            i -= 1
            s = self.slots[i]
            if s.ends_at > starts_at:
                return s
            if s.starts_at < starts_at - MAX_LESSON:
                break
        return None

    def taken(self, slots: Iterable[Slot]) -> Timetable:
        return Timetable(slots=tuple(sorted((*self.slots, *slots), key=_order)))

    def freed(self, lesson_ids: set[UUID]) -> Timetable:
        return Timetable(slots=tuple(s for s in self.slots if s.lesson_id not in lesson_ids))


def _start(s: Slot) -> datetime:
    return s.starts_at


def _order(s: Slot) -> tuple[datetime, int]:
    return s.starts_at, s.lesson_id.int


class Room(Aggregate):
    branch_id: UUID
    name: str
    capacity: int | None = None
    timetable: Timetable = Timetable()


class Instructor(Aggregate):
    name: str
    lesson_types: tuple[str, ...] = ()  # empty: teaches every type
    timetable: Timetable = Timetable()

    def teaches(self, lesson_type: str) -> bool:
        return not self.lesson_types or lesson_type in self.lesson_types


class RoomAdded(Event):
    branch_id: UUID
    name: str
    capacity: int | None = None

    def apply(self, state: Any) -> Room:
        return self.birth(Room, branch_id=self.branch_id, name=self.name, capacity=self.capacity)


class InstructorAdded(Event):
    name: str
    lesson_types: tuple[str, ...] = ()

    def apply(self, state: Any) -> Instructor:
        return self.birth(Instructor, name=self.name, lesson_types=self.lesson_types)


class TimeReserved(Event):
    """Lessons take slots of a room's or an instructor's timetable."""

    slots: tuple[Slot, ...]

    def apply(self, state: Room | Instructor) -> Room | Instructor:
        return self.evolve(state, timetable=state.timetable.taken(self.slots))


class TimeReleased(Event):
    """Cancelled lessons give their slots back."""

    lesson_ids: tuple[UUID, ...]

    def apply(self, state: Room | Instructor) -> Room | Instructor:
        return self.evolve(state, timetable=state.timetable.freed(set(self.lesson_ids)))


# ---- opening hours ----------------------------------------------------------------------


class Opening(Immutable):
    opens: time
    closes: time


class BranchHours(Aggregate):
    branch_id: UUID
    weekly: dict[Weekday, tuple[Opening, ...]] = {}
    closed_on: tuple[date, ...] = ()

    def closed(self, day: date) -> bool:
        return day in self.closed_on or not self.weekly.get(WEEKDAYS[day.weekday()])

    def admits(self, day: date, starts: time, minutes: int) -> bool:
        """Whether a lesson of ``minutes`` from wall-clock ``starts`` lies in one opening of ``day``."""
        if self.closed(day):
            return False
        begin = starts.hour * 60 + starts.minute
        end = begin + minutes
        return any(o.opens.hour * 60 + o.opens.minute <= begin
                   and end <= (o.closes.hour * 60 + o.closes.minute or 24 * 60)
                   for o in self.weekly[WEEKDAYS[day.weekday()]])


def hours_id(branch_id: UUID) -> UUID:
    return uuid5(branch_id, "opening-hours")


class BranchHoursSet(Event):
    branch_id: UUID
    weekly: dict[Weekday, tuple[Opening, ...]]
    closed_on: tuple[date, ...] = ()

    def apply(self, state: BranchHours | None) -> BranchHours:
        if state is None:
            return self.birth(BranchHours, branch_id=self.branch_id, weekly=self.weekly, closed_on=self.closed_on)
        return self.evolve(state, weekly=self.weekly, closed_on=self.closed_on)


# ---- decisions --------------------------------------------------------------------------


def add_room(room_id: UUID, meta: Meta, *, branch_id: UUID, name: str, capacity: int | None) -> list[Event]:
    if capacity is not None and capacity < 1:
        raise Invalid("invalid_capacity", "a room holds at least one client", capacity=capacity)
    return [RoomAdded.make(meta, room_id, 1, branch_id=branch_id, name=name, capacity=capacity)]


def check_room(room: Room, branch_id: UUID, capacity: int) -> None:
    """A lesson's room is one of its branch's, and holds the lesson's capacity (DOMAIN §7.2)."""
    if room.branch_id != branch_id:
        raise Invalid("room_not_in_branch", "the room belongs to another branch", room_id=str(room.id))
    if room.capacity is not None and capacity > room.capacity:
        raise Conflict("lesson_full", f"the room holds {room.capacity}; a lesson for {capacity} would overflow it",
                       room_capacity=room.capacity, capacity=capacity)


def check_instructor(instructor: Instructor, lesson_type: str) -> None:
    """A lesson's instructor teaches its lesson type (DOMAIN §7.1)."""
    if not instructor.teaches(lesson_type):
        raise Conflict("instructor_not_qualified", f"{instructor.name} does not teach {lesson_type}",
                       instructor_id=str(instructor.id), lesson_type=lesson_type)


def add_instructor(instructor_id: UUID, meta: Meta, *, name: str, lesson_types: Sequence[str]) -> list[Event]:
    return [InstructorAdded.make(meta, instructor_id, 1, name=name, lesson_types=tuple(dict.fromkeys(lesson_types)))]


def set_hours(state: BranchHours | None, meta: Meta, branch_id: UUID,
              weekly: dict[Weekday, list[tuple[str, str]]], closed_on: Sequence[date]) -> list[Event]:
    """Record a branch's weekly opening intervals ("HH:MM" to "HH:MM", 24:00 allowed as an
    end) and its closed days; a weekday left out is closed."""
    table: dict[Weekday, tuple[Opening, ...]] = {}
    for day, intervals in weekly.items():
        openings: list[Opening] = []
        for opens_text, closes_text in intervals:
            opens = parse_hhmm(opens_text, "opens")
            closes = time(0, 0) if closes_text == "24:00" else parse_hhmm(closes_text, "closes")
            end = closes.hour * 60 + closes.minute or 24 * 60
            if end <= opens.hour * 60 + opens.minute:
                raise Invalid("invalid_hours", f"on {day} an opening closes after it opens",
                              weekday=day, opens=opens_text, closes=closes_text)
            openings.append(Opening(opens=opens, closes=closes))
        openings.sort(key=lambda o: o.opens)
        for a, b in itertools.pairwise(openings):
            if (a.closes.hour * 60 + a.closes.minute or 24 * 60) > b.opens.hour * 60 + b.opens.minute:
                raise Invalid("invalid_hours", f"on {day} two openings overlap", weekday=day)
        if openings:
            table[day] = tuple(openings)
    closed = tuple(sorted(set(closed_on)))
    version = state.version + 1 if state else 1
    return [BranchHoursSet.make(meta, hours_id(branch_id), version, branch_id=branch_id, weekly=table,
                                closed_on=closed)]


def reserve(holder: Room | Instructor, meta: Meta, slots: Sequence[Slot], zone_day: Any) -> TimeReserved:
    """Take ``slots`` on a room's or an instructor's timetable, or refuse naming the first
    date that clashes (``room_booked`` / ``instructor_busy``). ``zone_day`` gives a slot's
    local date for the message."""
    ordered = sorted(slots, key=_order)
    for s, before in zip(ordered, [None, *ordered[:-1]], strict=True):  # the earliest clash is named
        other = holder.timetable.clash(s.starts_at, s.ends_at)
        if other is None and before is not None and before.ends_at > s.starts_at:
            other = before  # the plan's own lessons overlap
        if other is not None:
            code, what = (("room_booked", "the room") if isinstance(holder, Room)
                          else ("instructor_busy", "the instructor"))
            day = zone_day(s.starts_at)
            raise Conflict(code, f"{what} is taken on {day} by another lesson", date=day.isoformat(),
                           lesson_id=str(other.lesson_id), **{f"{type(holder).__name__.lower()}_id": str(holder.id)})
    return TimeReserved.next(holder, meta, slots=tuple(slots))


def release(holder: Room | Instructor, meta: Meta, lesson_ids: Sequence[UUID]) -> list[Event]:
    ids = {s.lesson_id for s in holder.timetable.slots} & set(lesson_ids)
    if not ids:
        return []
    return [TimeReleased.next(holder, meta, lesson_ids=tuple(i for i in lesson_ids if i in ids))]
