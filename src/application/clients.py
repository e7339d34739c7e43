"""Client commands (DOMAIN §2) and the client's history.

Each handler loads what it needs, decides through ``aggregates.client`` and emits; the
pipeline saves everything emitted, across all touched aggregates, in one write. That is
what makes a family link land on both clients together, and a phone claim land with the
client's own event (see ``aggregates.client`` for the rules and their reasons).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
)

from classledger.aggregates import client as c
from classledger.aggregates.client import Client, PhoneIndex, phone_index_id
from classledger.aggregates.phones import phone_number
from classledger.aggregates.tenant import validate_custom_values
from classledger.application.fields import Day, Label, Line, Paragraph, exact_number
from classledger.application.registry import Args, Ctx, command

EMAIL = r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$"

Name = Annotated[Label, StringConstraints(strip_whitespace=True, min_length=1, max_length=c.NAME_MAX)]
Phone = Annotated[Label, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Tag = Annotated[Label, StringConstraints(strip_whitespace=True, min_length=1, max_length=c.TAG_MAX)]
Key = Annotated[Label, StringConstraints(min_length=1, max_length=40)]
Email = Annotated[Line, StringConstraints(strip_whitespace=True, max_length=320, pattern=EMAIL)]
# Custom-field and preference values are scalars; the tenant's declarations give their
# types (validate_custom_values). Strict, so "5" stays text and true stays a bool.
Scalar = Annotated[
    StrictBool
    | StrictInt
    | Annotated[StrictFloat, Field(allow_inf_nan=False)]  # JSON has no NaN: it would not survive storage
    | Annotated[StrictStr, StringConstraints(max_length=2000)]
    | None,
    BeforeValidator(exact_number),  # a whole number past 2^53 would be stored inexact, or not at all
]
ConsentName = Annotated[str, StringConstraints(pattern="^(" + "|".join(c.CONSENTS) + ")$")]


class ClientFields(Args):
    name: Name
    branch_id: UUID
    birth_date: Day | None = None
    phones: list[Phone] = Field(default_factory=list, max_length=c.MAX_PHONES)
    email: Email | None = None
    card_number: Label | None = Field(default=None, min_length=1, max_length=64)
    photo: Line | None = Field(default=None, max_length=500)
    notes: Paragraph | None = Field(default=None, max_length=5000)
    tags: list[Tag] = Field(default_factory=list, max_length=50)
    custom_fields: dict[Key, Scalar] = Field(default_factory=dict, max_length=100)
    consents: dict[ConsentName, bool] = Field(default_factory=dict)
    preferences: dict[Key, Scalar] = Field(default_factory=dict, max_length=50)


class RegisterClient(ClientFields):
    id: UUID | None = None
    parent_id: UUID | None = None  # extension: register into a family in one write (§2.3)


class UpdateClient(Args):
    """Only the fields sent change; ``null`` clears an optional field."""

    client_id: UUID
    name: Name | None = None
    branch_id: UUID | None = None
    birth_date: Day | None = None
    phones: list[Phone] | None = Field(default=None, max_length=c.MAX_PHONES)
    email: Email | None = None
    card_number: Label | None = Field(default=None, min_length=1, max_length=64)
    photo: Line | None = Field(default=None, max_length=500)
    notes: Paragraph | None = Field(default=None, max_length=5000)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    custom_fields: dict[Key, Scalar] | None = Field(default=None, max_length=100)
    consents: dict[ConsentName, bool] | None = None
    preferences: dict[Key, Scalar] | None = Field(default=None, max_length=50)

    @field_validator("name", "branch_id", "tags", "consents")
    @classmethod
    def _not_null(cls, v: Any) -> Any:
        # Runs only for fields sent. A client always has a name and a branch; tags and
        # consents are set with a list and a map, never cleared by null.
        if v is None:
            raise ValueError("cannot be null")
        return v



def _answer(ctx: Ctx, client_id: UUID, **extra: Any) -> dict[str, Any]:
    return {"id": client_id, "version": ctx.get(Client, client_id).version, **extra}


def family_of(ctx: Ctx, client: Client) -> set[UUID]:
    """Everyone in the client's family, the client included (DOMAIN §2.3)."""
    if client.parent_id is None:
        return {client.id, *client.member_ids}
    parent = ctx.get(Client, client.parent_id)
    return {parent.id, *parent.member_ids, client.id}


