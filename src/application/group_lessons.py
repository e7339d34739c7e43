"""A group's lessons follow its members (DOMAIN §7.3).

A registration that takes a seat is booked on the group's future lessons; one that gives
its seat up (cancelled, transferred, archived) is unbooked from them. "Future" is a lesson
that has not begun at the command's instant: what was given stays as it was. A lesson that
is already full keeps its seats; the answer of the command says which ones could not take
the client, so nothing is skipped silently.
"""

from __future__ import annotations

from uuid import UUID

from classledger.aggregates import lesson as ls
from classledger.aggregates.course import Group
from classledger.aggregates.lesson import BookedLesson, Booking, ClientLessons, Lesson, UnbookReason
from classledger.application.registry import Ctx


def future_lessons(ctx: Ctx, group: Group) -> list[Lesson]:
    out = []
    for ref in group.lessons:
        if ref.starts_at <= ctx.meta.at:
            continue
        lesson = ctx.get(Lesson, ref.lesson_id)
        if not lesson.cancelled:
            out.append(lesson)
    return out


def book_member(ctx: Ctx, group_id: UUID, client_id: UUID, registration_id: UUID) -> list[UUID]:
    """Book a seated member on the group's future lessons; the lessons that were full."""
    group = ctx.get(Group, group_id)
    booked: list[BookedLesson] = []
    full: list[UUID] = []
    for lesson in future_lessons(ctx, group):
        if lesson.booked(client_id):
            continue
        if lesson.full:
            full.append(lesson.id)
            continue
        ctx.emit(ls.book(lesson, ctx.meta, Booking(client_id=client_id, registration_id=registration_id),
                         may_act_in_past=True))
        booked.append(BookedLesson(lesson_id=lesson.id, starts_at=lesson.starts_at, group_id=group_id))
    ctx.emit(ls.client_booked(ctx.find(ClientLessons, ls.client_lessons_id(client_id)), ctx.meta, client_id, booked))
    return full


def unbook_member(ctx: Ctx, group_id: UUID, client_id: UUID, why: UnbookReason) -> None:
    """Take a member off the group's future lessons."""
    group = ctx.get(Group, group_id)
    gone: list[UUID] = []
    for lesson in future_lessons(ctx, group):
        if lesson.booked(client_id):
            ctx.emit(ls.unbook(lesson, ctx.meta, client_id, why))
            gone.append(lesson.id)
    ctx.emit(ls.client_unbooked(ctx.find(ClientLessons, ls.client_lessons_id(client_id)), ctx.meta, gone, why))


def unbook_all_future(ctx: Ctx, client_id: UUID, why: UnbookReason) -> None:
    """Archive (DOMAIN §2.5, §7.4): every booking of the client on a lesson not yet begun."""
    index = ctx.find(ClientLessons, ls.client_lessons_id(client_id))
    if index is None:
        return
    gone: list[UUID] = []
    for ref in index.booked:
        if ref.starts_at <= ctx.meta.at:
            continue
        lesson = ctx.get(Lesson, ref.lesson_id)
        if lesson.booked(client_id) and not lesson.cancelled:
            ctx.emit(ls.unbook(lesson, ctx.meta, client_id, why))
        gone.append(ref.lesson_id)
    ctx.emit(ls.client_unbooked(index, ctx.meta, gone, why))
