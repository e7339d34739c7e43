"""The tenant: one company and its organisation (DOMAIN §1).

Holds what every command of the tenant consults: the zone that defines its days, its
currency, pricing tiers, branches (each in a city), lesson types with their single-visit
price, custom-field declarations, settings, and the staff keys (hashed, never plain).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from classledger.aggregates.base import Aggregate, Event, Immutable, Meta
from classledger.aggregates.errors import Conflict, Forbidden, Invalid, NotFound
from classledger.aggregates.phones import region_of_timezone
from classledger.ledger.accounts import city_key
from classledger.ledger.currency import is_currency
from classledger.roles import ROLES, Role, key_rank

FieldType = Literal["text", "number", "date", "bool", "choice"]


class Tier(Immutable):
    name: str
    max_active: int


class Branch(Immutable):
    id: UUID
    name: str
    city: str


class LessonType(Immutable):
    code: str
    name: str
    single_visit_price: int  # minor units of the tenant's currency


class CustomField(Immutable):
    key: str
    label: str
    type: FieldType
    required: bool
    choices: tuple[str, ...] = ()


class StaffKey(Immutable):
    staff_id: UUID
    staff_name: str
    role: Role
    city: str | None
    key_hash: str
    revoked: bool = False


Locale = Literal["sk", "ru", "et", "en"]
LOCALES: tuple[str, ...] = ("sk", "ru", "et", "en")


class Settings(Immutable):
    """What a director records about how the school works (DOMAIN §1.6)."""

    no_show_consumes: bool = False  # DOMAIN §7.1
    unique_phones: bool = False  # DOMAIN §2.3
    locale: Locale = "en"  # people-facing pages and exports


class Tenant(Aggregate):
    name: str
    timezone: str
    currency: str
    tiers: tuple[Tier, ...]
    settings: Settings = Settings()
    branches: dict[UUID, Branch] = {}
    lesson_types: dict[str, LessonType] = {}
    custom_fields: dict[str, CustomField] = {}
    keys: dict[str, StaffKey] = {}  # by key hash: one person may hold several keys
    keys_issued_at: dict[str, datetime] = {}  # by key hash
    keys_revoked_at: dict[str, datetime] = {}  # by key hash
    downgrades: dict[str, str] = {}  # month -> requested tier (DOMAIN §5.6)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def phone_region(self) -> str | None:
        """The country whose numbers the school writes nationally: its zone's (DOMAIN §1.6)."""
        return region_of_timezone(self.timezone)

    def branch(self, branch_id: UUID) -> Branch:
        try:
            return self.branches[branch_id]
        except KeyError:
            raise NotFound("branch_not_found", f"no branch {branch_id}", branch_id=str(branch_id)) from None

    def lesson_type(self, code: str) -> LessonType:
        try:
            return self.lesson_types[code]
        except KeyError:
            raise Invalid("unknown_lesson_type", f"lesson type {code!r} is not defined", lesson_type=code) from None

    def cities(self) -> set[str]:
        return {b.city for b in self.branches.values()}

    def city(self, city: str) -> str:
        """``city`` when one of the tenant's branches is there (cities compare by ``city_key``)."""
        if city_key(city) not in {city_key(c) for c in self.cities()}:
            raise Invalid("unknown_city", f"the tenant has no branch in {city!r}", city=city)
        return city

    def key_by_id(self, kid: UUID) -> StaffKey:
        for k in self.keys.values():
            if key_id(k.key_hash) == kid:
                return k
        raise NotFound("key_not_found", f"no staff key {kid}", id=str(kid))


# ---- events -----------------------------------------------------------------------


class TenantCreated(Event):
    name: str
    timezone: str
    currency: str
    tiers: tuple[Tier, ...]
    settings: Settings = Settings()

    def apply(self, state: Any) -> Tenant:
        return self.birth(Tenant, name=self.name,
            timezone=self.timezone,
            currency=self.currency,
            tiers=self.tiers,
            settings=self.settings,
        )


class BranchAdded(Event):
    branch_id: UUID
    name: str
    city: str

    def apply(self, state: Tenant) -> Tenant:
        b = Branch(id=self.branch_id, name=self.name, city=self.city)
        return self.evolve(state, branches={**state.branches, b.id: b})


class LessonTypeDefined(Event):
    code: str
    name: str
    single_visit_price: int

    def apply(self, state: Tenant) -> Tenant:
        lt = LessonType(code=self.code, name=self.name, single_visit_price=self.single_visit_price)
        return self.evolve(state, lesson_types={**state.lesson_types, lt.code: lt})


class CustomFieldDefined(Event):
    field: CustomField

    def apply(self, state: Tenant) -> Tenant:
        return self.evolve(state, custom_fields={**state.custom_fields, self.field.key: self.field})


class StaffKeyIssued(Event):
    staff: StaffKey

    def apply(self, state: Tenant) -> Tenant:
        h = self.staff.key_hash
        return self.evolve(state, keys={**state.keys, h: self.staff},
                           keys_issued_at={**state.keys_issued_at, h: self.timestamp})