def sync_phones(ctx: Ctx, client_id: UUID, before: tuple[str, ...]) -> None:
    """Keep the tenant's phone index in step with the client's phones, when phones must be
    unique (DOMAIN §2.3). Runs after the client's own events, on its new state."""
    if not ctx.tenant.settings.unique_phones:
        return
    client = ctx.get(Client, client_id)
    region = ctx.tenant.phone_region
    tenant_id = ctx.principal.tenant_id
    numbers = {phone_number(p, region) for p in (*before, *client.phones)}
    indexes = {n: ctx.find(PhoneIndex, phone_index_id(tenant_id, n)) for n in numbers}
    ctx.emit(c.sync_phones(client, ctx.meta, before, region, family_of(ctx, client), indexes))


@command("register_client", RegisterClient)
def register_client(ctx: Ctx, a: RegisterClient) -> dict[str, Any]:
    """Register a client (DOMAIN §2.1), optionally straight into a family."""
    tenant = ctx.tenant
    tenant.branch(a.branch_id)
    client_id = ctx.new_id(a.id)
    ctx.emit(c.register(
        client_id,
        ctx.meta,
        id_taken=a.id is not None and ctx.exists(a.id),
        today=ctx.today,
        name=a.name,
        branch_id=a.branch_id,
        birth_date=a.birth_date,
        phones=a.phones,
        email=a.email,
        card_number=a.card_number,
        photo=a.photo,
        notes=a.notes,
        preferences={k: v for k, v in a.preferences.items() if v is not None},
        custom_fields=validate_custom_values(tenant, a.custom_fields),
        consents=a.consents,
        tags=a.tags,
    ))
    if a.parent_id is not None:
        ctx.emit(c.link_family(ctx.get(Client, a.parent_id), ctx.get(Client, client_id), ctx.meta))
    sync_phones(ctx, client_id, ())
    return _answer(ctx, client_id)


@command("update_client", UpdateClient)
def update_client(ctx: Ctx, a: UpdateClient) -> dict[str, Any]:
    """Change any of a client's details; only the fields sent change, null clears."""
    client = ctx.get(Client, a.client_id)
    sent = a.model_fields_set - {"client_id"}
    changes = {k: getattr(a, k) for k in sent - {"consents", "tags"}}
    if changes.get("branch_id") is not None:
        ctx.tenant.branch(changes["branch_id"])
    for key in ("custom_fields", "preferences"):
        if key in changes:
            # Per key: a key sent replaces its value, a key sent as null is removed, an
            # absent key stays; null for the whole map clears it.
            given = changes[key]
            merged = {} if given is None else {**getattr(client, key), **given}
            changes[key] = {k: v for k, v in merged.items() if v is not None}
    if "custom_fields" in changes:  # required fields still apply to what is left
        changes["custom_fields"] = validate_custom_values(ctx.tenant, changes["custom_fields"])
    ctx.emit(c.update(
        client,
        ctx.meta,
        changes,
        today=ctx.today,
        consents=a.consents if "consents" in sent else None,
        tags=a.tags if "tags" in sent else None,
    ))
    sync_phones(ctx, a.client_id, client.phones)
    return _answer(ctx, a.client_id)


class TagArgs(Args):
    client_id: UUID
    tag: Tag


