"""Client commands (DOMAIN §2) and the client's history."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from pydantic import Field

from classledger.aggregates import client as c
from classledger.aggregates.base import Event
from classledger.aggregates.client import Client, PhoneIndex, phone_digits, phone_index_id
from classledger.aggregates.errors import Conflict
from classledger.aggregates.tenant import validate_custom_values
from classledger.application.registry import Args, Ctx, command
from classledger.application.service import ClassLedger

EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{1,63}$"


class ClientFields(Args):
    name: str = Field(min_length=1, max_length=200)
    branch_id: UUID
    birth_date: date | None = None
    phones: list[str] = Field(default_factory=list, max_length=2)
    email: str | None = Field(default=None, max_length=320, pattern=EMAIL)
    card_number: str | None = Field(default=None, max_length=64)
    photo: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=5000)
    tags: list[str] = Field(default_factory=list, max_length=50)
    custom_fields: dict[str, Any] = Field(default_factory=dict, max_length=100)
    consents: dict[str, bool] = Field(default_factory=dict)
    preferences: dict[str, Any] = Field(default_factory=dict, max_length=50)


class RegisterClient(ClientFields):
    id: UUID | None = None
    parent_id: UUID | None = None  # extension: register into a family in one write (§2.3)


class UpdateClient(Args):
    client_id: UUID
    name: str | None = Field(default=None, min_length=1, max_length=200)
    branch_id: UUID | None = None
    birth_date: date | None = None
    phones: list[str] | None = Field(default=None, max_length=2)
    email: str | None = Field(default=None, max_length=320, pattern=EMAIL)
    card_number: str | None = Field(default=None, max_length=64)
    photo: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=5000)
    tags: list[str] | None = Field(default=None, max_length=50)
    custom_fields: dict[str, Any] | None = None
    consents: dict[str, bool] | None = None
    preferences: dict[str, Any] | None = None


def claim_phones(ctx: Ctx, client: Client, before: tuple[str, ...], family: set[UUID]) -> None:
    """Keep the tenant's phone index in step when phones must be unique (DOMAIN §2.3)."""
    if not ctx.tenant.settings.unique_phones:
        return
    old = {phone_digits(p) for p in before}
    new = {phone_digits(p) for p in client.phones}
    for digits in sorted(new - old):
        idx_id = phone_index_id(ctx.principal.tenant_id, digits)
        idx = ctx.find(PhoneIndex, idx_id)
        holders = set(idx.holders) if idx else set()
        strangers = holders - family
        if strangers:
            raise Conflict("phone_taken", "another client outside this family has this phone", phone=digits)
        version = (idx.version if idx else 0) + 1
        ctx.emit([c.PhoneClaimed.make(ctx.meta, idx_id, version, client_id=client.id)])
    for digits in sorted(old - new):
        idx_id = phone_index_id(ctx.principal.tenant_id, digits)
        held = ctx.find(PhoneIndex, idx_id)
        if held is not None and client.id in held.holders:
            ctx.emit([c.PhoneReleased.next(held, ctx.meta, client_id=client.id)])


@command("register_client", RegisterClient)
def register_client(ctx: Ctx, a: RegisterClient) -> dict[str, Any]:
    """Register a client (DOMAIN §2.1), optionally straight into a family."""
    tenant = ctx.tenant
    tenant.branch(a.branch_id)
    client_id = ctx.new_id(a.id)
    fields = a.model_dump(exclude={"id", "parent_id"})
    fields["custom_fields"] = validate_custom_values(tenant, a.custom_fields)
    ctx.emit(c.register(client_id, ctx.meta, **fields))
    client = ctx.get(Client, client_id)
    family = {client_id}
    if a.parent_id is not None:
        parent = ctx.get(Client, a.parent_id)
        ctx.emit(c.link_family(parent, client, ctx.meta))
        family = ctx.get(Client, client_id).family_ids() | set(parent.member_ids)
    claim_phones(ctx, client, (), family)
    return {"id": client_id, "version": ctx.get(Client, client_id).version}