class StaffKeyRevoked(Event):
    """The key stops opening anything, at once; the staff member's other keys still work."""

    key_hash: str

    def apply(self, state: Tenant) -> Tenant:
        h = self.key_hash
        revoked = state.keys[h].model_copy(update={"revoked": True})
        return self.evolve(state, keys={**state.keys, h: revoked},
                           keys_revoked_at={**state.keys_revoked_at, h: self.timestamp})


class SettingsChanged(Event):
    """The settings after the change, whole: a reader needs no earlier event to know them."""

    settings: Settings

    def apply(self, state: Tenant) -> Tenant:
        return self.evolve(state, settings=self.settings)


class TierDowngradeRequested(Event):
    month: str
    tier: str

    def apply(self, state: Tenant) -> Tenant:
        return self.evolve(state, downgrades={**state.downgrades, self.month: self.tier})


# ---- decisions ----------------------------------------------------------------------

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def check_timezone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("unknown_timezone", f"{tz!r} is not an IANA time zone", timezone=tz) from None
    return tz


def create_tenant(
    tenant_id: UUID,
    meta: Meta,
    name: str,
    timezone: str,
    currency: str,
    tiers: list[tuple[str, int]],
    settings: Settings | None = None,
) -> list[Event]:
    if not name.strip():
        raise Invalid("name_required", "a tenant needs a name")
    check_timezone(timezone)
    if not is_currency(currency):
        raise Invalid("unknown_currency", f"{currency!r} is not an ISO 4217 currency", currency=currency)
    names = [t for t, _ in tiers]
    if len(set(names)) != len(names):
        raise Invalid("duplicate_tier", "tier names must be unique")
    ordered = sorted(tiers, key=lambda t: t[1])
    if any(m <= 0 for _, m in ordered) or len({m for _, m in ordered}) != len(ordered):
        raise Invalid("bad_tiers", "tier limits must be positive and distinct")
    return [
        TenantCreated.make(
            meta,
            tenant_id,
            1,
            name=name.strip(),
            timezone=timezone,
            currency=currency,
            tiers=tuple(Tier(name=n, max_active=m) for n, m in ordered),
            settings=settings or Settings(),
        )
    ]


def add_branch(t: Tenant, meta: Meta, branch_id: UUID, name: str, city: str) -> list[Event]:
    if branch_id in t.branches:
        b = t.branches[branch_id]
        if (b.name, b.city) == (name.strip(), city.strip()):
            return []
        raise Conflict("duplicate_id", f"branch {branch_id} exists with other details")
    if not name.strip() or not city.strip():
        raise Invalid("name_required", "a branch needs a name and a city")
    return [BranchAdded.next(t, meta, branch_id=branch_id, name=name.strip(), city=city.strip())]


def define_lesson_type(t: Tenant, meta: Meta, code: str, name: str, single_visit_price: int) -> list[Event]:
    if not _CODE.match(code):
        raise Invalid("bad_code", "a lesson type code is lowercase letters, digits and _", code=code)
    if single_visit_price < 0:
        raise Invalid("negative_price", "a single-visit price cannot be negative")
    existing = t.lesson_types.get(code)
    if existing and (existing.name, existing.single_visit_price) == (name, single_visit_price):
        return []
    return [LessonTypeDefined.next(t, meta, code=code, name=name, single_visit_price=single_visit_price)]


def define_custom_field(t: Tenant, meta: Meta, field: CustomField) -> list[Event]:
    if not _CODE.match(field.key):
        raise Invalid("bad_key", "a custom field key is lowercase letters, digits and _", key=field.key)
    if field.type == "choice" and not field.choices:
        raise Invalid("choices_required", "a choice field needs its choices", key=field.key)
    if field.type != "choice" and field.choices:
        raise Invalid("choices_not_allowed", "only choice fields have choices", key=field.key)
    if t.custom_fields.get(field.key) == field:
        return []
    return [CustomFieldDefined.next(t, meta, field=field)]


def issue_staff_key(t: Tenant, meta: Meta, key: StaffKey) -> list[Event]:
    if key.role not in ROLES:
        raise Invalid("unknown_role", f"unknown role {key.role!r}", role=key.role)
    if key.city is not None and key.city not in t.cities():
        raise Invalid("unknown_city", f"the tenant has no branch in {key.city!r}", city=key.city)
    return [StaffKeyIssued.next(t, meta, staff=key)]


# A command's business clock may run ahead of the server's by this much (clocks drift);
# beyond it, the instant is a typo that would lock the tenant out of its own present,
# since nothing may be recorded before the tenant's latest instant (API §6).
CLOCK_AHEAD_LIMIT = timedelta(minutes=5)


def check_not_ahead(at: datetime, server_now: datetime) -> None:
    """Refuse an instant more than ``CLOCK_AHEAD_LIMIT`` ahead of the server's clock."""
    if at - server_now > CLOCK_AHEAD_LIMIT:
        raise Invalid(
            "clock_ahead",
            "this command's time is more than 5 minutes ahead of the server's clock; is the year right?",
            at=at.isoformat(),
            server_now=server_now.isoformat(),
            limit_seconds=int(CLOCK_AHEAD_LIMIT.total_seconds()),
        )


