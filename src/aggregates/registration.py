"""Registrations and credits (DOMAIN §3.2, §3.3), and each client's index of open ones.

A registration links one client to one group. Its state follows the group's decision:
a seat gives ``registered`` (or ``late`` for a late registration into a running group,
which holds a seat until confirmed), a full group gives ``waitlist``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from uuid import UUID

from classledger.aggregates import course as co
from classledger.aggregates.base import Aggregate, Event, Meta
from classledger.aggregates.course import Group
from classledger.aggregates.errors import Conflict, Invalid

State = Literal["registered", "late", "waitlist", "cancelled"]
CreditKind = Literal["makeup", "coupon", "other"]


class Registration(Aggregate):
    client_id: UUID
    group_id: UUID
    course_id: UUID
    state: State
    groups: tuple[UUID, ...] = ()  # every group it has been in, oldest first (§3.2: history keeps both)


class RegistrationCreated(Event):
    client_id: UUID
    group_id: UUID
    course_id: UUID
    state: State

    def apply(self, state: Any) -> Registration:
        return self.birth(Registration, client_id=self.client_id,
                            group_id=self.group_id, course_id=self.course_id, state=self.state, groups=(self.group_id,))


class RegistrationConfirmed(Event):
    def apply(self, state: Registration) -> Registration:
        return self.evolve(state, state="registered")


class RegistrationPromoted(Event):
    def apply(self, state: Registration) -> Registration:
        return self.evolve(state, state="registered")


class RegistrationCancelled(Event):
    def apply(self, state: Registration) -> Registration:
        return self.evolve(state, state="cancelled")


class RegistrationTransferred(Event):
    from_group_id: UUID
    to_group_id: UUID
    state: State

    def apply(self, state: Registration) -> Registration:
        return self.evolve(state, group_id=self.to_group_id, state=self.state, groups=(*state.groups, self.to_group_id))


class ClientRegistrations(Aggregate):
    """The client's open registrations, so archiving can cancel them in the same write (§2.5)."""

    open: tuple[UUID, ...] = ()


class ClientRegistrationOpened(Event):
    registration_id: UUID

    def apply(self, state: ClientRegistrations | None) -> ClientRegistrations:
        if state is None:
            return self.birth(ClientRegistrations, open=(self.registration_id,))
        return self.evolve(state, open=(*state.open, self.registration_id))


class ClientRegistrationClosed(Event):
    registration_id: UUID

    def apply(self, state: ClientRegistrations) -> ClientRegistrations:
        return self.evolve(state, open=tuple(r for r in state.open if r != self.registration_id))


def index_id(client_id: UUID) -> UUID:
    return uuid.uuid5(client_id, "registrations")


def index_opened(idx: ClientRegistrations | None, meta: Meta, client_id: UUID, reg_id: UUID) -> list[Event]:
    version = (idx.version if idx else 0) + 1
    return [ClientRegistrationOpened.make(meta, index_id(client_id), version, registration_id=reg_id)]


class Credit(Aggregate):
    registration_id: UUID
    client_id: UUID
    kind: CreditKind
    expires_on: date
    value: str | None = None
    used: bool = False
    voided: bool = False


class CreditGranted(Event):
    registration_id: UUID
    client_id: UUID
    kind: CreditKind
    expires_on: date
    value: str | None = None

    def apply(self, state: Any) -> Credit:
        return self.birth(Credit, registration_id=self.registration_id,
                      client_id=self.client_id, kind=self.kind, expires_on=self.expires_on, value=self.value)


class CreditUsed(Event):
    def apply(self, state: Credit) -> Credit:
        return self.evolve(state, used=True)


class CreditVoided(Event):
    def apply(self, state: Credit) -> Credit:
        return self.evolve(state, voided=True)


def open_registration(reg_id: UUID, meta: Meta, *, client_id: UUID, group_id: UUID, course_id: UUID, state: State) -> Event:
    return RegistrationCreated.make(meta, reg_id, 1, client_id=client_id, group_id=group_id, course_id=course_id, state=state)


def register(group: Group, meta: Meta, reg_id: UUID, client_id: UUID, today: date, *,
             late: bool) -> tuple[list[Event], State]:
    """A client takes a seat in the group, or its waitlist when full (DOMAIN §3.2): the
    group's event, the registration's, and the registration's state."""
    _check_joinable(group, client_id, today)
    if late and group.phase(today) != "running":
        raise Invalid("not_running", "a late registration is into a group that is already running")
    placed = co.admit(group, meta, reg_id, client_id)
    state: State = "waitlist" if isinstance(placed, co.GroupWaitlistJoined) else ("late" if late else "registered")
    return [placed, open_registration(reg_id, meta, client_id=client_id, group_id=group.id,
                                      course_id=group.course_id, state=state)], state


def _check_joinable(group: Group, client_id: UUID, today: date) -> None:
    if group.phase(today) == "ended":
        raise Conflict("group_ended", f"that group ended on {group.ends_on}")
    if group.holds(client_id):
        raise Conflict("already_registered", "the client already holds a place in that group")


def leave(group: Group, meta: Meta, r: Registration, waiting: Registration | None) -> list[Event]:
    """The registration gives up its place; a freed seat goes to the oldest waitlisted
    (DOMAIN §3.2), ``waiting``: the registration at the head of the group's queue."""
    had_seat = group.seated(r.id)
    out: list[Event] = [co.release(group, meta, r.id)]
    group = out[0].apply(group)
    if had_seat and group.queue and not group.full:
        first = group.queue[0]
        if waiting is None or waiting.id != first.registration_id:
            raise ValueError("leave() needs the registration at the head of the group's queue")
        left = co.GroupWaitlistLeft.next(group, meta, registration_id=first.registration_id)
        taken = co.GroupSeatTaken.next(left.apply(group), meta, registration_id=first.registration_id,
                                       client_id=first.client_id)
        out += [left, taken, RegistrationPromoted.next(waiting, meta)]
    return out


