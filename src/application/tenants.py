"""Tenant set-up commands: the tenant itself, keys, branches, lesson types, custom fields."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field

from classledger.aggregates import tenant as t
from classledger.aggregates.errors import Invalid
from classledger.application.fields import EXACT_INT, City, Label, MoneyText, Month
from classledger.application.principal import Principal
from classledger.application.registry import Args, Ctx, command
from classledger.ledger.money import Money, MoneyFormatError

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
    role: t.Role
    staff: Label = Field(min_length=1, max_length=200)
    city: City | None = Field(default=None, max_length=120)


@command("issue_key", IssueKey, need="system")
def issue_key(ctx: Ctx, a: IssueKey) -> dict[str, Any]:
    """Issue a staff key (CLI only). The key is shown once; only its hash is kept."""
    key = "clk_" + secrets.token_urlsafe(32)
    staff_id = staff_id_for(ctx.principal.tenant_id, a.staff)
    sk = t.StaffKey(staff_id=staff_id, staff_name=a.staff.strip(), role=a.role, city=a.city, key_hash=hash_key(key))
    (e,) = ctx.emit(t.issue_staff_key(ctx.tenant, ctx.meta, sk))
    return {"id": staff_id, "staff_id": staff_id, "key": key, "role": a.role, "version": e.originator_version}


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
