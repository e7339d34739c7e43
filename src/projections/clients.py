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
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson
from unidecode import unidecode

from classledger.aggregates.client import (
    ClientArchived,
    ClientConsentsChanged,
    ClientDeleted,
    ClientDetailsChanged,
    ClientErased,
    ClientFrozen,
    ClientJoinedWaitlist,
    ClientLeftWaitlist,
    ClientRegistered,
    ClientRestored,
    ClientTagged,
    ClientUntagged,
    FamilyMemberLinked,
    FamilyMemberUnlinked,
    FamilyParentLinked,
    FamilyParentUnlinked,
    NextCallScheduled,
)
from classledger.aggregates.tenant import TenantCreated
from classledger.instants import iso
from classledger.ledger.money import format_minor
from classledger.projections.batch import in_keys, insert_many
from classledger.projections.runtime import EventRecord, PagedProjection, handles
from classledger.store.database import Tx

DEFAULT_LIMIT = 100  # API §7
MAX_LIMIT = 1000
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
    "consents", "preferences", "version", "name_folded", "erased",
)
_SELECT = ", ".join("c." + x for x in COLUMNS)
_FOLDED = COLUMNS.index("name_folded")


class ClientDirectory(PagedProjection["_ClientPage"]):
    name = "clients"
    version = 3
    erasure_tables = ("clients", "tags")  # what ``ClientErased`` empties (System.scrub)
    stageable = True  # handlers only read; every write waits for the page's flush
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
            "version INTEGER NOT NULL, erased INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tenant_id, client_id))"
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
    #
    # Handlers change rows held in memory for the page (``_ClientPage``: read once per
    # client, or in bulk by ``prefetch``) and ``finish_page`` writes every changed row
    # in a few multi-row statements: no read or write per event.


    def new_page(self, tx: Tx) -> _ClientPage:
        return _ClientPage(self, tx)

    def prefetch(self, tx: Tx, records: Sequence[EventRecord]) -> None:
        keys = {(str(ev.tenant_id), str(ev.aggregate_id)) for ev in records if ev.type in _CLIENT_EVENTS}
        self._page(tx).load(keys)


    @handles(TenantCreated)
    def _tenant(self, tx: Tx, ev: EventRecord) -> None:
        self._page(tx).tenants.append((str(ev.tenant_id), ev.data["currency"], ev.data["timezone"]))

    @handles(ClientRegistered)
    def _registered(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        page = self._page(tx)
        key = (str(ev.tenant_id), str(ev.aggregate_id))
        if page.row(key) is None:
            at = _instant(ev)
            consents = {k: {"given": v, "at": at} for k, v in d.get("consents", {}).items()}
            phones = d.get("phones", [])
            page.put(key, {
                "tenant_id": key[0], "client_id": key[1], "name": d["name"], "name_folded": fold(d["name"]),
                "birth_date": d.get("birth_date"), "phones": _j(phones), "phone_digits": _phone_digits(phones),
                "email": d.get("email"), "email_folded": _fold_or_none(d.get("email")),
                "card_number": d.get("card_number"), "card_folded": _fold_or_none(d.get("card_number")),
                "branch_id": d["branch_id"], "tags": _j(sorted(d.get("tags", []))),
                "custom_fields": _j(d.get("custom_fields", {})), "preferences": _j(d.get("preferences", {})),
                "parent_id": None, "member_ids": "[]", "freezes": "[]", "archived": 0, "deleted": 0,
                "waitlist": None, "next_call": None, "photo": d.get("photo"), "notes": d.get("notes"),
                "consents": _j(consents), "version": ev.version, "erased": 0,
            })
        tags = page.tags(key)
        for tag in d.get("tags", []):
            tags.add(tag)

    @handles(ClientDetailsChanged)
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

    @handles(ClientConsentsChanged)
    def _consents(self, tx: Tx, ev: EventRecord) -> None:
        consents = orjson.loads(self._get(tx, ev, "consents"))
        at = _instant(ev)
        consents.update({k: {"given": v, "at": at} for k, v in ev.data["consents"].items()})
        self._set(tx, ev, consents=_j(consents))

    @handles(ClientTagged)
    def _tagged(self, tx: Tx, ev: EventRecord) -> None:
        tags = self._page(tx).tags((str(ev.tenant_id), str(ev.aggregate_id)))
        tags.add(ev.data["tag"])
        self._set(tx, ev, tags=_j(sorted(tags)))

    @handles(ClientUntagged)
    def _untagged(self, tx: Tx, ev: EventRecord) -> None:
        tags = self._page(tx).tags((str(ev.tenant_id), str(ev.aggregate_id)))
        tags.discard(ev.data["tag"])
        self._set(tx, ev, tags=_j(sorted(tags)))

    @handles(FamilyMemberLinked, FamilyMemberUnlinked)
    def _members(self, tx: Tx, ev: EventRecord) -> None:
        members = [m for m in orjson.loads(self._get(tx, ev, "member_ids")) if m != ev.data["member_id"]]
        if ev.type == "FamilyMemberLinked":
            members.append(ev.data["member_id"])
        self._set(tx, ev, member_ids=_j(members))

    @handles(FamilyParentLinked, FamilyParentUnlinked)
    def _parent(self, tx: Tx, ev: EventRecord) -> None:
        self._set(tx, ev, parent_id=ev.data["parent_id"] if ev.type == "FamilyParentLinked" else None)

    @handles(ClientFrozen)
    def _frozen(self, tx: Tx, ev: EventRecord) -> None:
        freezes = orjson.loads(self._get(tx, ev, "freezes"))
        freezes.append([ev.data["start"], ev.data["end"]])
        self._set(tx, ev, freezes=_j(sorted(freezes)))

    @handles(ClientArchived, ClientRestored, ClientDeleted)
    def _lifecycle(self, tx: Tx, ev: EventRecord) -> None:
        if ev.type == "ClientDeleted":
            self._set(tx, ev, deleted=1)
        else:
            self._set(tx, ev, archived=int(ev.type == "ClientArchived"))

    @handles(ClientErased)
    def _erased(self, tx: Tx, ev: EventRecord) -> None:
        """DOMAIN §2.9: every personal column and search key emptied; ids, family links
        (already undone by the same command), freezes and flags stay."""
        self._page(tx).tags((str(ev.tenant_id), str(ev.aggregate_id))).clear()
        self._set(tx, ev, **ERASED_COLUMNS)

    @handles(ClientJoinedWaitlist, ClientLeftWaitlist)
    def _waitlist(self, tx: Tx, ev: EventRecord) -> None:
        wl = {"instructor": ev.data.get("instructor"), "comment": ev.data.get("comment")}
        self._set(tx, ev, waitlist=_j(wl) if ev.type == "ClientJoinedWaitlist" else None)

    @handles(NextCallScheduled)
    def _next_call(self, tx: Tx, ev: EventRecord) -> None:
        self._set(tx, ev, next_call=ev.data["on"])

    def _get(self, tx: Tx, ev: EventRecord, column: str) -> Any:
        row = self._page(tx).row((str(ev.tenant_id), str(ev.aggregate_id)))
        return row[column] if row else None

    def _set(self, tx: Tx, ev: EventRecord, **columns: Any) -> None:
        page = self._page(tx)
        key = (str(ev.tenant_id), str(ev.aggregate_id))
        row = page.row(key)
        if row is None:
            return  # as an UPDATE of no row: a client this directory never saw
        row.update(columns)
        row["version"] = ev.version
        page.dirty.add(key)

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
        where.append("c.erased = 0")  # nothing is left to find an erased client by (DOMAIN §2.9)
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
        next_cursor = _encode_cursor((rows[-1][_FOLDED], rows[-1][0])) if more and rows else None
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

    def names(self, tenant_id: UUID, client_ids: list[str]) -> dict[str, str]:
        """The names of some clients, by id, in one statement (deleted ones included, erased
        ones left out: DOMAIN §2.9)."""
        if not client_ids:
            return {}
        with self.db.read() as tx:
            where, params = in_keys(self.db.dialect, client_ids)
            rows = tx.execute(f"SELECT client_id, name FROM {self.t('clients')} WHERE tenant_id = ? AND client_id {where} "
                              "AND erased = 0", (str(tenant_id), *params))  # an erased client has no name
        return {str(r[0]): str(r[1]) for r in rows}

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
     waitlist, next_call, photo, notes, consents, preferences, version, _folded, erased) = r
    periods = orjson.loads(freezes)
    frozen = today is not None and any(date.fromisoformat(a) <= today <= date.fromisoformat(b) for a, b in periods)
    return {
        "id": cid,
        "name": None if erased else name,
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
        **({"erased": True} if erased else {}),
    }