@command("update_client", UpdateClient)
def update_client(ctx: Ctx, a: UpdateClient) -> dict[str, Any]:
    """Change any of a client's details; only the fields sent change, null clears."""
    client = ctx.get(Client, a.client_id)
    sent = a.model_fields_set - {"client_id"}
    changes = {k: getattr(a, k) for k in sent if k not in ("consents", "tags")}
    if "name" in changes and changes["name"] is None:
        del changes["name"]
    if "branch_id" in changes:
        if changes["branch_id"] is None:
            del changes["branch_id"]
        else:
            ctx.tenant.branch(changes["branch_id"])
    if "phones" in changes and changes["phones"] is None:
        changes["phones"] = []
    for k in ("preferences", "custom_fields"):
        if k in changes and changes[k] is None:
            changes[k] = {}
    if "custom_fields" in changes:
        merged = {**client.custom_fields, **changes["custom_fields"]}
        changes["custom_fields"] = validate_custom_values(ctx.tenant, {k: v for k, v in merged.items() if v is not None})
    before = client.phones
    ctx.emit(c.update(client, ctx.meta, changes, a.consents if "consents" in sent else None))
    if "tags" in sent and a.tags is not None:
        wanted = {t.strip() for t in a.tags if t.strip()}
        current = ctx.get(Client, a.client_id)
        for t in sorted(set(current.tags) - wanted):
            ctx.emit(c.untag(ctx.get(Client, a.client_id), ctx.meta, t))
        for t in sorted(wanted - set(current.tags)):
            ctx.emit(c.tag(ctx.get(Client, a.client_id), ctx.meta, t))
    updated = ctx.get(Client, a.client_id)
    family = updated.family_ids()
    if updated.parent_id:
        family |= set(ctx.get(Client, updated.parent_id).member_ids)
    claim_phones(ctx, updated, before, family)
    return {"id": a.client_id, "version": ctx.get(Client, a.client_id).version}


class TagArgs(Args):
    client_id: UUID
    tag: str = Field(min_length=1, max_length=60)


@command("tag_client", TagArgs)
def tag_client(ctx: Ctx, a: TagArgs) -> dict[str, Any]:
    """Add a free-form tag (DOMAIN §2.2)."""
    ctx.emit(c.tag(ctx.get(Client, a.client_id), ctx.meta, a.tag))
    return {"id": a.client_id, "version": ctx.get(Client, a.client_id).version}


@command("untag_client", TagArgs)
def untag_client(ctx: Ctx, a: TagArgs) -> dict[str, Any]:
    """Remove a tag."""
    ctx.emit(c.untag(ctx.get(Client, a.client_id), ctx.meta, a.tag))
    return {"id": a.client_id, "version": ctx.get(Client, a.client_id).version}


class FamilyArgs(Args):
    parent_id: UUID
    member_id: UUID


@command("link_family", FamilyArgs)
def link_family(ctx: Ctx, a: FamilyArgs) -> dict[str, Any]:
    """Link a member to a family's parent (DOMAIN §2.3); both records change in one write."""
    ctx.emit(c.link_family(ctx.get(Client, a.parent_id), ctx.get(Client, a.member_id), ctx.meta))
    return {"id": a.parent_id, "member_id": a.member_id, "version": ctx.get(Client, a.parent_id).version}


@command("unlink_family", FamilyArgs)
def unlink_family(ctx: Ctx, a: FamilyArgs) -> dict[str, Any]:
    """Unlink a member; both clients stay (DOMAIN §2.3)."""
    ctx.emit(c.unlink_family(ctx.get(Client, a.parent_id), ctx.get(Client, a.member_id), ctx.meta))
    return {"id": a.parent_id, "member_id": a.member_id, "version": ctx.get(Client, a.parent_id).version}


class FreezeArgs(Args):
    client_id: UUID
    start: date = Field(alias="from")
    end: date = Field(alias="to")
    reason: str | None = Field(default=None, max_length=500)


@command("freeze_client", FreezeArgs)
def freeze_client(ctx: Ctx, a: FreezeArgs) -> dict[str, Any]:
    """Freeze a client for a period, e.g. illness or holiday (DOMAIN §2.4)."""
    ctx.emit(c.freeze(ctx.get(Client, a.client_id), ctx.meta, a.start, a.end))
    return {"id": a.client_id, "version": ctx.get(Client, a.client_id).version}


