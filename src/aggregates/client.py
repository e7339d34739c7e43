"""The client (DOMAIN §2): a person who receives the service, adult or child.

Decisions are pure functions returning events; every refusal is a ``Refused`` with a
stable code. The rules this module owns, and why:

- **Read-only states (§2.5).** An archived client refuses every write except ``restore``
  and ``delete``: archiving means "no longer with us", so edits would be made on a record
  nobody is looking after; restore first. A deleted client refuses everything, restore
  included: deletion is for records that should never have existed (duplicates, entry
  errors), so bringing one back would resurrect a mistake — register the person again.
  Every event of a deleted client stays in its history.
- **Family (§2.3).** A family is one parent and its members, a tree of depth one: a
  member belongs to one family, a member cannot be a parent, a parent cannot be a
  member, nobody links to themselves. Each link and unlink is recorded on both clients
  in the same decision, so the pipeline saves both in one atomic write. Deleting a client
  unlinks it from its family (both sides, same write): the deleted record leaves every
  list, including the parent's list of members.
- **Freezes (§2.4).** Periods of one client never overlap; an overlapping one is refused,
  not merged. Each frozen day later moves the client's passes by one day (§4.6); a pass
  counts a day once however many freezes cover it (needed anyway for passes shared by
  siblings, whose periods may overlap: aggregates/passes.py), but merging would silently
  change a period staff already recorded. Staff see the clash and choose.
- **Unique phones (§2.3).** When the tenant turns uniqueness on, it is owned by one small
  ``PhoneIndex`` aggregate per (tenant, phone digits): whoever takes a number emits
  ``PhoneClaimed`` on it in the same write as the client's own event. Two concurrent
  registrations with one number both try to write version n+1 of the same index: one
  wins, the other meets the optimistic-concurrency conflict, retries on fresh state and is
  refused ``phone_taken``. Holders of one number must all be in one family; unlinking a
  member who shares a number with its family is refused until the number is changed, so
  that invariant holds at all times. Numbers compare as numbers (aggregates/phones.py, the
  comparison the family cabinet uses): ``0905 111 222`` in a Slovak school, ``00421905111222``
  and ``+421 905 111 222`` are one index. Turning uniqueness on claims every live client's
  numbers at once, and is refused while two clients outside one family share a number.
- **Setting vs. transition.** Commands that state a wish (tag, untag, set the next call,
  join or leave the waitlist, change details to what they are) are no-ops when the client
  already is that way; commands that only make sense from a state (restore, unlink,
  archive twice) are refused there.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from classledger.aggregates.base import Aggregate, Event, Immutable, Meta
from classledger.aggregates.errors import Conflict, Invalid, NotFound
from classledger.aggregates.phones import phone_digits, phone_number

CONSENTS = ("marketing", "photos", "data_processing")
DETAIL_FIELDS = (
    "name", "branch_id", "birth_date", "phones", "email", "card_number", "photo", "notes", "preferences", "custom_fields",
)
REQUIRED_FIELDS = ("name", "branch_id")
MAX_PHONES = 2  # primary and secondary (§2.1)
MIN_PHONE_DIGITS = 5
NAME_MAX = 200
TAG_MAX = 60
EARLIEST_BIRTH = date(1900, 1, 1)


class Consent(Immutable):
    given: bool
    at: str  # ISO instant the consent was given or withdrawn


class Freeze(Immutable):
    start: date
    end: date


class Waitlist(Immutable):
    instructor: str | None = None
    comment: str | None = None


class Client(Aggregate):
    name: str
    branch_id: UUID
    birth_date: date | None = None
    phones: tuple[str, ...] = ()  # the first is the primary phone
    email: str | None = None
    card_number: str | None = None
    photo: str | None = None
    notes: str | None = None
    preferences: dict[str, Any] = {}
    custom_fields: dict[str, Any] = {}
    consents: dict[str, Consent] = {}
    tags: tuple[str, ...] = ()  # sorted, unique
    parent_id: UUID | None = None
    member_ids: tuple[UUID, ...] = ()
    freezes: tuple[Freeze, ...] = ()
    archived: bool = False
    archive_reason: str | None = None
    deleted: bool = False
    waitlist: Waitlist | None = None
    next_call: date | None = None
    cabinet_token_hash: str | None = None  # DOMAIN §8.1: the live cabinet link's sha256
    erased: bool = False  # DOMAIN §2.9: the personal data is destroyed; ids and history stay

    def family_ids(self) -> set[UUID]:
        """The family as far as this record knows: a member knows its parent, not its siblings."""
        root = self.parent_id or self.id
        return {root, self.id, *self.member_ids}

    def frozen_on(self, day: date) -> bool:
        return any(f.start <= day <= f.end for f in self.freezes)


# ---- events ------------------------------------------------------------------------


class ClientRegistered(Event):
    name: str
    branch_id: UUID
    birth_date: date | None = None
    phones: tuple[str, ...] = ()
    email: str | None = None
    card_number: str | None = None
    photo: str | None = None
    notes: str | None = None
    preferences: dict[str, Any] = {}
    custom_fields: dict[str, Any] = {}
    consents: dict[str, bool] = {}
    tags: tuple[str, ...] = ()

    def apply(self, state: Any) -> Client:
        at = self.timestamp.isoformat()
        return self.birth(
            Client,
            name=self.name,
            branch_id=self.branch_id,
            birth_date=self.birth_date,
            phones=self.phones,
            email=self.email,
            card_number=self.card_number,
            photo=self.photo,
            notes=self.notes,
            preferences=self.preferences,
            custom_fields=self.custom_fields,
            consents={k: Consent(given=v, at=at) for k, v in self.consents.items()},
            tags=self.tags,
        )


class ClientDetailsChanged(Event):
    """Only the fields that changed, in their JSON form; ``None`` clears an optional field."""

    changes: dict[str, Any]

    def apply(self, state: Client) -> Client:
        merged = Client.model_validate({**state.model_dump(), **self.changes})
        return self.evolve(state, **{k: getattr(merged, k) for k in self.changes})


class ClientConsentsChanged(Event):
    consents: dict[str, bool]

    def apply(self, state: Client) -> Client:
        at = self.timestamp.isoformat()
        given = {k: Consent(given=v, at=at) for k, v in self.consents.items()}
        return self.evolve(state, consents={**state.consents, **given})


class ClientTagged(Event):
    tag: str

    def apply(self, state: Client) -> Client:
        return self.evolve(state, tags=tuple(sorted({*state.tags, self.tag})))


class ClientUntagged(Event):
    tag: str

    def apply(self, state: Client) -> Client:
        return self.evolve(state, tags=tuple(t for t in state.tags if t != self.tag))


class FamilyMemberLinked(Event):
    """On the parent: a member joined the family."""

    member_id: UUID

    def apply(self, state: Client) -> Client:
        return self.evolve(state, member_ids=(*state.member_ids, self.member_id))


class FamilyParentLinked(Event):
    """On the member: the family it now belongs to."""

    parent_id: UUID

    def apply(self, state: Client) -> Client:
        return self.evolve(state, parent_id=self.parent_id)


class FamilyMemberUnlinked(Event):
    member_id: UUID

    def apply(self, state: Client) -> Client:
        return self.evolve(state, member_ids=tuple(m for m in state.member_ids if m != self.member_id))


class FamilyParentUnlinked(Event):
    parent_id: UUID

    def apply(self, state: Client) -> Client:
        return self.evolve(state, parent_id=None)


class ClientFrozen(Event):
    start: date
    end: date

    def apply(self, state: Client) -> Client:
        return self.evolve(state, freezes=(*state.freezes, Freeze(start=self.start, end=self.end)))


class ClientArchived(Event):
    """The reason is the event's own ``reason`` (mandatory here); later handlers react to it."""

    def apply(self, state: Client) -> Client:
        return self.evolve(state, archived=True, archive_reason=self.reason)


