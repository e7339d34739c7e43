"""The client directory: search and the client card (DOMAIN §2.7, API §3).

Names are kept folded (transliterated to ASCII with unidecode, then case-folded), so
"ľubica", "LUBICA" and "Ľubica" all find "Ľubica Šťastná", and "юлия" finds "Юлия" as
well as "iuliia". Phones are matched on digits only, whatever the formatting. Being
active is a matter of time, not of a stored flag: the ``status`` filter and the card's
``active`` ask the activity timeline about a given instant.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import orjson
from unidecode import unidecode

from classledger.ledger.money import format_minor
from classledger.projections.runtime import EventRecord, Projection, handles
from classledger.store.database import Tx


def fold(text: str) -> str:
    return unidecode(text).casefold().strip()


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


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
    "client_id, name, birth_date, phones, email, card_number, branch_id, tags, custom_fields, parent_id, "
    "member_ids, freezes, archived, deleted, waitlist, next_call, photo, notes, consents, version"
)


class ClientDirectory(Projection):
    name = "clients"
    version = 1
    tables = {
        "currency": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT PRIMARY KEY, currency TEXT NOT NULL, timezone TEXT NOT NULL)",
        "clients": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, name TEXT NOT NULL, "
            "name_folded TEXT NOT NULL, birth_date TEXT, phones TEXT NOT NULL, phone_digits TEXT NOT NULL, "
            "email TEXT, email_folded TEXT, card_number TEXT, branch_id TEXT NOT NULL, tags TEXT NOT NULL, "
            "custom_fields TEXT NOT NULL, parent_id TEXT, member_ids TEXT NOT NULL, freezes TEXT NOT NULL, "
            "archived INTEGER NOT NULL, deleted INTEGER NOT NULL, waitlist TEXT, next_call TEXT, photo TEXT, "
            "notes TEXT, consents TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (tenant_id, client_id))"
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
            f"INSERT INTO {self.t('currency')} (tenant_id, currency, timezone) VALUES (?, ?, ?) "
            "ON CONFLICT (tenant_id) DO NOTHING",
            (str(ev.tenant_id), ev.data["currency"], ev.data["timezone"]),
        )

    @handles("ClientRegistered")
    def _registered(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        at = datetime.fromisoformat(d["timestamp"]).astimezone(UTC).isoformat()
        consents = {k: {"given": v, "at": at} for k, v in d.get("consents", {}).items()}
        tx.execute(
            f"INSERT INTO {self.t('clients')} (tenant_id, client_id, name, name_folded, birth_date, phones, "
            "phone_digits, email, email_folded, card_number, branch_id, tags, custom_fields, parent_id, member_ids, "
            "freezes, archived, deleted, waitlist, next_call, photo, notes, consents, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, '[]', '[]', 0, 0, NULL, NULL, ?, ?, ?, ?) "
            "ON CONFLICT (tenant_id, client_id) DO NOTHING",
            (
                str(ev.tenant_id), str(ev.aggregate_id), d["name"], fold(d["name"]), d.get("birth_date"),
                _j(d.get("phones", [])), " ".join(digits(p) for p in d.get("phones", [])), d.get("email"),
                fold(d["email"]) if d.get("email") else None, d.get("card_number"), d["branch_id"],
                _j(sorted(d.get("tags", []))), _j(d.get("custom_fields", {})), d.get("photo"), d.get("notes"),
                _j(consents), ev.version,
            ),
        )
        for tag in d.get("tags", []):
            self._tag(tx, ev, tag)

    @handles("ClientDetailsChanged")
    def _changed(self, tx: Tx, ev: EventRecord) -> None:
        sets: dict[str, Any] = {}
        for k, v in ev.data["changes"].items():
            if k == "name":
                sets.update(name=v, name_folded=fold(v))
            elif k == "phones":
                sets.update(phones=_j(v), phone_digits=" ".join(digits(p) for p in v))
            elif k == "email":
                sets.update(email=v, email_folded=fold(v) if v else None)
            elif k in ("custom_fields", "preferences"):
                if k == "custom_fields":
                    sets[k] = _j(v)
            else:
                sets[k] = v
        self._set(tx, ev, **sets)

    @handles("ClientConsentsChanged")
    def _consents(self, tx: Tx, ev: EventRecord) -> None:
        row = self._get(tx, ev, "consents")
        consents = orjson.loads(row)
        at = datetime.fromisoformat(ev.data["timestamp"]).astimezone(UTC).isoformat()
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
        members = orjson.loads(self._get(tx, ev, "member_ids"))
        if ev.type == "FamilyMemberLinked":
            members.append(ev.data["member_id"])
        else:
            members = [m for m in members if m != ev.data["member_id"]]
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
        branch_id: UUID | None = None,
        include: frozenset[str] = frozenset(),
        active_sql: tuple[str, tuple[Any, ...]] | None = None,
        active: bool | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """``GET /v1/clients`` (API §3). ``active_sql`` selects the active ids at the instant asked."""
        where = ["c.tenant_id = ?"]
        params: list[Any] = [str(tenant_id)]
        if "archived" not in include:
            where.append("c.archived = 0")
        if "deleted" not in include:
            where.append("c.deleted = 0")
        if q:
            alternatives = ["c.name_folded LIKE ?", "c.email_folded LIKE ?", "c.card_number = ?"]
            params += [f"%{_like(fold(q))}%", f"%{_like(fold(q))}%", q.strip()]
            # Digits only (§2.7); a national trunk "0" is dropped so "0905 123" finds "+421 905 123 456".
            d = digits(q).lstrip("0")
            if len(d) >= 3 and len(d) >= len(q.strip().replace(" ", "")) - 4:
                alternatives.append("c.phone_digits LIKE ?")
                params.append(f"%{d}%")
            where.append("(" + " OR ".join(f"{a} ESCAPE '\\'" if "LIKE" in a else a for a in alternatives) + ")")
        if tag:
            where.append(f"EXISTS (SELECT 1 FROM {self.t('tags')} g WHERE g.tenant_id = c.tenant_id AND g.client_id = c.client_id AND g.tag = ?)")
            params.append(tag)
        if branch_id:
            where.append("c.branch_id = ?")
            params.append(str(branch_id))
        if active is not None and active_sql is not None:
            sql, sql_params = active_sql
            where.append(f"c.client_id {'IN' if active else 'NOT IN'} ({sql})")
            params += list(sql_params)
        base = f"FROM {self.t('clients')} c WHERE " + " AND ".join(where)
        page_where, page_params = "", []
        if cursor:
            name, cid = _decode_cursor(cursor)
            page_where = " AND (c.name_folded > ? OR (c.name_folded = ? AND c.client_id > ?))"
            page_params = [name, name, cid]
        with self.db.read() as tx:
            (total,) = tx.one(f"SELECT COUNT(*) {base}", params) or (0,)
            rows = tx.execute(
                f"SELECT {', '.join('c.' + x.strip() for x in COLUMNS.split(','))}, c.name_folded {base}{page_where} "
                "ORDER BY c.name_folded, c.client_id LIMIT ?",
                [*params, *page_params, limit + 1],
            )
            currency = self._currency(tx, tenant_id)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [self._card(r, currency) for r in rows]
        next_cursor = _encode_cursor((rows[-1][-1], rows[-1][0])) if more and rows else None
        return {"items": items, "total": int(total), "next_cursor": next_cursor}

    def card(self, tenant_id: UUID, client_id: UUID, *, today: date | None = None) -> dict[str, Any] | None:
        """The client card (API §3); ``frozen`` is judged on ``today`` (the tenant's local date)."""
        with self.db.read() as tx:
            row = tx.one(
                f"SELECT {COLUMNS}, name_folded FROM {self.t('clients')} WHERE tenant_id = ? AND client_id = ?",
                (str(tenant_id), str(client_id)),
            )
            currency = self._currency(tx, tenant_id)
        if row is None:
            return None
        card = self._card(row, currency)
        if today is not None:
            card["frozen"] = any(date.fromisoformat(a) <= today <= date.fromisoformat(b) for a, b in card["freezes"])
        return card

    def timezone(self, tenant_id: UUID) -> str | None:
        with self.db.read() as tx:
            row = tx.one(f"SELECT timezone FROM {self.t('currency')} WHERE tenant_id = ?", (str(tenant_id),))
        return row[0] if row else None

    def _currency(self, tx: Tx, tenant_id: UUID) -> str:
        row = tx.one(f"SELECT currency FROM {self.t('currency')} WHERE tenant_id = ?", (str(tenant_id),))
        return row[0] if row else "EUR"

    @staticmethod
    def _card(r: tuple[Any, ...], currency: str) -> dict[str, Any]:
        (cid, name, birth, phones, email, card_no, branch, tags, custom, parent, members, freezes, archived, deleted,
         waitlist, next_call, photo, notes, consents, version, _folded) = r
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
            "frozen": False,
            "freezes": orjson.loads(freezes),
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
            "version": version,
        }


def _j(value: Any) -> str:
    return orjson.dumps(value).decode()


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