@command("tag_client", TagArgs)
def tag_client(ctx: Ctx, a: TagArgs) -> dict[str, Any]:
    """Add a free-form tag (DOMAIN §2.2)."""
    ctx.emit(c.tag(ctx.get(Client, a.client_id), ctx.meta, a.tag))
    return _answer(ctx, a.client_id)


@command("untag_client", TagArgs)
def untag_client(ctx: Ctx, a: TagArgs) -> dict[str, Any]:
    """Remove a tag (DOMAIN §2.2)."""
    ctx.emit(c.untag(ctx.get(Client, a.client_id), ctx.meta, a.tag))
    return _answer(ctx, a.client_id)


class FamilyArgs(Args):
    parent_id: UUID
    member_id: UUID


@command("link_family", FamilyArgs)
def link_family(ctx: Ctx, a: FamilyArgs) -> dict[str, Any]:
    """Link a member to a family's parent (DOMAIN §2.3); both records change in one write."""
    ctx.emit(c.link_family(ctx.get(Client, a.parent_id), ctx.get(Client, a.member_id), ctx.meta))
    return _answer(ctx, a.parent_id, member_id=a.member_id, member_version=ctx.get(Client, a.member_id).version)


@command("unlink_family", FamilyArgs)
def unlink_family(ctx: Ctx, a: FamilyArgs) -> dict[str, Any]:
    """Unlink a member; both clients stay (DOMAIN §2.3)."""
    parent, member = ctx.get(Client, a.parent_id), ctx.get(Client, a.member_id)
    phones = None
    if ctx.tenant.settings.unique_phones:
        tenant_id, region = ctx.principal.tenant_id, ctx.tenant.phone_region
        phones = [ctx.find(PhoneIndex, phone_index_id(tenant_id, phone_number(p, region))) for p in member.phones]
    ctx.emit(c.unlink_family(parent, member, ctx.meta, phones))
    return _answer(ctx, a.parent_id, member_id=a.member_id, member_version=ctx.get(Client, a.member_id).version)


class FreezeArgs(Args):
    client_id: UUID
    start: Day = Field(alias="from")
    end: Day = Field(alias="to")
    reason: Paragraph | None = Field(default=None, max_length=500)


@command("freeze_client", FreezeArgs)
def freeze_client(ctx: Ctx, a: FreezeArgs) -> dict[str, Any]:
    """Freeze a client for a period, e.g. illness or holiday (DOMAIN §2.4)."""
    ctx.emit(c.freeze(ctx.get(Client, a.client_id), ctx.meta, a.start, a.end))
    for hook in ctx.hooks.freeze:  # passes move their validity (DOMAIN §4.6), same write
        hook(ctx, a.client_id, a.start, a.end)
    return _answer(ctx, a.client_id)


class ReasonArgs(Args):
    client_id: UUID
    reason: Label = Field(min_length=1, max_length=500)


@command("archive_client", ReasonArgs)
def archive_client(ctx: Ctx, a: ReasonArgs) -> dict[str, Any]:
    """Archive a client with a reason (DOMAIN §2.5); open registrations are cancelled with it."""
    ctx.emit(c.archive(ctx.get(Client, a.client_id), ctx.meta))
    for hook in ctx.hooks.archive:  # bookings and registrations (DOMAIN §2.5), same write
        hook(ctx, a.client_id)
    return _answer(ctx, a.client_id)


@command("delete_client", ReasonArgs)
def delete_client(ctx: Ctx, a: ReasonArgs) -> dict[str, Any]:
    """Soft-delete a client: gone from lists and from their family, every event kept (DOMAIN §2.5)."""
    client = ctx.get(Client, a.client_id)
    relatives = {i: ctx.get(Client, i) for i in client.family_ids() - {client.id}}
    ctx.emit(c.delete(client, ctx.meta, relatives))
    # The numbers go back to the pool: a deleted duplicate must not block the real record.
    sync_phones(ctx, a.client_id, client.phones)
    if not client.archived:  # an archived client's registrations were closed when it was archived
        for hook in ctx.hooks.archive:
            hook(ctx, a.client_id)
    return _answer(ctx, a.client_id)