@dataclass(frozen=True, slots=True)
class Leaving:
    """A registration giving up its place (``leave``), and what the group's lessons follow (§7.3)."""

    events: list[Event]  # the group's, and the promoted registration's
    unseated: bool  # it held a seat: unbooked from the group's future lessons
    promoted: Registration | None  # the waitlisted who took the freed seat: booked on them


def leaving(group: Group, meta: Meta, r: Registration, waiting: Registration | None) -> Leaving:
    had_seat = group.seated(r.id)
    events = leave(group, meta, r, waiting)
    promoted = waiting if any(isinstance(e, RegistrationPromoted) for e in events) else None
    return Leaving(events, had_seat, promoted)


@dataclass(frozen=True, slots=True)
class Cancellation:
    leaving: Leaving
    cancelled: list[Event]  # the registration's, and its removal from the client's open ones


def cancel(r: Registration, group: Group, waiting: Registration | None, index: ClientRegistrations,
           meta: Meta) -> Cancellation:
    """Cancel an open registration (§3.2): it leaves its group, whose freed seat goes to the
    oldest waitlisted, ``waiting``, and it is no longer among the client's open ones (``index``)."""
    check_open(r)
    return Cancellation(leaving(group, meta, r, waiting),
                        [RegistrationCancelled.next(r, meta),
                         ClientRegistrationClosed.next(index, meta, registration_id=r.id)])


@dataclass(frozen=True, slots=True)
class Move:
    leaving: Leaving
    placed: list[Event]  # the target group's seat or waitlist, and the registration's move
    state: State


def move(r: Registration, group: Group, waiting: Registration | None, target: Group, meta: Meta,
         today: date) -> Move:
    """Transfer a registration from ``group`` to ``target`` (§3.2): it leaves its group (a
    freed seat to ``waiting``), then takes a seat or the waitlist in the target."""
    check_transfer(r, target, today)
    left = leaving(group, meta, r, waiting)
    placed, state = transfer(r, target, meta, today)
    return Move(left, placed, state)


def check_transfer(r: Registration, target: Group, today: date) -> None:
    """Whether a registration may move to ``target``: another group of the same course
    that has not ended and where the client holds no place yet (DOMAIN §3.2)."""
    check_open(r)
    if target.id == r.group_id:
        raise Conflict("same_group", "the registration is already in that group")
    if target.course_id != r.course_id:
        raise Conflict("different_course", "a registration moves only between groups of the same course")
    _check_joinable(target, r.client_id, today)


def transfer(r: Registration, target: Group, meta: Meta, today: date) -> tuple[list[Event], State]:
    """The target's side of a transfer, once the registration has left its group (``leave``):
    a seat or the waitlist there, and the registration's move; history keeps both groups."""
    check_transfer(r, target, today)
    placed = co.admit(target, meta, r.id, r.client_id)
    state: State = "waitlist" if isinstance(placed, co.GroupWaitlistJoined) else ("late" if r.state == "late" else "registered")
    return [placed, RegistrationTransferred.next(r, meta, from_group_id=r.group_id, to_group_id=target.id,
                                                 state=state)], state


def confirm(r: Registration, meta: Meta) -> list[Event]:
    if r.state != "late":
        raise Conflict("not_late", f"only a late registration can be confirmed; this one is {r.state}")
    return [RegistrationConfirmed.next(r, meta)]


def check_open(r: Registration) -> None:
    if r.state == "cancelled":
        raise Conflict("registration_cancelled", "this registration is cancelled")


def use_credit(c: Credit, meta: Meta, today: date) -> list[Event]:
    _check_valid(c, today)
    return [CreditUsed.next(c, meta)]


def use_makeup(c: Credit, meta: Meta, today: date, *, client_id: UUID, gives: str, lesson_type: str) -> list[Event]:
    """A make-up credit books one lesson of its course's type (``gives``) for its own
    client (DOMAIN §3.3)."""
    if c.client_id != client_id:
        raise Conflict("credit_of_another_client", "the credit belongs to another client")
    if c.kind != "makeup":
        raise Conflict("not_a_makeup", "only a make-up credit books a lesson", kind=c.kind)
    if gives != lesson_type:
        raise Conflict("lesson_type_mismatch", f"this make-up is for a {gives} lesson", lesson_type=gives)
    return use_credit(c, meta, today)


def void_credit(c: Credit, meta: Meta, today: date) -> list[Event]:
    _check_valid(c, today)
    return [CreditVoided.next(c, meta)]


def _check_valid(c: Credit, today: date) -> None:
    if c.used:
        raise Conflict("credit_used", "this credit was used already")
    if c.voided:
        raise Conflict("credit_voided", "this credit was voided")
    if today > c.expires_on:
        raise Conflict("credit_expired", f"this credit expired on {c.expires_on}")


def grant_credit(r: Registration, meta: Meta, credit_id: UUID, today: date, *, kind: CreditKind, expires_on: date,
                 value: str | None) -> list[Event]:
    """A make-up lesson, a coupon or another credit on an open registration (§3.3)."""
    check_open(r)
    if expires_on < today:
        raise Conflict("credit_expired", "a credit cannot be granted already expired")
    return [CreditGranted.make(meta, credit_id, 1, registration_id=r.id, client_id=r.client_id, kind=kind,
                               expires_on=expires_on, value=value)]
