"""The cabinet user (DOMAIN §8.2): a parent's login that several clients of a family are
linked to, each by a proof of its phone, birth date and surname.

The rules this module owns, and why:

- **Signup is issued by the tenant.** Staff register a user and get a single-use
  invitation; the parent redeems it for a login token. The tenant is thereby the one
  whose staff issued the invitation, nobody can mint users (each user has its own
  attempt budget, so open signup would multiply it), and staff never see the login
  itself. A new invitation for the same user, once redeemed, replaces the login: the
  way back for a lost phone.
- **Secrets are stored as hashes.** Events carry the sha256 of invitations and logins
  (``secret_hash``), never the secrets: the event log is read by accountants and kept
  forever.
- **A proof names the client.** Phone, birth date and surname must all match the client
  record; a client without a birth date or a phone can never be proved. Every failure
  gives the same refusal, whichever field was wrong, so a failure tells nothing about
  which part was right.
- **Attempts are limited per user and per day** (the tenant's calendar day, DOMAIN §1.2):
  each failed proof is an event on the user, so the count holds across processes and
  restarts, and two concurrent attempts meet on the user's version.
- **Surnames** compare case- and accent-insensitively, word by word (``surname_matches``);
  **phones** as numbers, a national and an international form of one number being equal
  (``phones_match``, aggregates/phones.py: the one comparison unique phones use too).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from unidecode import unidecode

from classledger.aggregates.base import Aggregate, Event, Meta
from classledger.aggregates.client import Client
from classledger.aggregates.errors import Conflict, NotFound
from classledger.aggregates.phones import phones_match

MAX_FAILURES_PER_DAY = 5
MAX_LINKED_CLIENTS = 20


def secret_hash(secret: str) -> str:
    """What is stored of an invitation or a login token, and what a presented one is looked up by."""
    return hashlib.sha256(secret.encode()).hexdigest()


class CabinetUser(Aggregate):
    invitation_hash: str | None = None
    invitation_expires_at: datetime | None = None
    login_hash: str | None = None
    client_ids: tuple[UUID, ...] = ()
    failures_day: date | None = None  # the tenant's day the failures below were counted on
    failures: int = 0

    def failures_on(self, day: date) -> int:
        return self.failures if self.failures_day == day else 0


# ---- events ------------------------------------------------------------------------------


class CabinetUserRegistered(Event):
    """Staff registered a user; the invitation (its hash) is what the parent redeems."""

    invitation_hash: str
    invitation_expires_at: datetime

    def apply(self, state: Any) -> CabinetUser:
        return self.birth(CabinetUser, invitation_hash=self.invitation_hash,
                          invitation_expires_at=self.invitation_expires_at)


class CabinetInvitationIssued(Event):
    """A new invitation for an existing user; any earlier one stops working."""

    invitation_hash: str
    invitation_expires_at: datetime

    def apply(self, state: CabinetUser) -> CabinetUser:
        return self.evolve(state, invitation_hash=self.invitation_hash,
                           invitation_expires_at=self.invitation_expires_at)


class CabinetLoginIssued(Event):
    """An invitation was redeemed: it is used up, and this login replaces any earlier one."""

    login_hash: str

    def apply(self, state: CabinetUser) -> CabinetUser:
        return self.evolve(state, login_hash=self.login_hash, invitation_hash=None, invitation_expires_at=None)


class CabinetLoginRevoked(Event):
    def apply(self, state: CabinetUser) -> CabinetUser:
        return self.evolve(state, login_hash=None)


class CabinetClientLinked(Event):
    client_id: UUID

    def apply(self, state: CabinetUser) -> CabinetUser:
        return self.evolve(state, client_ids=(*state.client_ids, self.client_id))


class CabinetClientUnlinked(Event):
    client_id: UUID

    def apply(self, state: CabinetUser) -> CabinetUser:
        return self.evolve(state, client_ids=tuple(c for c in state.client_ids if c != self.client_id))


class CabinetProofFailed(Event):
    """A proof that matched no client, counted against the user's attempts of ``day``.
    What was tried is not recorded: it is personal data of whoever was guessed at."""

    day: date

    def apply(self, state: CabinetUser) -> CabinetUser:
        return self.evolve(state, failures_day=self.day, failures=state.failures_on(self.day) + 1)


# ---- matching ----------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    # Transliterated and case-folded (as client search folds names), split on anything
    # not a letter or digit: "Nováková-Kováčová" and "novakova kovacova" are the same words.
    return tuple(re.findall(r"[a-z0-9]+", unidecode(text).casefold()))


def surname_matches(full_name: str, surname: str) -> bool:
    """The surname is the whole-word beginning or end of the client's full name (names
    are written "Eva Nováková" in Slovak and "Иванова Мария" in Russian records), and
    not the whole name unless the name is a single word: a given name alone is no surname."""
    name, given = _words(full_name), _words(surname)
    if not given or (len(given) >= len(name) and len(name) > 1):
        return False
    return name[: len(given)] == given or name[-len(given):] == given


def proves(client: Client, phone: str, birth_date: date, surname: str, region: str | None = None) -> bool:
    """DOMAIN §8.2: all three match the record; a deleted client proves nothing. Phones
    compare as numbers in the tenant's country ``region`` (aggregates/phones.py)."""
    return (
        not client.deleted
        and client.birth_date is not None
        and client.birth_date == birth_date
        and any(phones_match(p, phone, region) for p in client.phones)
        and surname_matches(client.name, surname)
    )