class ClientRestored(Event):
    def apply(self, state: Client) -> Client:
        return self.evolve(state, archived=False, archive_reason=None)


class ClientDeleted(Event):
    def apply(self, state: Client) -> Client:
        return self.evolve(state, deleted=True)


class CabinetLinkIssued(Event):
    """DOMAIN §8.1: a new cabinet link; the previous one stops working. Only the token's
    sha256 is recorded: the token itself is shown once, to whoever issued it."""

    token_hash: str

    def apply(self, state: Client) -> Client:
        return self.evolve(state, cabinet_token_hash=self.token_hash)


class CabinetLinkRevoked(Event):
    def apply(self, state: Client) -> Client:
        return self.evolve(state, cabinet_token_hash=None)


def cabinet_token_hash(token: str) -> str:
    """What is stored of a cabinet token, and what a presented token is looked up by."""
    return hashlib.sha256(token.encode()).hexdigest()


class ClientJoinedWaitlist(Event):
    instructor: str | None = None
    comment: str | None = None

    def apply(self, state: Client) -> Client:
        return self.evolve(state, waitlist=Waitlist(instructor=self.instructor, comment=self.comment))


class ClientLeftWaitlist(Event):
    def apply(self, state: Client) -> Client:
        return self.evolve(state, waitlist=None)  # leaving clears the comment (§2.6)


