"""The client (DOMAIN §2): a person who receives the service, adult or child.

Decisions are pure functions returning events. Archived clients are read-only except
for restore and delete; deleted clients are read-only for good (their events stay,
§2.5). Family links are recorded on both clients in one write (§2.3). Phone uniqueness,
when the tenant turns it on, is owned by one small ``PhoneIndex`` aggregate per
normalised number, so two concurrent registrations with the same phone conflict on that
aggregate's version and the retry sees the first claim.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any
from uuid import UUID

from classledger.aggregates.base import Aggregate, Event, Immutable, Meta
from classledger.aggregates.errors import Conflict, Invalid

CONSENTS = ("marketing", "photos", "data_processing")
DETAIL_FIELDS = (
    "name", "branch_id", "birth_date", "phones", "email", "card_number", "photo", "notes", "preferences", "custom_fields",
)


def phone_digits(phone: str) -> str:
    """Phones compare by digits only, whatever the formatting (DOMAIN §2.7)."""
    return re.sub(r"\D", "", phone)


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
    phones: tuple[str, ...] = ()
    email: str | None = None
    card_number: str | None = None
    photo: str | None = None
    notes: str | None = None
    preferences: dict[str, Any] = {}
    custom_fields: dict[str, Any] = {}
    consents: dict[str, Consent] = {}
    tags: tuple[str, ...] = ()
    parent_id: UUID | None = None
    member_ids: tuple[UUID, ...] = ()
    freezes: tuple[Freeze, ...] = ()
    archived: bool = False
    archive_reason: str | None = None
    deleted: bool = False
    waitlist: Waitlist | None = None
    next_call: date | None = None

    def family_ids(self) -> set[UUID]:
        """Everyone in this client's family, the client included."""
        root = self.parent_id or self.id
        return {root, self.id, *self.member_ids}


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
        return self.birth(Client, name=self.name,
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
    """Only the fields that changed; ``None`` clears an optional field."""

    changes: dict[str, Any]

    def apply(self, state: Client) -> Client:
        return self.evolve(state, **Client.model_validate({**state.model_dump(), **self.changes}).model_dump(include=set(self.changes)))


class ClientConsentsChanged(Event):
    consents: dict[str, bool]

    def apply(self, state: Client) -> Client:
        at = self.timestamp.isoformat()
        return self.evolve(state, consents={**state.consents, **{k: Consent(given=v, at=at) for k, v in self.consents.items()}})


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
    def apply(self, state: Client) -> Client:
        return self.evolve(state, archived=True, archive_reason=self.reason)


class ClientRestored(Event):
    def apply(self, state: Client) -> Client:
        return self.evolve(state, archived=False, archive_reason=None)


class ClientDeleted(Event):
    def apply(self, state: Client) -> Client:
        return self.evolve(state, deleted=True)


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


class PhoneIndex(Aggregate):
    """Who holds a normalised phone number in a tenant (for ``unique_phones``)."""

    holders: tuple[UUID, ...] = ()


class PhoneClaimed(Event):
    client_id: UUID

    def apply(self, state: PhoneIndex | None) -> PhoneIndex:
        if state is None:
            return self.birth(PhoneIndex, holders=(self.client_id,),
            )
        return self.evolve(state, holders=(*state.holders, self.client_id))


class PhoneReleased(Event):
    client_id: UUID

    def apply(self, state: PhoneIndex) -> PhoneIndex:
        return self.evolve(state, holders=tuple(h for h in state.holders if h != self.client_id))


# ---- decisions ------------------------------------------------------------------------


def phone_index_id(tenant_id: UUID, digits: str) -> UUID:
    return uuid.uuid5(tenant_id, f"phone:{digits}")


def writable(c: Client) -> None:
    if c.deleted:
        raise Conflict("client_deleted", "this client was deleted; their record is read-only", client_id=str(c.id))
    if c.archived:
        raise Conflict("client_archived", "this client is archived; restore them first", client_id=str(c.id))


def check_phones(phones: list[str]) -> tuple[str, ...]:
    out = []
    for p in phones:
        p = p.strip()
        if len(phone_digits(p)) < 5:
            raise Invalid("invalid_phone", f"{p!r} is not a phone number", phone=p)
        out.append(p)
    if len({phone_digits(p) for p in out}) != len(out):
        raise Invalid("duplicate_phone", "the same phone is given twice")
    if len(out) > 2:
        raise Invalid("too_many_phones", "a client has a primary and at most one secondary phone")
    return tuple(out)


def check_consents(consents: dict[str, bool]) -> dict[str, bool]:
    unknown = set(consents) - set(CONSENTS)
    if unknown:
        raise Invalid("unknown_consent", f"unknown consents {sorted(unknown)}; known: {list(CONSENTS)}")
    return consents


def register(client_id: UUID, meta: Meta, **fields: Any) -> list[Event]:
    fields["phones"] = check_phones(list(fields.get("phones") or []))
    fields["consents"] = check_consents(dict(fields.get("consents") or {}))
    fields["tags"] = tuple(sorted({t.strip() for t in fields.get("tags") or [] if t.strip()}))
    return [ClientRegistered.make(meta, client_id, 1, **fields)]


def update(c: Client, meta: Meta, changes: dict[str, Any], consents: dict[str, bool] | None) -> list[Event]:
    writable(c)
    if "phones" in changes:
        changes["phones"] = check_phones(list(changes["phones"] or []))
    current = c.model_dump(mode="json")
    candidate = Client.model_validate({**c.model_dump(), **changes}).model_dump(mode="json")
    real = {k: v for k, v in changes.items() if candidate[k] != current[k]}
    events: list[Event] = []
    if real:
        events.append(ClientDetailsChanged.next(c, meta, changes=Client.model_validate({**c.model_dump(), **real}).model_dump(mode="json", include=set(real))))
    if consents:
        check_consents(consents)
        changed = {k: v for k, v in consents.items() if k not in c.consents or c.consents[k].given != v}
        if changed:
            version = c.version + len(events) + 1
            events.append(ClientConsentsChanged.make(meta, c.id, version, consents=changed))
    return events


def tag(c: Client, meta: Meta, name: str) -> list[Event]:
    writable(c)
    name = name.strip()
    if not name or len(name) > 60:
        raise Invalid("invalid_tag", "a tag is 1 to 60 characters")
    return [] if name in c.tags else [ClientTagged.next(c, meta, tag=name)]


def untag(c: Client, meta: Meta, name: str) -> list[Event]:
    writable(c)
    return [ClientUntagged.next(c, meta, tag=name.strip())] if name.strip() in c.tags else []


def link_family(parent: Client, member: Client, meta: Meta) -> list[Event]:
    """DOMAIN §2.3: one parent, members linked to it; a member belongs to one family."""
    writable(parent)
    writable(member)
    if parent.id == member.id:
        raise Conflict("self_link", "a client cannot be their own family member")
    if member.parent_id == parent.id:
        return []
    if member.parent_id is not None:
        raise Conflict("already_in_family", "this client already belongs to another family; unlink them first",
                       parent_id=str(member.parent_id))
    if parent.parent_id is not None:
        raise Conflict("parent_is_member", "this client is a member of another family and cannot be a family's parent")
    if member.member_ids:
        raise Conflict("member_is_parent", "this client is the parent of a family and cannot join another")
    return [FamilyMemberLinked.next(parent, meta, member_id=member.id), FamilyParentLinked.next(member, meta, parent_id=parent.id)]


def unlink_family(parent: Client, member: Client, meta: Meta) -> list[Event]:
    if member.parent_id != parent.id:
        raise Conflict("not_in_family", "this client is not a member of that family")
    return [FamilyMemberUnlinked.next(parent, meta, member_id=member.id), FamilyParentUnlinked.next(member, meta, parent_id=parent.id)]


def freeze(c: Client, meta: Meta, start: date, end: date) -> list[Event]:
    """DOMAIN §2.4: a period [from, to]; periods of one client never overlap."""
    writable(c)
    if end < start:
        raise Invalid("invalid_period", "a freeze ends on or after the day it starts")
    for f in c.freezes:
        if start <= f.end and f.start <= end:
            raise Conflict("freeze_overlaps", f"this client is already frozen {f.start}..{f.end}",
                           start=f.start.isoformat(), end=f.end.isoformat())
    return [ClientFrozen.next(c, meta, start=start, end=end)]


def archive(c: Client, meta: Meta) -> list[Event]:
    """DOMAIN §2.5: archiving needs a reason; its effects on registrations are decided alongside."""
    if c.deleted:
        raise Conflict("client_deleted", "this client was deleted")
    if c.archived:
        raise Conflict("already_archived", "this client is already archived")
    if not (meta.reason or "").strip():
        raise Invalid("reason_required", "archiving needs a reason")
    return [ClientArchived.next(c, meta)]


def restore(c: Client, meta: Meta) -> list[Event]:
    if c.deleted:
        raise Conflict("client_deleted", "a deleted client cannot be restored")
    if not c.archived:
        raise Conflict("not_archived", "this client is not archived")
    return [ClientRestored.next(c, meta)]


def delete(c: Client, meta: Meta) -> list[Event]:
    if c.deleted:
        raise Conflict("already_deleted", "this client is already deleted")
    if not (meta.reason or "").strip():
        raise Invalid("reason_required", "deleting needs a reason")
    return [ClientDeleted.next(c, meta)]


def join_waitlist(c: Client, meta: Meta, instructor: str | None, comment: str | None) -> list[Event]:
    writable(c)
    return [ClientJoinedWaitlist.next(c, meta, instructor=instructor, comment=comment)]


def leave_waitlist(c: Client, meta: Meta) -> list[Event]:
    writable(c)
    if c.waitlist is None:
        raise Conflict("not_on_waitlist", "this client is not on the waitlist")
    return [ClientLeftWaitlist.next(c, meta)]


def schedule_call(c: Client, meta: Meta, on: date | None) -> list[Event]:
    writable(c)
    return [] if c.next_call == on else [NextCallScheduled.next(c, meta, on=on)]
