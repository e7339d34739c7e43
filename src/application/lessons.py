"""The schedule's commands (DOMAIN §7.2–§7.4, API §8): rooms, instructors, opening hours,
planning lessons, booking clients on them and cancelling them.

A plan is all or nothing: every date is checked (opening hours, the room, the instructor,
the capacity, the past) before anything is written, and the first refusal names its date.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID, uuid5

from pydantic import Field

from classledger.aggregates import course as co
from classledger.aggregates import lesson as ls
from classledger.aggregates import registration as rg
from classledger.aggregates import schedule as sc
from classledger.aggregates.client import Client, writable
from classledger.aggregates.course import Course, Group, GroupLesson
from classledger.aggregates.lesson import BookedLesson, Booking, ClientLessons, Lesson
from classledger.aggregates.recurrence import WEEKDAYS, Repeat, Weekday, parse_hhmm
from classledger.aggregates.registration import Credit, Registration
from classledger.aggregates.schedule import BranchHours, Instructor, Room, Slot
from classledger.application import group_lessons
from classledger.application.fields import Day, Label
from classledger.application.registry import Args, Ctx, command

Name = Field(min_length=1, max_length=200)


def may_act_in_past(ctx: Ctx) -> bool:
    """Only a regional director schedules (and books) in the past (DOMAIN §1.4)."""
    return ctx.principal.at_least("regional_director")


def local_day(ctx: Ctx, instant: datetime) -> date:
    return instant.astimezone(ctx.tenant.zone).date()


class AddRoom(Args):
    id: UUID | None = None
    branch_id: UUID
    name: Label = Name
    capacity: int | None = Field(default=None, ge=1, le=10_000)


@command("add_room", AddRoom, need="director")
def add_room(ctx: Ctx, a: AddRoom) -> dict[str, Any]:
    """Add a room to a branch; it holds one lesson at a time (DOMAIN §7.4)."""
    ctx.tenant.branch(a.branch_id)
    room_id = ctx.new_id(a.id)
    ctx.emit(sc.add_room(room_id, ctx.meta, branch_id=a.branch_id, name=a.name, capacity=a.capacity))
    return {"id": room_id, "version": 1}


class AddInstructor(Args):
    id: UUID | None = None
    name: Label = Name
    lesson_types: list[str] = Field(default_factory=list, max_length=100)


@command("add_instructor", AddInstructor, need="director")
def add_instructor(ctx: Ctx, a: AddInstructor) -> dict[str, Any]:
    """Add an instructor and the lesson types they teach (none named: every type; DOMAIN §7.4)."""
    for code in a.lesson_types:
        ctx.tenant.lesson_type(code)
    instructor_id = ctx.new_id(a.id)
    ctx.emit(sc.add_instructor(instructor_id, ctx.meta, name=a.name, lesson_types=a.lesson_types))
    return {"id": instructor_id, "version": 1}


Interval = tuple[str, str]


class Weekly(Args):
    mon: list[Interval] = Field(default_factory=list, max_length=12)
    tue: list[Interval] = Field(default_factory=list, max_length=12)
    wed: list[Interval] = Field(default_factory=list, max_length=12)
    thu: list[Interval] = Field(default_factory=list, max_length=12)
    fri: list[Interval] = Field(default_factory=list, max_length=12)
    sat: list[Interval] = Field(default_factory=list, max_length=12)
    sun: list[Interval] = Field(default_factory=list, max_length=12)


class SetBranchHours(Args):
    branch_id: UUID
    weekly: Weekly
    closed_on: list[Day] = Field(default_factory=list, max_length=1000)


@command("set_branch_hours", SetBranchHours, need="director")
def set_branch_hours(ctx: Ctx, a: SetBranchHours) -> dict[str, Any]:
    """Set a branch's weekly opening hours and closed days; a weekday left out is closed (§7.4)."""
    ctx.tenant.branch(a.branch_id)
    hours_id = sc.hours_id(a.branch_id)
    weekly: dict[Weekday, list[tuple[str, str]]] = {
        day: list(getattr(a.weekly, day)) for day in WEEKDAYS if getattr(a.weekly, day)}
    (event,) = ctx.emit(sc.set_hours(ctx.find(BranchHours, hours_id), ctx.meta, a.branch_id, weekly, a.closed_on))
    return {"id": a.branch_id, "version": event.originator_version}


