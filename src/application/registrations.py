"""Courses, groups, registrations and credits (DOMAIN §3), with archive's effect (§2.5)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from classledger.aggregates import course as co
from classledger.aggregates import registration as rg
from classledger.aggregates.client import Client, writable
from classledger.aggregates.course import Course, Group, Slot
from classledger.aggregates.lesson import UnbookReason
from classledger.aggregates.registration import ClientRegistrations, Credit, Registration
from classledger.application import group_lessons
from classledger.application.fields import Day, Label, MoneyText
from classledger.application.registry import Args, Ctx, command
from classledger.application.tenants import money


def _opened(ctx: Ctx, client_id: UUID, reg_id: UUID) -> None:
    ctx.emit(rg.index_opened(ctx.find(ClientRegistrations, rg.index_id(client_id)), ctx.meta, client_id, reg_id))


class CreateCourse(Args):
    id: UUID | None = None
    name: Label = Field(min_length=1, max_length=200)
    lesson_type: str


@command("create_course", CreateCourse)
def create_course(ctx: Ctx, a: CreateCourse) -> dict[str, Any]:
    """Create a course of a lesson type (DOMAIN §3.1)."""
    ctx.tenant.lesson_type(a.lesson_type)
    course_id = ctx.new_id(a.id)
    ctx.emit(co.create_course(course_id, ctx.meta, a.name, a.lesson_type))
    return {"id": course_id, "version": 1}


class CreateGroup(Args):
    id: UUID | None = None
    course_id: UUID
    branch_id: UUID
    name: Label = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=1, le=10_000)
    starts_on: Day
    ends_on: Day
    schedule: list[Slot] = Field(default_factory=list, max_length=50)


@command("create_group", CreateGroup)
def create_group(ctx: Ctx, a: CreateGroup) -> dict[str, Any]:
    """Create a group of a course in a branch, with capacity, term and weekly schedule (§3.1)."""
    ctx.get(Course, a.course_id)
    ctx.tenant.branch(a.branch_id)
    group_id = ctx.new_id(a.id)
    ctx.emit(co.create_group(group_id, ctx.meta, course_id=a.course_id, branch_id=a.branch_id, name=a.name,
                             capacity=a.capacity, starts_on=a.starts_on, ends_on=a.ends_on, schedule=tuple(a.schedule)))
    return {"id": group_id, "version": 1}


class Register(Args):
    id: UUID | None = None
    client_id: UUID
    group_id: UUID
    late: bool = False


@command("register", Register)
def register(ctx: Ctx, a: Register) -> dict[str, Any]:
    """Register a client into a group: a seat, or the waitlist when full (DOMAIN §3.2)."""
    writable(ctx.get(Client, a.client_id))
    reg_id = ctx.new_id(a.id)
    events, state = rg.register(ctx.get(Group, a.group_id), ctx.meta, reg_id, a.client_id, ctx.today, late=a.late)
    ctx.emit(events)
    _opened(ctx, a.client_id, reg_id)
    answer: dict[str, Any] = {"id": reg_id, "state": state, "version": 1}
    if state != "waitlist":  # DOMAIN §7.3: a seat books the group's future lessons
        answer["lessons_full"] = [str(i) for i in group_lessons.book_member(ctx, a.group_id, a.client_id, reg_id)]
    return answer


class RegistrationArgs(Args):
    registration_id: UUID


@command("confirm_registration", RegistrationArgs)
def confirm_registration(ctx: Ctx, a: RegistrationArgs) -> dict[str, Any]:
    """Confirm a late registration (DOMAIN §3.2)."""
    reg = ctx.get(Registration, a.registration_id)
    ctx.emit(rg.confirm(reg, ctx.meta))
    return {"id": reg.id, "state": "registered", "version": reg.version + 1}


def _waiting(ctx: Ctx, group: Group) -> Registration | None:
    """The registration at the head of the group's waitlist, who a freed seat goes to (§3.2)."""
    return ctx.get(Registration, group.queue[0].registration_id) if group.queue else None


def _follow(ctx: Ctx, reg: Registration, left: rg.Leaving, why: UnbookReason = "registration_cancelled") -> None:
    """Save a registration's leaving; the group's future lessons follow: the leaver is
    unbooked, the promoted booked (§7.3)."""
    ctx.emit(left.events)
    if left.unseated:
        group_lessons.unbook_member(ctx, reg.group_id, reg.client_id, why)
    if left.promoted is not None:
        group_lessons.book_member(ctx, reg.group_id, left.promoted.client_id, left.promoted.id)