def change_settings(
    t: Tenant,
    meta: Meta,
    *,
    unique_phones: bool | None = None,
    no_show_consumes: bool | None = None,
    locale: str | None = None,
) -> list[Event]:
    """DOMAIN §1.6: the settings given change, the others stay; a change to what they
    already are records nothing. Whether existing clients allow unique phones is the
    caller's to check (it needs their records)."""
    if locale is not None and locale not in LOCALES:
        raise Invalid("unknown_locale", f"the locale is one of {list(LOCALES)}", locale=locale)
    given = {k: v for k, v in (("unique_phones", unique_phones), ("no_show_consumes", no_show_consumes),
                               ("locale", locale)) if v is not None}
    new = t.settings.model_copy(update=given)
    if new == t.settings:
        return []
    return [SettingsChanged.next(t, meta, settings=new)]


# Who manages staff keys (DOMAIN §1.4): directors and above, each the keys of roles no
# higher than their own (the readers, accountant and operator, stand with admin), and a
# staff member bound to a city only keys bound to that city (DOMAIN §6.6). ``system`` is
# the command line, run by whoever runs the server: it manages every key.
MANAGES_KEYS = key_rank("director")
_KEY_IDS = UUID("3d0c4c84-5f8e-4a55-9e59-0f6b1c7d2a10")


def key_id(key_hash: str) -> UUID:
    """A key's public name, for lists and revocation: derived from its hash, so every key
    ever issued has one, and it says nothing about the key."""
    return uuid.uuid5(_KEY_IDS, key_hash)


def check_key_authority(manager_role: str, manager_city: str | None, role: str, city: str | None) -> None:
    """May a staff member of ``manager_role`` (bound to ``manager_city``) issue or revoke a
    key of ``role`` bound to ``city``? Raises ``Forbidden`` when not."""
    if manager_role == "system":
        return
    rank = key_rank(manager_role)
    if rank < MANAGES_KEYS:
        raise Forbidden("forbidden_role", "staff keys are managed by a director or above",
                        role=manager_role, needs="director")
    if key_rank(role) > rank:
        raise Forbidden("role_above_yours", f"a {manager_role} does not manage {role} keys",
                        role=manager_role, key_role=role)
    if manager_city is not None and (city is None or city_key(city) != city_key(manager_city)):
        raise Forbidden("other_city", f"you manage only the keys bound to {manager_city}",
                        city=manager_city, key_city=city)


def revoke_staff_key(t: Tenant, meta: Meta, kid: UUID, manager_role: str, manager_city: str | None) -> list[Event]:
    """Revoke one key (a lost phone, a staff member who left). Revoking a revoked key
    changes nothing."""
    key = t.key_by_id(kid)
    check_key_authority(manager_role, manager_city, key.role, key.city)
    if key.revoked:
        return []
    return [StaffKeyRevoked.next(t, meta, key_hash=key.key_hash)]


def request_tier_downgrade(t: Tenant, meta: Meta, month: str, tier: str) -> list[Event]:
    # DOMAIN §5.6: the request must arrive by the end of the month it applies to.
    try:
        y, m = (int(p) for p in month.split("-"))
        first = date(y, m, 1)
    except ValueError:
        raise Invalid("bad_month", "month is YYYY-MM", month=month) from None
    if tier not in {x.name for x in t.tiers}:
        raise Invalid("unknown_tier", f"no tier {tier!r}", tier=tier)
    today = meta.at.astimezone(t.zone).date()
    if (today.year, today.month) > (first.year, first.month):
        raise Conflict("too_late", f"a downgrade for {month} had to be requested by its last day")
    return [TierDowngradeRequested.next(t, meta, month=month, tier=tier)]


def validate_custom_values(t: Tenant, values: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check a client's custom-field values against the tenant's declarations (DOMAIN §2.1)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        decl = t.custom_fields.get(key)
        if decl is None:
            raise Invalid("unknown_custom_field", f"custom field {key!r} is not declared", field=key)
        if value is None:
            if decl.required:
                raise Invalid("custom_field_required", f"{decl.label} is required", field=key)
            continue
        ok = {
            "text": isinstance(value, str),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "choice": isinstance(value, str) and value in decl.choices,
            "date": isinstance(value, str) and _is_date(value),
        }[decl.type]
        if not ok:
            raise Invalid(
                "bad_custom_field",
                f"{decl.label}: expected {decl.type}" + (f" one of {list(decl.choices)}" if decl.choices else ""),
                field=key,
            )
        out[key] = value
    if not partial:
        for key, decl in t.custom_fields.items():
            if decl.required and key not in out:
                raise Invalid("custom_field_required", f"{decl.label} is required", field=key)
    return out


def _is_date(v: str) -> bool:
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return len(v) == 10