class ClientArgs(Args):
    client_id: UUID


@command("issue_cabinet_link", ClientArgs, shown_once=("token", "url"))
def issue_cabinet_link(ctx: Ctx, a: ClientArgs) -> dict[str, Any]:
    """DOMAIN §8.1: a new unguessable cabinet link for the client; the previous one stops
    working. The token is in this answer only: events keep its sha256, the command log
    the answer without it (a retry with the same Idempotency-Key is 409
    ``secret_not_repeated``; a new link replaces the lost one)."""
    token = secrets.token_urlsafe(32)
    ctx.emit(c.issue_cabinet_link(ctx.get(Client, a.client_id), ctx.meta, c.cabinet_token_hash(token)))
    return _answer(ctx, a.client_id, token=token, url=f"/cabinet/{token}")


@command("revoke_cabinet_link", ClientArgs)
def revoke_cabinet_link(ctx: Ctx, a: ClientArgs) -> dict[str, Any]:
    """DOMAIN §8.1: the client's cabinet link stops working."""
    ctx.emit(c.revoke_cabinet_link(ctx.get(Client, a.client_id), ctx.meta))
    return _answer(ctx, a.client_id)


@command("restore_client", ClientArgs)
def restore_client(ctx: Ctx, a: ClientArgs) -> dict[str, Any]:
    """Restore an archived client (DOMAIN §2.5)."""
    ctx.emit(c.restore(ctx.get(Client, a.client_id), ctx.meta))
    return _answer(ctx, a.client_id)


class WaitlistArgs(Args):
    client_id: UUID
    instructor: Label | None = Field(default=None, min_length=1, max_length=200)
    comment: Paragraph | None = Field(default=None, max_length=2000)


@command("join_waitlist", WaitlistArgs)
def join_waitlist(ctx: Ctx, a: WaitlistArgs) -> dict[str, Any]:
    """Put a client on the general waitlist, or change their entry (DOMAIN §2.6)."""
    ctx.emit(c.join_waitlist(ctx.get(Client, a.client_id), ctx.meta, a.instructor, a.comment))
    return _answer(ctx, a.client_id)


@command("leave_waitlist", ClientArgs)
def leave_waitlist(ctx: Ctx, a: ClientArgs) -> dict[str, Any]:
    """Take a client off the waitlist; the comment goes with it (DOMAIN §2.6)."""
    ctx.emit(c.leave_waitlist(ctx.get(Client, a.client_id), ctx.meta))
    return _answer(ctx, a.client_id)


class NextCallArgs(Args):
    client_id: UUID
    on: Day | None  # required, may be null: clearing is said, not implied


@command("set_next_call", NextCallArgs)
def set_next_call(ctx: Ctx, a: NextCallArgs) -> dict[str, Any]:
    """Set (or clear) the date to call the client back (DOMAIN §2.6)."""
    ctx.emit(c.schedule_call(ctx.get(Client, a.client_id), ctx.meta, a.on))
    return _answer(ctx, a.client_id)


@command("erase_client", ReasonArgs, need="director")
def erase_client(ctx: Ctx, a: ReasonArgs) -> dict[str, Any]:
    """Erase a client's personal data for good (DOMAIN §2.9): their key is destroyed; every
    amount, date and id stays. The family links and the cabinet link go with it."""
    client = ctx.get(Client, a.client_id)
    relatives = {i: ctx.get(Client, i) for i in client.family_ids() - {client.id}}
    ctx.emit(c.erase(client, ctx.meta, relatives))
    # The numbers go back to the pool (the erased record has none left).
    sync_phones(ctx, a.client_id, client.phones)
    # Registrations, passes and money are left as they are: erasure changes no amount, no
    # activity and no peak (archive or delete the client for that).
    return _answer(ctx, a.client_id, erased=True)