class RepeatArgs(Args):
    every: Literal["day", "week", "month"]
    interval: int = Field(default=1, ge=1, le=7)
    weekdays: list[Weekday] = Field(default_factory=list, max_length=7)
    until: Day


class ScheduleLessons(Args):
    id: UUID | None = None
    branch_id: UUID
    room_id: UUID | None = None
    instructor_id: UUID | None = None
    group_id: UUID | None = None
    client_ids: list[UUID] = Field(default_factory=list, max_length=1000)
    lesson_type: str
    starts_on: Day
    time: str
    duration_min: int = Field(ge=1, le=24 * 60)
    capacity: int = Field(ge=0, le=10_000)
    repeat: RepeatArgs | None = None


@command("schedule_lessons", ScheduleLessons)
def schedule_lessons(ctx: Ctx, a: ScheduleLessons) -> dict[str, Any]:
    """Plan a one-off or recurring lesson; every conflict is refused, nothing written (§7.2)."""
    tenant = ctx.tenant
    tenant.branch(a.branch_id)
    tenant.lesson_type(a.lesson_type)
    ls.check_audience(a.group_id, a.client_ids)
    at = parse_hhmm(a.time)
    room = _room(ctx, a.room_id, a.branch_id, a.capacity)
    instructor = _instructor(ctx, a.instructor_id, a.lesson_type)
    repeat = None if a.repeat is None else Repeat(**a.repeat.model_dump())
    hours = ctx.find(BranchHours, sc.hours_id(a.branch_id))
    planned, skipped = ls.plan_dates(a.starts_on, repeat, at, a.duration_min, tenant.zone, hours)
    ls.check_not_past(planned[0].starts_at, planned[0].day, ctx.meta, may_act_in_past(ctx))
    group = _group(ctx, a.group_id, a.lesson_type)
    if group is not None:
        bookings = [Booking(client_id=s.client_id, registration_id=s.registration_id) for s in group.seats]
    else:
        for client_id in a.client_ids:
            writable(ctx.get(Client, client_id))
        bookings = [Booking(client_id=i) for i in a.client_ids]
    series_id = ctx.new_id(a.id)
    ids = [uuid5(series_id, p.day.isoformat()) for p in planned]
    events = ls.schedule(ctx.meta, ids, planned, series_id=series_id, branch_id=a.branch_id, room_id=a.room_id,
                         instructor_id=a.instructor_id, group_id=a.group_id, lesson_type=a.lesson_type, at=at,
                         minutes=a.duration_min, capacity=a.capacity, bookings=bookings)
    slots = [Slot(lesson_id=i, starts_at=p.starts_at, ends_at=p.ends_at) for i, p in zip(ids, planned, strict=True)]
    def day_of(instant: datetime) -> date:
        return local_day(ctx, instant)
    if room is not None:
        ctx.emit([sc.reserve(room, ctx.meta, slots, day_of)])
    if instructor is not None:
        ctx.emit([sc.reserve(instructor, ctx.meta, slots, day_of)])
    ctx.emit(events)
    if group is not None:
        refs = tuple(GroupLesson(lesson_id=s.lesson_id, starts_at=s.starts_at) for s in slots)
        ctx.emit(co.lessons_scheduled(group, ctx.meta, refs))
    for b in bookings:
        booked = [BookedLesson(lesson_id=s.lesson_id, starts_at=s.starts_at, group_id=a.group_id) for s in slots]
        ctx.emit(ls.client_booked(ctx.find(ClientLessons, ls.client_lessons_id(b.client_id)), ctx.meta,
                                  b.client_id, booked))
    return {"id": series_id, "lesson_ids": [str(i) for i in ids], "skipped": [d.isoformat() for d in skipped],
            "version": 1}


def _room(ctx: Ctx, room_id: UUID | None, branch_id: UUID, capacity: int) -> Room | None:
    if room_id is None:
        return None
    room = ctx.get(Room, room_id)
    sc.check_room(room, branch_id, capacity)
    return room


