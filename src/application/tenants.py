"""Tenant set-up commands: the tenant itself, keys, branches, lesson types, custom fields."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field

from classledger.aggregates import tenant as t
from classledger.aggregates.errors import Forbidden, Invalid
from classledger.application.fields import EXACT_INT, City, Label, MoneyText, Month, Paragraph
from classledger.application.principal import Principal
from classledger.application.registry import Args, Ctx, command
from classledger.ledger.money import Money, MoneyFormatError
from classledger.roles import Role

SYSTEM_STAFF = UUID(int=0)


def system_principal(tenant_id: UUID, actor: str = "system") -> Principal:
    return Principal(tenant_id=tenant_id, staff_id=SYSTEM_STAFF, staff_name=actor, role="system")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def staff_id_for(tenant_id: UUID, staff_name: str) -> UUID:
    # One person, one staff id, however many keys they hold.
    return uuid.uuid5(tenant_id, staff_name.strip().casefold())


def money(ctx: Ctx, text: str, field: str) -> int:
    try:
        return Money.parse(text, ctx.tenant.currency).minor
    except MoneyFormatError as e:
        raise Invalid("invalid_money", str(e), field=field) from None


class CreateTenant(Args):
    id: UUID | None = None
    name: Label = Field(min_length=1, max_length=200)
    timezone: str
    currency: str = Field(min_length=3, max_length=3)
    tiers: list[tuple[Label, Annotated[int, Field(ge=0, le=EXACT_INT)]]] = []
    no_show_consumes: bool = False
    unique_phones: bool = False


@command("create_tenant", CreateTenant, need="system")
def create_tenant(ctx: Ctx, a: CreateTenant) -> dict[str, Any]:
    """Create a tenant (CLI only)."""
    tenant_id = ctx.principal.tenant_id
    if ctx.exists(tenant_id):
        raise Invalid("duplicate_id", f"tenant {tenant_id} exists")
    ctx.emit(
        t.create_tenant(
            tenant_id,
            ctx.meta,
            a.name,
            a.timezone,
            a.currency.upper(),
            a.tiers,
            t.Settings(no_show_consumes=a.no_show_consumes, unique_phones=a.unique_phones),
        )
    )
    return {"id": tenant_id, "tenant_id": tenant_id, "version": 1}


class IssueKey(Args):
    role: Role
    staff: Label = Field(min_length=1, max_length=200)
    city: City | None = Field(default=None, max_length=120)


@command("issue_key", IssueKey, need="system", shown_once=("key",))
def issue_key(ctx: Ctx, a: IssueKey) -> dict[str, Any]:
    """Issue a staff key (CLI only). The key is shown once; only its hash is kept."""
    return _issue(ctx, a.role, a.staff, a.city)


def _issue(ctx: Ctx, role: Role, staff: str, city: str | None) -> dict[str, Any]:
    key = "clk_" + secrets.token_urlsafe(32)
    staff_id = staff_id_for(ctx.principal.tenant_id, staff)
    sk = t.StaffKey(staff_id=staff_id, staff_name=staff.strip(), role=role, city=city, key_hash=hash_key(key))
    (e,) = ctx.emit(t.issue_staff_key(ctx.tenant, ctx.meta, sk))
    return {"id": staff_id, "staff_id": staff_id, "key": key, "key_id": t.key_id(sk.key_hash), "role": role,
            "version": e.originator_version}


@command("create_key", IssueKey, need="director", shown_once=("key",))
def create_key(ctx: Ctx, a: IssueKey) -> dict[str, Any]:
    """Issue a staff key (``POST /v1/keys``): a director issues keys of roles up to their
    own; a city-bound one only keys bound to their city, which is the default. The key is
    in this answer only; a retry with the same Idempotency-Key is 409 ``secret_not_repeated``."""
    p = ctx.principal
    city = a.city if a.city is not None else p.city
    t.check_key_authority(p.role, p.city, a.role, city)
    return _issue(ctx, a.role, a.staff, city)


class RevokeKey(Args):
    key_id: UUID
    reason: Paragraph | None = Field(None, max_length=500)


@command("revoke_key", RevokeKey, need="director")
def revoke_key(ctx: Ctx, a: RevokeKey) -> dict[str, Any]:
    """Revoke a staff key: it answers 401 from now on, in every process."""
    p = ctx.principal
    ctx.emit(t.revoke_staff_key(ctx.tenant, ctx.meta, a.key_id, p.role, p.city))
    key = ctx.tenant.key_by_id(a.key_id)
    return {"id": a.key_id, "staff_id": key.staff_id, "revoked": True, "version": ctx.tenant.version}


def staff_keys(tenant: t.Tenant, manager: Principal) -> list[dict[str, Any]]:
    """The tenant's staff keys a manager may see (those they may revoke), oldest first:
    who holds each, its role and city, when it was issued and revoked. Never a key or
    its hash. Read from the tenant's record, so a revocation shows at once."""
    out = []
    for h, k in tenant.keys.items():
        try:
            t.check_key_authority(manager.role, manager.city, k.role, k.city)
        except Forbidden:
            continue
        issued, revoked = tenant.keys_issued_at.get(h), tenant.keys_revoked_at.get(h)
        out.append({
            "id": str(t.key_id(h)), "staff_id": str(k.staff_id), "staff": k.staff_name, "role": k.role,
            "city": k.city, "issued_at": issued.isoformat() if issued else None, "revoked": k.revoked,
            "revoked_at": revoked.isoformat() if revoked else None,
        })
    return out