class NextCallScheduled(Event):
    on: date | None

    def apply(self, state: Client) -> Client:
        return self.evolve(state, next_call=self.on)


class ClientErased(Event):
    """DOMAIN §2.9: the client's data key is destroyed (store/personal.py), so every personal
    field of every earlier event is unreadable for good. Carries no personal data itself:
    its ``reason`` (the request's reference) is kept in the clear, so it must not name anyone."""

    SHREDS_KEY: ClassVar[bool] = True

    def apply(self, state: Client) -> Client:
        return self.evolve(
            state, **{f: Client.model_fields[f].get_default(call_default_factory=True) for f in ERASED_STATE},
            name="", erased=True,
        )


class PhoneIndex(Aggregate):
    """Who holds one phone number (``phone_number``) in a tenant, when phones must be unique."""

    holders: tuple[UUID, ...] = ()


class PhoneClaimed(Event):
    client_id: UUID

    def apply(self, state: PhoneIndex | None) -> PhoneIndex:
        if state is None:
            return self.birth(PhoneIndex, holders=(self.client_id,))
        return self.evolve(state, holders=(*state.holders, self.client_id))


class PhoneReleased(Event):
    client_id: UUID

    def apply(self, state: PhoneIndex) -> PhoneIndex:
        return self.evolve(state, holders=tuple(h for h in state.holders if h != self.client_id))


# ---- personal data (DOMAIN §2.8) -------------------------------------------------------------
# What of each event is the client's personal data, sealed with the client's own key when
# stored (store/personal.py). Besides the fields DOMAIN §2.1 names, free text about the
# person is personal too: tags, the waitlist comment, and the reason staff give on the
# client's own events (an archive reason may well say why). Ids, dates of freezes, family
# links, the branch and the cabinet link's hash are not: they are what the books and the
# activity need. A new event or field that holds personal data must be listed here.
PERSONAL_DETAILS = (
    "name", "birth_date", "phones", "email", "card_number", "photo", "notes", "preferences", "custom_fields",
)
ClientRegistered.PERSONAL = (*PERSONAL_DETAILS, "consents", "tags", "reason")
ClientRegistered.CREATES_KEY = True
ClientDetailsChanged.PERSONAL = ("reason",)
ClientDetailsChanged.PERSONAL_IN = {"changes": PERSONAL_DETAILS}
ClientConsentsChanged.PERSONAL = ("consents", "reason")
ClientTagged.PERSONAL = ClientUntagged.PERSONAL = ("tag", "reason")
ClientJoinedWaitlist.PERSONAL = ("comment", "reason")
for _event in (
    FamilyMemberLinked, FamilyParentLinked, FamilyMemberUnlinked, FamilyParentUnlinked, ClientFrozen, ClientArchived,
    ClientRestored, ClientDeleted, CabinetLinkIssued, CabinetLinkRevoked, ClientLeftWaitlist, NextCallScheduled,
):
    _event.PERSONAL = ("reason",)
# A snapshot of a client holds its state: these fields of it are sealed the same way.
Client.PERSONAL_STATE = (*PERSONAL_DETAILS, "consents", "tags", "waitlist", "archive_reason")
# What erasure empties on the aggregate (the name becomes "").
ERASED_STATE = tuple(f for f in Client.PERSONAL_STATE if f != "name")


# ---- checks ---------------------------------------------------------------------------