# ---- decisions ---------------------------------------------------------------------------


def register(user_id: UUID, meta: Meta, invitation_hash: str, expires_at: datetime) -> list[Event]:
    return [CabinetUserRegistered.make(meta, user_id, 1, invitation_hash=invitation_hash,
                                       invitation_expires_at=expires_at)]


def invite(user: CabinetUser, meta: Meta, invitation_hash: str, expires_at: datetime) -> list[Event]:
    return [CabinetInvitationIssued.next(user, meta, invitation_hash=invitation_hash,
                                         invitation_expires_at=expires_at)]


def redeem(user: CabinetUser, meta: Meta, invitation_hash: str, login_hash: str) -> list[Event]:
    """An unknown, replaced, used or expired invitation is one refusal: which of them it
    was is none of the holder's business."""
    expires = user.invitation_expires_at
    # In constant time: how long a comparison took must not say how much of it matched.
    held = user.invitation_hash
    if held is None or not hmac.compare_digest(held, invitation_hash) or expires is None or meta.at >= expires:
        raise NotFound("invitation_not_found", "this invitation does not exist, was used, or has expired")
    return [CabinetLoginIssued.next(user, meta, login_hash=login_hash)]


def revoke_login(user: CabinetUser, meta: Meta) -> list[Event]:
    if user.login_hash is None:
        raise NotFound("no_cabinet_login", "this user has no login to revoke", user_id=str(user.id))
    return [CabinetLoginRevoked.next(user, meta)]


def attempts_left(user: CabinetUser, today: date) -> int:
    return max(0, MAX_FAILURES_PER_DAY - user.failures_on(today))


def prove_and_link(
    user: CabinetUser, meta: Meta, candidates: Iterable[Client], *, phone: str, birth_date: date, surname: str,
    today: date, region: str | None = None,
) -> tuple[list[Event], list[UUID]]:
    """Link every candidate the proof matches (twins share all three, and both are the
    parent's); the proved ids come back, already linked ones included. No match: one
    ``CabinetProofFailed`` and no ids. The caller checks ``attempts_left`` first."""
    proved = sorted({c.id for c in candidates if c.tenant_id == user.tenant_id and proves(c, phone, birth_date, surname, region)})
    if not proved:
        return [CabinetProofFailed.next(user, meta, day=today)], []
    new = [cid for cid in proved if cid not in user.client_ids]
    if len(user.client_ids) + len(new) > MAX_LINKED_CLIENTS:
        raise Conflict("too_many_linked_clients", f"a login holds at most {MAX_LINKED_CLIENTS} clients",
                       limit=MAX_LINKED_CLIENTS)
    events: list[Event] = []
    state = user
    for cid in new:
        event = CabinetClientLinked.next(state, meta, client_id=cid)
        events.append(event)
        state = event.apply(state)
    return events, proved


def unlink(user: CabinetUser, meta: Meta, client_id: UUID) -> list[Event]:
    if client_id not in user.client_ids:
        raise NotFound("client_not_linked", "this client is not linked to your login", client_id=str(client_id))
    return [CabinetClientUnlinked.next(user, meta, client_id=client_id)]