class ReasonArgs(Args):
    client_id: UUID
    reason: str = Field(min_length=1, max_length=500)


@command("archive_client", ReasonArgs)
def archive_client(ctx: Ctx, a: ReasonArgs) -> dict[str, Any]:
    """Archive a client with a reason (DOMAIN §2.5); open registrations are cancelled with it."""
    client = ctx.get(Client, a.client_id)
    ctx.emit(c.archive(client, ctx.meta))
    for hook in ARCHIVE_HOOKS:
        hook(ctx, a.client_id)
    return {"id": a.client_id, "version": ctx.get(Client, a.client_id).version}


@command("delete_client", ReasonArgs)
def delete_client(ctx: Ctx, a: ReasonArgs) -> dict[str, Any]:
    """Soft-delete a client: gone from lists, every event kept (DOMAIN §2.5)."""
    client = ctx.get(Client, a.client_id)
    was_archived = client.archived
    ctx.emit(c.delete(client, ctx.meta))
    if not was_archived:
        for hook in ARCHIVE_HOOKS:
            hook(ctx, a.client_id)
    return {"id": a.client_id, "version": ctx.get(Client, a.client_id).version}


class ClientArgs(Args):
    client_id: UUID


@command("restore_client", ClientArgs)
def restore_client(ctx: Ctx, a: ClientArgs) -> dict[str, Any]:
    """Restore an archived client."""
    ctx.emit(c.restore(ctx.get(Client, a.client_id), ctx.meta))
    return {"id": a.client_id, "version": ctx.get(Client, a.client_id).version}


class WaitlistArgs(Args):
    client_id: UUID
    instructor: str | None = Field(default=None, max_length=200)
    comment: str | None = Field(default=None, max_length=2000)


@command("join_waitlist", WaitlistArgs)
def join_waitlist(ctx: Ctx, a: WaitlistArgs) -> dict[str, Any]:
    """Put a client on the general waitlist (DOMAIN §2.6)."""
    ctx.emit(c.join_waitlist(ctx.get(Client, a.client_id), ctx.meta, a.instructor, a.comment))
    return {"id": a.client_id, "version": ctx.get(Client, a.client_id).version}


@command("leave_waitlist", ClientArgs)
def leave_waitlist(ctx: Ctx, a: ClientArgs) -> dict[str, Any]:
    """Take a client off the waitlist; the comment goes with it (DOMAIN §2.6)."""
    ctx.emit(c.leave_waitlist(ctx.get(Client, a.client_id), ctx.meta))
    return {"id": a.client_id, "version": ctx.get(Client, a.client_id).version}


class NextCallArgs(Args):
    client_id: UUID
    on: date | None


@command("set_next_call", NextCallArgs)
def set_next_call(ctx: Ctx, a: NextCallArgs) -> dict[str, Any]:
    """Set (or clear) the date to call the client back (DOMAIN §2.6)."""
    ctx.emit(c.schedule_call(ctx.get(Client, a.client_id), ctx.meta, a.on))
    return {"id": a.client_id, "version": ctx.get(Client, a.client_id).version}


# Effects other modules attach to archiving (registrations: DOMAIN §2.5), run in the same write.
ARCHIVE_HOOKS: list[Any] = []


def client_history(app: ClassLedger, tenant_id: UUID, client_id: UUID) -> list[dict[str, Any]] | None:
    """Every event of the client, oldest first (API §3); None when there is no such client."""
    try:
        client = app.get(client_id)
    except AggregateNotFoundError:
        return None
    if not isinstance(client, Client) or client.tenant_id != tenant_id:
        return None
    events: list[Event] = app.history(client_id)
    return [
        {
            "type": type(e).__name__,
            "at": e.timestamp.isoformat(),
            "actor": e.actor,
            "reason": e.reason,
            "aggregate_id": str(e.originator_id),
            "version": e.originator_version,
            "data": e.payload(),
        }
        for e in sorted(events, key=lambda e: (e.timestamp, e.originator_version))
    ]