def not_erased(c: Client) -> None:
    """An erased client's record is read-only for good (DOMAIN §2.9): its key is gone, so
    nothing about the person could be written, not even a reason."""
    if c.erased:
        raise Conflict("client_erased", "this client's personal data was erased; their record is read-only",
                       client_id=str(c.id))


def writable(c: Client) -> None:
    """Refuse a write on a client that is deleted (for good) or archived (until restored)."""
    not_erased(c)
    if c.deleted:
        raise Conflict("client_deleted", "this client was deleted; their record is read-only", client_id=str(c.id))
    if c.archived:
        raise Conflict("client_archived", "this client is archived; restore them first", client_id=str(c.id))


def check_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise Invalid("name_required", "a client needs a name")
    if len(clean) > NAME_MAX:
        raise Invalid("name_too_long", f"a name is at most {NAME_MAX} characters")
    return clean


def check_phones(phones: Iterable[str]) -> tuple[str, ...]:
    out = []
    for raw in phones:
        p = raw.strip()
        if len(phone_digits(p)) < MIN_PHONE_DIGITS:
            raise Invalid("invalid_phone", f"{p!r} is not a phone number", phone=p)
        out.append(p)
    if len(out) > MAX_PHONES:
        raise Invalid("too_many_phones", "a client has a primary and at most one secondary phone")
    if len({phone_digits(p) for p in out}) != len(out):
        raise Invalid("duplicate_phone", "the same phone is given twice")
    return tuple(out)


def check_birth_date(born: date | None, today: date) -> date | None:
    if born is not None and not EARLIEST_BIRTH <= born <= today:
        raise Invalid(
            "invalid_birth_date",
            f"a birth date lies between {EARLIEST_BIRTH} and today",
            birth_date=born.isoformat(),
        )
    return born


def check_consents(consents: Mapping[str, bool]) -> dict[str, bool]:
    unknown = set(consents) - set(CONSENTS)
    if unknown:
        raise Invalid("unknown_consent", f"unknown consents {sorted(unknown)}; known: {list(CONSENTS)}")
    return dict(consents)


def check_tag(tag: str) -> str:
    clean = " ".join(tag.split())
    if not 1 <= len(clean) <= TAG_MAX:
        raise Invalid("invalid_tag", f"a tag is 1 to {TAG_MAX} characters", tag=tag)
    return clean


def check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({check_tag(t) for t in tags}))


def _follow(state: Client, events: list[Event], event: Event) -> Client:
    """Append ``event`` and step the state, so the next event gets the next version."""
    events.append(event)
    new: Client = event.apply(state)
    return new


# ---- decisions ------------------------------------------------------------------------


def register(
    client_id: UUID,
    meta: Meta,
    *,
    today: date,
    name: str,
    branch_id: UUID,
    birth_date: date | None = None,
    phones: Iterable[str] = (),
    email: str | None = None,
    card_number: str | None = None,
    photo: str | None = None,
    notes: str | None = None,
    preferences: Mapping[str, Any] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    consents: Mapping[str, bool] | None = None,
    tags: Iterable[str] = (),
    id_taken: bool = False,
) -> list[Event]:
    """DOMAIN §2.1. ``today`` is the tenant's local date (birth dates cannot be later);
    custom fields arrive already checked against the tenant's declarations. ``id_taken``:
    the caller gave an id that something already holds (a retry of the same request is
    answered from the command log before it is decided again)."""
    if id_taken:
        raise Conflict("duplicate_id", f"the id {client_id} is already in use", id=str(client_id))
    return [
        ClientRegistered.make(
            meta,
            client_id,
            1,
            name=check_name(name),
            branch_id=branch_id,
            birth_date=check_birth_date(birth_date, today),
            phones=check_phones(phones),
            email=email,
            card_number=card_number,
            photo=photo,
            notes=notes,
            preferences=dict(preferences or {}),
            custom_fields=dict(custom_fields or {}),
            consents=check_consents(consents or {}),
            tags=check_tags(tags),
        )
    ]


