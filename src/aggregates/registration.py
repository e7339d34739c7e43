"""Registrations and credits (DOMAIN §3.2, §3.3), and each client's index of open ones.

A registration links one client to one group. Its state follows the group's decision:
a seat gives ``registered`` (or ``late`` for a late registration into a running group,
which holds a seat until confirmed), a full group gives ``waitlist``.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from classledger.aggregates.base import Aggregate, Event, Meta
from classledger.aggregates.errors import Conflict

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
