"""The client directory: search and the client card (DOMAIN §2.7, API §3).

Search rules:

- **Names** are stored folded: transliterated to ASCII with unidecode, case-folded,
  whitespace collapsed. A query is folded the same way and matched as a substring, so
  "ľubica", "LUBICA" and "Ľubica" all find "Ľubica Šťastná", "mart" finds "Märt", and
  "юлия" finds "Юлия" (both fold to "iuliia", which is also what a Latin-script "iuliia"
  query finds; "yuliia" is another transliteration and does not).
- **Phones** are matched on digits only, as a substring of either phone, whatever the
  formatting on either side, once the query looks like a phone (digits and ``+ - ( ) . /``
  and spaces, at least 3 digits). Leading zeros of the query are dropped (a national
  trunk "0" or an international "00"), so "0905 123" finds "+421 905 123 456". A query in
  international form ("+421 905 123 456") also tries itself without a 1–3 digit country
  code, so it finds the same number stored nationally as "0905 123 456". Two numbers that
  share those digits in that place both match: a list to pick from, not a key.
- **Email and card number**: folded substring.
- Filters: ``tag`` (exact), ``branch_id``, ``status`` (active/inactive at an instant, from
  the activity timeline through ``active_sql``: being active is a matter of time, not a
  stored flag), ``include`` archived and/or deleted (both hidden by default).
- Paging: ordered by (folded name, id), a total order; the cursor is the last row's key,
  base64 of JSON, so pages never skip or repeat a row however many are added meanwhile
  before the cursor. ``total`` counts every match, not the rest.
"""

from __future__ import annotations

import base64
import re
from datetime import date, datetime, timedelta
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
from unidecode import unidecode

from classledger.ledger.money import format_minor
from classledger.projections.runtime import EventRecord, Projection, handles
from classledger.store.codec import EPOCH
from classledger.store.database import Tx

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
INCLUDE = frozenset({"archived", "deleted"})
_PHONE_QUERY = re.compile(r"[\d\s+\-()./]+")
MIN_PHONE_QUERY = 3
MIN_NATIONAL = 7  # digits left after taking a country code off an international query


def fold(text: str) -> str:
    return " ".join(unidecode(text).casefold().split())


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def phone_patterns(q: str) -> list[str]:
    """The digit strings a phone-like query stands for (see the module's rules)."""
    if not _PHONE_QUERY.fullmatch(q):
        return []
    d = digits(q)
    if len(d) < MIN_PHONE_QUERY:
        return []
    national = d.lstrip("0") or d
    out = {national}
    if q.lstrip().startswith("+") or d.startswith("00"):
        for cc in (1, 2, 3):
            if len(national) - cc >= MIN_NATIONAL:
                out.add(national[cc:])
    return sorted(out)


class CursorError(ValueError):
    pass


def _encode_cursor(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(list(key))).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        name, cid = orjson.loads(raw)
        if not isinstance(name, str) or not isinstance(cid, str):
            raise ValueError
        return name, cid
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise CursorError("the cursor is not one this API gave out") from None


COLUMNS = (
    "client_id", "name", "birth_date", "phones", "email", "card_number", "branch_id", "tags", "custom_fields",
    "parent_id", "member_ids", "freezes", "archived", "deleted", "waitlist", "next_call", "photo", "notes",
    "consents", "preferences", "version", "name_folded",
)
_SELECT = ", ".join("c." + x for x in COLUMNS)