def update(
    c: Client,
    meta: Meta,
    changes: Mapping[str, Any],
    *,
    today: date,
    consents: Mapping[str, bool] | None = None,
    tags: Iterable[str] | None = None,
) -> list[Event]:
    """Change details (only the fields given; ``None`` clears an optional one), give or
    withdraw consents (each stamped with this command's time), and set the tags to exactly
    ``tags`` when given. Nothing that already is so is recorded again."""
    writable(c)
    fields = dict(changes)
    unknown = set(fields) - set(DETAIL_FIELDS)
    if unknown:
        raise Invalid("unknown_field", f"no client field {sorted(unknown)}", fields=sorted(unknown))
    for key in REQUIRED_FIELDS:
        if key in fields and fields[key] is None:
            raise Invalid(f"{key}_required", f"{key} cannot be cleared", field=key)
    if "name" in fields:
        fields["name"] = check_name(fields["name"])
    if "phones" in fields:
        fields["phones"] = check_phones(fields["phones"] or ())
    if "birth_date" in fields:
        fields["birth_date"] = check_birth_date(fields["birth_date"], today)
    for key in ("preferences", "custom_fields"):
        if key in fields and fields[key] is None:
            fields[key] = {}
    wanted = check_tags(tags) if tags is not None else None
    if consents is not None:
        check_consents(consents)

    candidate = Client.model_validate({**c.model_dump(), **fields})
    real = [k for k in fields if getattr(candidate, k) != getattr(c, k)]
    events: list[Event] = []
    state = c
    if real:
        state = _follow(state, events, ClientDetailsChanged.next(
            state, meta, changes=candidate.model_dump(mode="json", include=set(real))
        ))
    if consents:
        moved = {k: v for k, v in consents.items() if k not in c.consents or c.consents[k].given != v}
        if moved:
            state = _follow(state, events, ClientConsentsChanged.next(state, meta, consents=moved))
    if wanted is not None:
        for t in sorted(set(state.tags) - set(wanted)):
            state = _follow(state, events, ClientUntagged.next(state, meta, tag=t))
        for t in sorted(set(wanted) - set(state.tags)):
            state = _follow(state, events, ClientTagged.next(state, meta, tag=t))
    return events


def tag(c: Client, meta: Meta, name: str) -> list[Event]:
    """DOMAIN §2.2: tags are a set; adding one twice records it once."""
    writable(c)
    clean = check_tag(name)
    return [] if clean in c.tags else [ClientTagged.next(c, meta, tag=clean)]


def untag(c: Client, meta: Meta, name: str) -> list[Event]:
    writable(c)
    clean = " ".join(name.split())
    return [ClientUntagged.next(c, meta, tag=clean)] if clean in c.tags else []


def link_family(parent: Client, member: Client, meta: Meta) -> list[Event]:
    """DOMAIN §2.3: one parent, members linked to it; a member belongs to one family."""
    if parent.id == member.id:
        raise Invalid("self_link", "a client cannot be their own family member")
    writable(parent)
    writable(member)
    if member.parent_id == parent.id:
        return []
    if member.parent_id is not None:
        raise Conflict(
            "already_in_family",
            "this client already belongs to another family; unlink them first",
            parent_id=str(member.parent_id),
        )
    if parent.parent_id is not None:
        raise Conflict(
            "parent_is_member",
            "this client is a member of another family and cannot be a family's parent",
            parent_id=str(parent.parent_id),
        )
    if member.member_ids:
        raise Conflict("member_is_parent", "this client is the parent of a family and cannot join another")
    return [
        FamilyMemberLinked.next(parent, meta, member_id=member.id),
        FamilyParentLinked.next(member, meta, parent_id=parent.id),
    ]


def unlink_family(parent: Client, member: Client, meta: Meta,
                  member_phones: Iterable[PhoneIndex | None] | None = None) -> list[Event]:
    """DOMAIN §2.3: unlinking keeps both clients; both records change together. When phones
    must be unique, ``member_phones`` are the indexes of the member's numbers
    (``check_unlink_phones``)."""
    if member.parent_id != parent.id:
        raise Conflict("not_in_family", "this client is not a member of that family",
                       parent_id=str(parent.id), member_id=str(member.id))
    writable(parent)
    writable(member)
    if member_phones is not None:
        check_unlink_phones(member, member_phones)
    return [
        FamilyMemberUnlinked.next(parent, meta, member_id=member.id),
        FamilyParentUnlinked.next(member, meta, parent_id=parent.id),
    ]