def cancel(ctx: Ctx, registration_id: UUID) -> Registration:
    reg = ctx.get(Registration, registration_id)
    group = ctx.get(Group, reg.group_id)
    done = rg.cancel(reg, group, _waiting(ctx, group), ctx.get(ClientRegistrations, rg.index_id(reg.client_id)),
                     ctx.meta)
    _follow(ctx, reg, done.leaving)
    ctx.emit(done.cancelled)
    return ctx.get(Registration, registration_id)


class CancelRegistration(Args):
    registration_id: UUID
    reason: Label = Field(min_length=1, max_length=500)


@command("cancel_registration", CancelRegistration)
def cancel_registration(ctx: Ctx, a: CancelRegistration) -> dict[str, Any]:
    """Cancel a registration with a reason; a full group promotes its oldest waitlisted (§3.2)."""
    reg = cancel(ctx, a.registration_id)
    return {"id": reg.id, "state": reg.state, "version": reg.version}


class TransferRegistration(Args):
    registration_id: UUID
    group_id: UUID


@command("transfer_registration", TransferRegistration)
def transfer_registration(ctx: Ctx, a: TransferRegistration) -> dict[str, Any]:
    """Move a registration to another group of the same course; history keeps both (§3.2)."""
    reg = ctx.get(Registration, a.registration_id)
    target = ctx.get(Group, a.group_id)
    group = ctx.get(Group, reg.group_id)
    done = rg.move(reg, group, _waiting(ctx, group), target, ctx.meta, ctx.today)
    _follow(ctx, reg, done.leaving, "transferred")
    ctx.emit(done.placed)
    if done.state != "waitlist":  # DOMAIN §7.3: the seat books the new group's future lessons
        group_lessons.book_member(ctx, a.group_id, reg.client_id, reg.id)
    return {"id": reg.id, "state": done.state, "version": ctx.get(Registration, reg.id).version}


class GrantCredit(Args):
    id: UUID | None = None
    registration_id: UUID
    kind: Literal["makeup", "coupon", "other"]
    expires_on: Day
    value: MoneyText | None = None


@command("grant_credit", GrantCredit)
def grant_credit(ctx: Ctx, a: GrantCredit) -> dict[str, Any]:
    """Grant a make-up lesson, a coupon or another credit on a registration (DOMAIN §3.3)."""
    reg = ctx.get(Registration, a.registration_id)
    if a.value is not None:
        money(ctx, a.value, "value")
    credit_id = ctx.new_id(a.id)
    ctx.emit(rg.grant_credit(reg, ctx.meta, credit_id, ctx.today, kind=a.kind, expires_on=a.expires_on,
                             value=a.value))
    return {"id": credit_id, "version": 1}


class CreditArgs(Args):
    credit_id: UUID


@command("use_credit", CreditArgs)
def use_credit(ctx: Ctx, a: CreditArgs) -> dict[str, Any]:
    """Use a valid credit (DOMAIN §3.3)."""
    credit = ctx.get(Credit, a.credit_id)
    ctx.emit(rg.use_credit(credit, ctx.meta, ctx.today))
    return {"id": credit.id, "version": credit.version + 1}


@command("void_credit", CreditArgs)
def void_credit(ctx: Ctx, a: CreditArgs) -> dict[str, Any]:
    """Void a valid credit (DOMAIN §3.3)."""
    credit = ctx.get(Credit, a.credit_id)
    ctx.emit(rg.void_credit(credit, ctx.meta, ctx.today))
    return {"id": credit.id, "version": credit.version + 1}


def cancel_open_registrations(ctx: Ctx, client_id: UUID) -> None:
    """DOMAIN §2.5: archiving removes the client from all groups, reason ``archived``."""
    idx = ctx.find(ClientRegistrations, rg.index_id(client_id))
    if idx is None:
        return
    outer = ctx.meta
    ctx.meta = outer.model_copy(update={"reason": "archived"})
    try:
        for reg_id in idx.open:
            cancel(ctx, reg_id)
    finally:
        ctx.meta = outer