class ClientDirectory(Projection):
    name = "clients"
    version = 2
    tables = {
        "tenants": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT PRIMARY KEY, currency TEXT NOT NULL, "
            "timezone TEXT NOT NULL)"
        ),
        "clients": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, name TEXT NOT NULL, "
            "name_folded TEXT NOT NULL, birth_date TEXT, phones TEXT NOT NULL, phone_digits TEXT NOT NULL, "
            "email TEXT, email_folded TEXT, card_number TEXT, card_folded TEXT, branch_id TEXT NOT NULL, "
            "tags TEXT NOT NULL, custom_fields TEXT NOT NULL, preferences TEXT NOT NULL, parent_id TEXT, "
            "member_ids TEXT NOT NULL, freezes TEXT NOT NULL, archived INTEGER NOT NULL, deleted INTEGER NOT NULL, "
            "waitlist TEXT, next_call TEXT, photo TEXT, notes TEXT, consents TEXT NOT NULL, "
            "version INTEGER NOT NULL, PRIMARY KEY (tenant_id, client_id))"
        ),
        "tags": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, tag TEXT NOT NULL, "
            "PRIMARY KEY (tenant_id, client_id, tag))"
        ),
    }
    indexes = [
        "CREATE INDEX IF NOT EXISTS {t_clients}_by_name ON {t_clients} (tenant_id, name_folded, client_id)",
        "CREATE INDEX IF NOT EXISTS {t_tags}_by_tag ON {t_tags} (tenant_id, tag)",
    ]

    # ---- events -----------------------------------------------------------------

    @handles("TenantCreated")
    def _tenant(self, tx: Tx, ev: EventRecord) -> None:
        tx.execute(
            f"INSERT INTO {self.t('tenants')} (tenant_id, currency, timezone) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant_id) DO NOTHING",
            (str(ev.tenant_id), ev.data["currency"], ev.data["timezone"]),
        )

    @handles("ClientRegistered")
    def _registered(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        at = _instant(ev)
        consents = {k: {"given": v, "at": at} for k, v in d.get("consents", {}).items()}
        phones = d.get("phones", [])
        tx.execute(
            f"INSERT INTO {self.t('clients')} (tenant_id, client_id, name, name_folded, birth_date, phones, "
            "phone_digits, email, email_folded, card_number, card_folded, branch_id, tags, custom_fields, "
            "preferences, parent_id, member_ids, freezes, archived, deleted, waitlist, next_call, photo, notes, "
            "consents, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '[]', '[]', 0, 0, NULL, NULL, ?, ?, ?, ?) "
            "ON CONFLICT (tenant_id, client_id) DO NOTHING",
            (
                str(ev.tenant_id), str(ev.aggregate_id), d["name"], fold(d["name"]), d.get("birth_date"),
                _j(phones), _phone_digits(phones), d.get("email"), _fold_or_none(d.get("email")),
                d.get("card_number"), _fold_or_none(d.get("card_number")), d["branch_id"],
                _j(sorted(d.get("tags", []))), _j(d.get("custom_fields", {})), _j(d.get("preferences", {})),
                d.get("photo"), d.get("notes"), _j(consents), ev.version,
            ),
        )
        for tag in d.get("tags", []):
            self._tag(tx, ev, tag)

    @handles("ClientDetailsChanged")
    def _changed(self, tx: Tx, ev: EventRecord) -> None:
        sets: dict[str, Any] = {}
        for k, v in ev.data["changes"].items():
            match k:
                case "name":
                    sets.update(name=v, name_folded=fold(v))
                case "phones":
                    sets.update(phones=_j(v), phone_digits=_phone_digits(v))
                case "email":
                    sets.update(email=v, email_folded=_fold_or_none(v))
                case "card_number":
                    sets.update(card_number=v, card_folded=_fold_or_none(v))
                case "custom_fields" | "preferences":
                    sets[k] = _j(v)
                case "birth_date" | "branch_id" | "photo" | "notes":
                    sets[k] = v
                case _:
                    # A field the aggregate gained and this projection does not know yet: fail
                    # loudly rather than serve a card that silently lacks it.
                    raise KeyError(f"ClientDirectory does not know the client field {k!r}")
        self._set(tx, ev, **sets)

    @handles("ClientConsentsChanged")
    def _consents(self, tx: Tx, ev: EventRecord) -> None:
        consents = orjson.loads(self._get(tx, ev, "consents"))
        at = _instant(ev)
        consents.update({k: {"given": v, "at": at} for k, v in ev.data["consents"].items()})
        self._set(tx, ev, consents=_j(consents))

    @handles("ClientTagged")
    def _tagged(self, tx: Tx, ev: EventRecord) -> None:
        self._tag(tx, ev, ev.data["tag"])
        self._sync_tags(tx, ev)

    @handles("ClientUntagged")
    def _untagged(self, tx: Tx, ev: EventRecord) -> None:
        tx.execute(
            f"DELETE FROM {self.t('tags')} WHERE tenant_id = ? AND client_id = ? AND tag = ?",
            (str(ev.tenant_id), str(ev.aggregate_id), ev.data["tag"]),
        )
        self._sync_tags(tx, ev)

    @handles("FamilyMemberLinked", "FamilyMemberUnlinked")
    def _members(self, tx: Tx, ev: EventRecord) -> None:
        members = [m for m in orjson.loads(self._get(tx, ev, "member_ids")) if m != ev.data["member_id"]]
        if ev.type == "FamilyMemberLinked":
            members.append(ev.data["member_id"])
        self._set(tx, ev, member_ids=_j(members))

    @handles("FamilyParentLinked", "FamilyParentUnlinked")
    def _parent(self, tx: Tx, ev: EventRecord) -> None:
        self._set(tx, ev, parent_id=ev.data["parent_id"] if ev.type == "FamilyParentLinked" else None)

    @handles("ClientFrozen")
    def _frozen(self, tx: Tx, ev: EventRecord) -> None:
        freezes = orjson.loads(self._get(tx, ev, "freezes"))
        freezes.append([ev.data["start"], ev.data["end"]])
        self._set(tx, ev, freezes=_j(sorted(freezes)))

    @handles("ClientArchived", "ClientRestored", "ClientDeleted")
    def _lifecycle(self, tx: Tx, ev: EventRecord) -> None:
        if ev.type == "ClientDeleted":
            self._set(tx, ev, deleted=1)
        else:
            self._set(tx, ev, archived=int(ev.type == "ClientArchived"))

    @handles("ClientJoinedWaitlist", "ClientLeftWaitlist")
    def _waitlist(self, tx: Tx, ev: EventRecord) -> None:
        wl = {"instructor": ev.data.get("instructor"), "comment": ev.data.get("comment")}
        self._set(tx, ev, waitlist=_j(wl) if ev.type == "ClientJoinedWaitlist" else None)

    @handles("NextCallScheduled")
    def _next_call(self, tx: Tx, ev: EventRecord) -> None:
        self._set(tx, ev, next_call=ev.data["on"])

    def _tag(self, tx: Tx, ev: EventRecord, tag: str) -> None:
        tx.execute(
            f"INSERT INTO {self.t('tags')} (tenant_id, client_id, tag) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (str(ev.tenant_id), str(ev.aggregate_id), tag),
        )

    def _sync_tags(self, tx: Tx, ev: EventRecord) -> None:
        rows = tx.execute(
            f"SELECT tag FROM {self.t('tags')} WHERE tenant_id = ? AND client_id = ? ORDER BY tag",
            (str(ev.tenant_id), str(ev.aggregate_id)),
        )
        self._set(tx, ev, tags=_j([r[0] for r in rows]))

    def _get(self, tx: Tx, ev: EventRecord, column: str) -> Any:
        row = tx.one(
            f"SELECT {column} FROM {self.t('clients')} WHERE tenant_id = ? AND client_id = ?",
            (str(ev.tenant_id), str(ev.aggregate_id)),
        )
        return row[0] if row else None

    def _set(self, tx: Tx, ev: EventRecord, **columns: Any) -> None:
        columns["version"] = ev.version
        assignments = ", ".join(f"{k} = ?" for k in columns)
        tx.execute(
            f"UPDATE {self.t('clients')} SET {assignments} WHERE tenant_id = ? AND client_id = ?",
            (*columns.values(), str(ev.tenant_id), str(ev.aggregate_id)),
        )

    # ---- queries ----------------------------------------------------------------------

    def search(
        self,
        tenant_id: UUID,
        *,
        q: str | None = None,
        tag: str | None = None,
        status: Literal["active", "inactive"] | None = None,
        branch_id: UUID | None = None,
        include: frozenset[str] = frozenset(),
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        active_sql: tuple[str, tuple[Any, ...]] | None = None,
        active: bool | None = None,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """``GET /v1/clients`` (API §3): ``{"items", "total", "next_cursor"}``.

        ``active_sql`` selects the ids of the clients active at the instant asked (the
        activity timeline's ``active_subquery``); without it nobody counts as active.
        ``status`` and ``active`` say the same thing; ``active`` is the older spelling.
        ``at`` is the instant the items' ``frozen`` is judged at (without it, false).
        """
        if include - INCLUDE:
            raise ValueError(f"include is a subset of {sorted(INCLUDE)}")
        if status is not None:
            if status not in ("active", "inactive"):
                raise ValueError("status is active or inactive")
            active = status == "active"
        limit = max(1, min(limit, MAX_LIMIT))
        where = ["c.tenant_id = ?"]
        params: list[Any] = [str(tenant_id)]
        for state in sorted(INCLUDE - include):
            where.append(f"c.{state} = 0")
        text = (q or "").strip()
        if text:
            like = f"%{_like(fold(text))}%"
            alternatives = [f"c.{col} LIKE ? ESCAPE '\\'" for col in ("name_folded", "email_folded", "card_folded")]
            params += [like] * 3
            for pattern in phone_patterns(text):
                alternatives.append("c.phone_digits LIKE ?")
                params.append(f"%{pattern}%")
            where.append("(" + " OR ".join(alternatives) + ")")
        if tag:
            where.append(
                f"EXISTS (SELECT 1 FROM {self.t('tags')} g WHERE g.tenant_id = c.tenant_id "
                "AND g.client_id = c.client_id AND g.tag = ?)"
            )
            params.append(tag.strip())
        if branch_id is not None:
            where.append("c.branch_id = ?")
            params.append(str(branch_id))
        if active is not None:
            if active_sql is not None:
                sql, sql_params = active_sql
                where.append(f"c.client_id {'IN' if active else 'NOT IN'} ({sql})")
                params += list(sql_params)
            elif active:
                where.append("1 = 0")
        base = f"FROM {self.t('clients')} c WHERE " + " AND ".join(where)
        page_where, page_params = "", []
        if cursor:
            name, cid = _decode_cursor(cursor)
            page_where = " AND (c.name_folded > ? OR (c.name_folded = ? AND c.client_id > ?))"
            page_params = [name, name, cid]
        with self.db.read() as tx:
            (total,) = tx.one(f"SELECT COUNT(*) {base}", params) or (0,)
            rows = tx.execute(
                f"SELECT {_SELECT} {base}{page_where} ORDER BY c.name_folded, c.client_id LIMIT ?",
                [*params, *page_params, limit + 1],
            )
            currency, zone = self._tenant_info(tx, tenant_id)
        more = len(rows) > limit
        rows = rows[:limit]
        today = _local_day(at, zone)
        items = [_card(r, currency, today) for r in rows]
        next_cursor = _encode_cursor((rows[-1][-1], rows[-1][0])) if more and rows else None
        return {"items": items, "total": int(total), "next_cursor": next_cursor}

    def card(
        self, tenant_id: UUID, client_id: UUID, *, at: datetime | None = None, today: date | None = None
    ) -> dict[str, Any] | None:
        """The client card (API §3), deleted clients included (they say so).

        ``frozen`` is judged on the tenant's local date of ``at`` (or on ``today`` when the
        caller already has it); with neither it is false. Balance, remainders, passes,
        registrations and ``active`` belong to other read models: here they are the values
        of a client with none of them, which callers overwrite.
        """
        with self.db.read() as tx:
            row = tx.one(
                f"SELECT {_SELECT} FROM {self.t('clients')} c WHERE c.tenant_id = ? AND c.client_id = ?",
                (str(tenant_id), str(client_id)),
            )
            currency, zone = self._tenant_info(tx, tenant_id)
        if row is None:
            return None
        return _card(row, currency, today if today is not None else _local_day(at, zone))

    def timezone(self, tenant_id: UUID) -> str | None:
        with self.db.read() as tx:
            row = tx.one(f"SELECT timezone FROM {self.t('tenants')} WHERE tenant_id = ?", (str(tenant_id),))
        return row[0] if row else None

    def _tenant_info(self, tx: Tx, tenant_id: UUID) -> tuple[str, str]:
        row = tx.one(f"SELECT currency, timezone FROM {self.t('tenants')} WHERE tenant_id = ?", (str(tenant_id),))
        # A tenant's clients cannot precede its TenantCreated, so the row exists whenever
        # there is anything to show; the fallback only serves an empty answer.
        return (row[0], row[1]) if row else ("EUR", "UTC")


def _card(r: tuple[Any, ...], currency: str, today: date | None) -> dict[str, Any]:
    (cid, name, birth, phones, email, card_no, branch, tags, custom, parent, members, freezes, archived, deleted,
     waitlist, next_call, photo, notes, consents, preferences, version, _folded) = r
    periods = orjson.loads(freezes)
    frozen = today is not None and any(date.fromisoformat(a) <= today <= date.fromisoformat(b) for a, b in periods)
    return {
        "id": cid,
        "name": name,
        "birth_date": birth,
        "phones": orjson.loads(phones),
        "email": email,
        "card_number": card_no,
        "branch_id": branch,
        "tags": orjson.loads(tags),
        "custom_fields": orjson.loads(custom),
        "family": {"parent_id": parent, "member_ids": orjson.loads(members)},
        "archived": bool(archived),
        "deleted": bool(deleted),
        "frozen": frozen,
        "freezes": periods,
        "active": False,
        "balance": {"total": format_minor(0, currency), "by_city": {}},
        "remainders": {},
        "passes": [],
        "registrations": [],
        "waitlist": orjson.loads(waitlist) if waitlist else None,
        "next_call": next_call,
        "photo": photo,
        "notes": notes,
        "consents": orjson.loads(consents),
        "preferences": orjson.loads(preferences),
        "version": version,
    }


def _local_day(at: datetime | None, zone: str) -> date | None:
    return None if at is None else at.astimezone(ZoneInfo(zone)).date()


def _instant(ev: EventRecord) -> str:
    """The event's instant as the aggregate records it (UTC ISO), from the stored column."""
    return (EPOCH + timedelta(microseconds=ev.at_us)).isoformat()


def _phone_digits(phones: list[str]) -> str:
    # Space-separated, so a query never matches across the end of one phone and the next.
    return " ".join(digits(p) for p in phones)


def _fold_or_none(text: str | None) -> str | None:
    return fold(text) if text else None


def _j(value: Any) -> str:
    return orjson.dumps(value).decode()


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