def _local_day(at: datetime | None, zone: str) -> date | None:
    return None if at is None else at.astimezone(ZoneInfo(zone)).date()


def _instant(ev: EventRecord) -> str:
    """The event's instant as the aggregate records it (UTC ISO), from the stored column."""
    return iso(ev.at_us)


def _phone_digits(phones: list[str]) -> str:
    # Space-separated, so a query never matches across the end of one phone and the next.
    return " ".join(digits(p) for p in phones)


def _fold_or_none(text: str | None) -> str | None:
    return fold(text) if text else None


def _j(value: Any) -> str:
    return orjson.dumps(value).decode()


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_CLIENT_EVENTS = frozenset(t for t in ClientDirectory.handlers if t != "TenantCreated")
ROW_COLUMNS = (
    "tenant_id", "client_id", "name", "name_folded", "birth_date", "phones", "phone_digits", "email", "email_folded",
    "card_number", "card_folded", "branch_id", "tags", "custom_fields", "preferences", "parent_id", "member_ids",
    "freezes", "archived", "deleted", "waitlist", "next_call", "photo", "notes", "consents", "version", "erased",
)
ROW_TYPES = tuple("integer" if c in ("archived", "deleted", "version", "erased") else "text" for c in ROW_COLUMNS)
# What an erased client's row holds in place of its personal data (DOMAIN §2.9).
ERASED_COLUMNS: dict[str, Any] = {
    "name": "", "name_folded": "", "birth_date": None, "phones": "[]", "phone_digits": "", "email": None,
    "email_folded": None, "card_number": None, "card_folded": None, "tags": "[]", "custom_fields": "{}",
    "preferences": "{}", "waitlist": None, "photo": None, "notes": None, "consents": "{}", "erased": 1,
}
_CHUNK = 500
ClientKey = tuple[str, str]