def _instructor(ctx: Ctx, instructor_id: UUID | None, lesson_type: str) -> Instructor | None:
    if instructor_id is None:
        return None
    instructor = ctx.get(Instructor, instructor_id)
    sc.check_instructor(instructor, lesson_type)
    return instructor


def _group(ctx: Ctx, group_id: UUID | None, lesson_type: str) -> Group | None:
    if group_id is None:
        return None
    group = ctx.get(Group, group_id)
    co.check_gives(ctx.get(Course, group.course_id), lesson_type)
    return group


class LessonArgs(Args):
    lesson_id: UUID


class CancelLesson(LessonArgs):
    reason: Label = Field(min_length=1, max_length=500)


@command("cancel_lesson", CancelLesson)
def cancel_lesson(ctx: Ctx, a: CancelLesson) -> dict[str, Any]:
    """Cancel a lesson: its room and instructor are free again, its bookings stay as history (§7.4)."""
    lesson = ctx.get(Lesson, a.lesson_id)
    ctx.emit(ls.cancel(lesson, ctx.meta))
    if lesson.room_id is not None:
        ctx.emit(sc.release(ctx.get(Room, lesson.room_id), ctx.meta, [lesson.id]))
    if lesson.instructor_id is not None:
        ctx.emit(sc.release(ctx.get(Instructor, lesson.instructor_id), ctx.meta, [lesson.id]))
    for b in lesson.bookings:
        ctx.emit(ls.client_unbooked(ctx.find(ClientLessons, ls.client_lessons_id(b.client_id)), ctx.meta,
                                    [lesson.id], "lesson_cancelled"))
    return {"id": lesson.id, "version": ctx.get(Lesson, lesson.id).version}


class BookLesson(LessonArgs):
    client_id: UUID
    credit_id: UUID | None = None


@command("book_lesson", BookLesson)
def book_lesson(ctx: Ctx, a: BookLesson) -> dict[str, Any]:
    """Book a client on a lesson, optionally with a make-up credit of the same type (§3.3, §7.2)."""
    lesson = ctx.get(Lesson, a.lesson_id)
    writable(ctx.get(Client, a.client_id))
    if a.credit_id is not None:
        _use_makeup(ctx, a.credit_id, a.client_id, lesson)
    ctx.emit(ls.book(lesson, ctx.meta, Booking(client_id=a.client_id, credit_id=a.credit_id),
                     may_act_in_past=may_act_in_past(ctx)))
    ctx.emit(ls.client_booked(ctx.find(ClientLessons, ls.client_lessons_id(a.client_id)), ctx.meta, a.client_id,
                              [BookedLesson(lesson_id=lesson.id, starts_at=lesson.starts_at)]))
    return {"id": lesson.id, "version": ctx.get(Lesson, lesson.id).version}


def _use_makeup(ctx: Ctx, credit_id: UUID, client_id: UUID, lesson: Lesson) -> None:
    credit = ctx.get(Credit, credit_id)
    course = ctx.get(Course, ctx.get(Registration, credit.registration_id).course_id)
    ctx.emit(rg.use_makeup(credit, ctx.meta, ctx.today, client_id=client_id, gives=course.lesson_type,
                           lesson_type=lesson.lesson_type))


class UnbookLesson(LessonArgs):
    client_id: UUID


@command("unbook_lesson", UnbookLesson)
def unbook_lesson(ctx: Ctx, a: UnbookLesson) -> dict[str, Any]:
    """Take a client off a lesson (DOMAIN §7.2)."""
    lesson = ctx.get(Lesson, a.lesson_id)
    ctx.emit(ls.unbook(lesson, ctx.meta, a.client_id, "unbooked"))
    ctx.emit(ls.client_unbooked(ctx.find(ClientLessons, ls.client_lessons_id(a.client_id)), ctx.meta,
                                [lesson.id], "unbooked"))
    return {"id": lesson.id, "version": ctx.get(Lesson, lesson.id).version}


def archive_bookings(ctx: Ctx, client_id: UUID) -> None:
    """DOMAIN §2.5, §7.4: archiving cancels the client's future bookings."""
    group_lessons.unbook_all_future(ctx, client_id, "archived")