def freeze(c: Client, meta: Meta, start: date, end: date) -> list[Event]:
    """DOMAIN §2.4: a period [from, to], both days frozen; periods of one client never overlap."""
    writable(c)
    if end < start:
        raise Invalid("invalid_period", "a freeze ends on or after the day it starts",
                      start=start.isoformat(), end=end.isoformat())
    for f in c.freezes:
        if start <= f.end and f.start <= end:
            raise Conflict(
                "freeze_overlaps",
                f"this client is already frozen {f.start}..{f.end}",
                start=f.start.isoformat(),
                end=f.end.isoformat(),
            )
    return [ClientFrozen.next(c, meta, start=start, end=end)]


def issue_cabinet_link(c: Client, meta: Meta, token_hash: str) -> list[Event]:
    """DOMAIN §8.1: a client who may still be written to gets a new link."""
    writable(c)
    return [CabinetLinkIssued.next(c, meta, token_hash=token_hash)]


def revoke_cabinet_link(c: Client, meta: Meta) -> list[Event]:
    not_erased(c)
    if c.cabinet_token_hash is None:
        raise NotFound("no_cabinet_link", "this client has no cabinet link", client_id=str(c.id))
    return [CabinetLinkRevoked.next(c, meta)]


def archive(c: Client, meta: Meta) -> list[Event]:
    """DOMAIN §2.5: archiving needs a reason (the event's ``reason``); registrations and
    scheduled lessons react to the event in the same write (application hooks)."""
    not_erased(c)
    if c.deleted:
        raise Conflict("client_deleted", "this client was deleted", client_id=str(c.id))
    if c.archived:
        raise Conflict("already_archived", "this client is already archived", client_id=str(c.id))
    if not (meta.reason or "").strip():
        raise Invalid("reason_required", "archiving needs a reason")
    events: list[Event] = []
    state = _follow(c, events, ClientArchived.next(c, meta))
    if c.next_call is not None:  # §2.5, §7.4: the scheduled call is cancelled with the archive
        _follow(state, events, NextCallScheduled.next(state, meta, on=None))
    return events


def restore(c: Client, meta: Meta) -> list[Event]:
    not_erased(c)
    if c.deleted:
        raise Conflict("client_deleted", "a deleted client cannot be restored; register them again",
                       client_id=str(c.id))
    if not c.archived:
        raise Conflict("not_archived", "this client is not archived", client_id=str(c.id))
    return [ClientRestored.next(c, meta)]


def delete(c: Client, meta: Meta, relatives: Mapping[UUID, Client]) -> list[Event]:
    """DOMAIN §2.5: soft delete with a reason. ``relatives`` holds the client's parent and
    members: the family links are undone on both sides first, whatever their state, because
    the deleted record must leave their family lists too."""
    not_erased(c)
    if c.deleted:
        raise Conflict("already_deleted", "this client is already deleted", client_id=str(c.id))
    if not (meta.reason or "").strip():
        raise Invalid("reason_required", "deleting needs a reason")
    events: list[Event] = []
    state = _leave_family(c, meta, relatives, events)
    events.append(ClientDeleted.next(state, meta))
    return events


def _leave_family(c: Client, meta: Meta, relatives: Mapping[UUID, Client], events: list[Event]) -> Client:
    """Undo the client's family links on both sides (a delete, an erasure): appends the
    events and answers the client's state after them. ``relatives`` holds the client's
    parent and members, loaded."""
    family = ([c.parent_id] if c.parent_id else []) + list(c.member_ids)
    missing = [i for i in family if i not in relatives]
    if missing:
        raise ValueError(f"the client's relatives must be loaded: {missing}")
    state = c
    if c.parent_id is not None:
        parent = relatives[c.parent_id]
        events.append(FamilyMemberUnlinked.next(parent, meta, member_id=c.id))
        state = _follow(state, events, FamilyParentUnlinked.next(state, meta, parent_id=parent.id))
    for member_id in c.member_ids:
        state = _follow(state, events, FamilyMemberUnlinked.next(state, meta, member_id=member_id))
        events.append(FamilyParentUnlinked.next(relatives[member_id], meta, parent_id=c.id))
    return state