class _ClientPage:
    """The rows one page of events touches, read at most once and written once at its end."""

    def __init__(self, p: ClientDirectory, tx: Tx) -> None:
        self.p = p
        self.tx = tx
        self.rows: dict[ClientKey, dict[str, Any] | None] = {}
        self.dirty: set[ClientKey] = set()
        self.tag_sets: dict[ClientKey, set[str]] = {}
        self.tags_before: dict[ClientKey, frozenset[str]] = {}
        self.tenants: list[tuple[str, str, str]] = []

    def row(self, key: ClientKey) -> dict[str, Any] | None:
        if key not in self.rows:
            self.load({key})
        return self.rows[key]

    def put(self, key: ClientKey, row: dict[str, Any]) -> None:
        self.rows[key] = row
        self.dirty.add(key)

    def tags(self, key: ClientKey) -> set[str]:
        if key not in self.tag_sets:
            self._load_tags([key])
        return self.tag_sets[key]

    def load(self, keys: set[ClientKey]) -> None:
        """Read the rows (and tags) of ``keys`` not held yet: one query per tenant and chunk."""
        missing = sorted(k for k in keys if k not in self.rows)
        if not missing:
            return
        cols = ", ".join(ROW_COLUMNS)
        for tenant, ids in _by_tenant(missing):
            where, params = in_keys(self.p.db.dialect, ids)
            for r in self.tx.execute(
                f"SELECT {cols} FROM {self.p.t('clients')} WHERE tenant_id = ? AND client_id {where}", (tenant, *params)
            ):
                self.rows[(r[0], r[1])] = dict(zip(ROW_COLUMNS, r, strict=True))
        for k in missing:
            self.rows.setdefault(k, None)
        self._load_tags([k for k in missing if k not in self.tag_sets])

    def _load_tags(self, keys: list[ClientKey]) -> None:
        for k in keys:
            self.tag_sets[k] = set()
        for tenant, ids in _by_tenant(sorted(keys)):
            where, params = in_keys(self.p.db.dialect, ids)
            for t, cid, tag in self.tx.execute(
                f"SELECT tenant_id, client_id, tag FROM {self.p.t('tags')} WHERE tenant_id = ? AND client_id {where}",
                (tenant, *params),
            ):
                self.tag_sets[(t, cid)].add(tag)
        for k in keys:
            self.tags_before[k] = frozenset(self.tag_sets[k])

    def flush(self) -> None:
        tx, p, d = self.tx, self.p, self.p.db.dialect
        insert_many(tx, d, f"INSERT INTO {p.t('tenants')} (tenant_id, currency, timezone)", ("text",) * 3, self.tenants,
                    "ON CONFLICT (tenant_id) DO NOTHING")
        if self.dirty:
            updates = ", ".join(f"{c} = excluded.{c}" for c in ROW_COLUMNS[2:])
            rows = [self.rows[k] for k in sorted(self.dirty)]
            insert_many(tx, d, f"INSERT INTO {p.t('clients')} ({', '.join(ROW_COLUMNS)})", ROW_TYPES,
                        [tuple(r[c] for c in ROW_COLUMNS) for r in rows if r is not None],
                        f"ON CONFLICT (tenant_id, client_id) DO UPDATE SET {updates}")
        gone: list[tuple[str, str, str]] = []
        added: list[tuple[str, str, str]] = []
        for k in sorted(self.tag_sets):
            now, before = self.tag_sets[k], self.tags_before[k]
            gone += [(*k, tag) for tag in sorted(before - now)]
            added += [(*k, tag) for tag in sorted(now - before)]
        if gone:
            tx.executemany(f"DELETE FROM {p.t('tags')} WHERE tenant_id = ? AND client_id = ? AND tag = ?", gone)
        insert_many(tx, d, f"INSERT INTO {p.t('tags')} (tenant_id, client_id, tag)", ("text",) * 3, added,
                    "ON CONFLICT DO NOTHING")


def _by_tenant(keys: Sequence[ClientKey]) -> list[tuple[str, list[str]]]:
    """Sorted keys grouped by tenant, in chunks a statement's parameters can carry."""
    out: list[tuple[str, list[str]]] = []
    for tenant, cid in keys:
        if not out or out[-1][0] != tenant or len(out[-1][1]) >= _CHUNK:
            out.append((tenant, []))
        out[-1][1].append(cid)
    return out