class AddBranch(Args):
    id: UUID | None = None
    name: Label = Field(min_length=1, max_length=200)
    city: City = Field(min_length=1, max_length=120)


@command("add_branch", AddBranch, need="director")
def add_branch(ctx: Ctx, a: AddBranch) -> dict[str, Any]:
    """Add a branch (a centre) in a city (DOMAIN §1.3)."""
    branch_id = ctx.new_id(a.id)
    ctx.emit(t.add_branch(ctx.tenant, ctx.meta, branch_id, a.name, a.city))
    return {"id": branch_id, "version": ctx.tenant.version}


class DefineLessonType(Args):
    code: Label = Field(min_length=1, max_length=40)
    name: Label = Field(min_length=1, max_length=200)
    single_visit_price: MoneyText


@command("define_lesson_type", DefineLessonType, need="director")
def define_lesson_type(ctx: Ctx, a: DefineLessonType) -> dict[str, Any]:
    """Define a lesson type with its single-visit price (DOMAIN §3.1, §4.3)."""
    price = money(ctx, a.single_visit_price, "single_visit_price")
    ctx.emit(t.define_lesson_type(ctx.tenant, ctx.meta, a.code, a.name, price))
    return {"id": a.code, "code": a.code, "version": ctx.tenant.version}


class DefineCustomField(Args):
    key: Label = Field(min_length=1, max_length=40)
    label: Label = Field(min_length=1, max_length=200)
    type: Literal["text", "number", "date", "bool", "choice"]
    required: bool = False
    choices: list[Annotated[Label, Field(max_length=200)]] | None = Field(default=None, max_length=200)


@command("define_custom_field", DefineCustomField, need="director")
def define_custom_field(ctx: Ctx, a: DefineCustomField) -> dict[str, Any]:
    """Declare a custom field for clients (DOMAIN §2.1)."""
    f = t.CustomField(key=a.key, label=a.label, type=a.type, required=a.required, choices=tuple(a.choices or ()))
    ctx.emit(t.define_custom_field(ctx.tenant, ctx.meta, f))
    return {"id": a.key, "key": a.key, "version": ctx.tenant.version}


class RequestTierDowngrade(Args):
    month: Month
    tier: str


@command("request_tier_downgrade", RequestTierDowngrade, need="director")
def request_tier_downgrade(ctx: Ctx, a: RequestTierDowngrade) -> dict[str, Any]:
    """Record the tenant's written request to move to a lower tier (DOMAIN §5.6)."""
    ctx.emit(t.request_tier_downgrade(ctx.tenant, ctx.meta, a.month, a.tier))
    return {"id": ctx.principal.tenant_id, "month": a.month, "tier": a.tier, "version": ctx.tenant.version}