def erase(c: Client, meta: Meta, relatives: Mapping[UUID, Client]) -> list[Event]:
    """DOMAIN §2.9: erasure (director, with a reason) destroys the client's personal data
    and keeps every amount, date and id. Any client may be erased, deleted or archived ones
    included; once erased, the record is read-only. The family links go first (both sides,
    as for a delete), and the cabinet link stops working."""
    if c.erased:
        raise Conflict("already_erased", "this client is already erased", client_id=str(c.id))
    if not (meta.reason or "").strip():
        raise Invalid("reason_required", "erasing needs a reason")
    events: list[Event] = []
    state = _leave_family(c, meta, relatives, events)
    if state.cabinet_token_hash is not None:
        state = _follow(state, events, CabinetLinkRevoked.next(state, meta))
    events.append(ClientErased.next(state, meta))
    return events


def join_waitlist(c: Client, meta: Meta, instructor: str | None, comment: str | None) -> list[Event]:
    """DOMAIN §2.6: the general interest list; joining again updates instructor and comment."""
    writable(c)
    if c.waitlist == Waitlist(instructor=instructor, comment=comment):
        return []
    return [ClientJoinedWaitlist.next(c, meta, instructor=instructor, comment=comment)]


def leave_waitlist(c: Client, meta: Meta) -> list[Event]:
    writable(c)
    return [] if c.waitlist is None else [ClientLeftWaitlist.next(c, meta)]


def schedule_call(c: Client, meta: Meta, on: date | None) -> list[Event]:
    """DOMAIN §2.6: the date to call the client back; ``None`` clears it."""
    writable(c)
    return [] if c.next_call == on else [NextCallScheduled.next(c, meta, on=on)]


# ---- phone uniqueness ---------------------------------------------------------------------


def phone_index_id(tenant_id: UUID, number: str) -> UUID:
    """The index of one number, in the form ``phones.phone_number`` gives."""
    return uuid.uuid5(tenant_id, f"phone:{number}")


def claim_phone(
    idx: PhoneIndex | None, meta: Meta, index_id: UUID, digits: str, client_id: UUID, family: set[UUID]
) -> list[Event]:
    """Take a number for ``client_id``; anyone already holding it must be of its ``family``."""
    holders = set(idx.holders) if idx else set()
    if client_id in holders:
        return []
    strangers = sorted(str(h) for h in holders - family)
    if strangers:
        raise Conflict("phone_taken", "another client outside this family has this phone",
                       phone=digits, held_by=strangers[0])
    return [PhoneClaimed.make(meta, index_id, (idx.version if idx else 0) + 1, client_id=client_id)]


def release_phone(idx: PhoneIndex | None, meta: Meta, client_id: UUID) -> list[Event]:
    if idx is None or client_id not in idx.holders:
        return []
    return [PhoneReleased.next(idx, meta, client_id=client_id)]


def sync_phones(c: Client, meta: Meta, before: Iterable[str], region: str | None, family: set[UUID],
                indexes: Mapping[str, PhoneIndex | None]) -> list[Event]:
    """DOMAIN §2.3, unique phones: the numbers the client ``c`` (as it now is) has gained since
    it had the phones ``before`` are claimed for it, within its ``family``, and those it no
    longer has (all, once deleted) released. ``indexes``: by number (``phone_number`` in the
    tenant's ``region``), the index of each number it had or has."""
    old = {phone_number(p, region) for p in before}
    new = set() if c.deleted else {phone_number(p, region) for p in c.phones}
    events: list[Event] = []
    for number in sorted(new - old):
        events += claim_phone(indexes[number], meta, phone_index_id(c.tenant_id, number), number, c.id, family)
    for number in sorted(old - new):
        events += release_phone(indexes[number], meta, c.id)
    return events


def check_unlink_phones(member: Client, indexes: Iterable[PhoneIndex | None]) -> None:
    """After an unlink the member is a family of one: nobody else may hold its numbers."""
    for idx in indexes:
        if idx is not None and set(idx.holders) - {member.id}:
            raise Conflict(
                "phone_shared_in_family",
                "this member shares a phone with their family, and phones must be unique outside a family; "
                "change the member's phone first",
                member_id=str(member.id),
            )

