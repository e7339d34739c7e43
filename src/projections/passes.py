"""Passes as the card and the reports see them (DOMAIN §4.11, API §3).

One row per pass with its figures after its latest event (every pass event carries
them: see ``aggregates.passes``), and one row per holder, so a multi-client pass shows on
each of its clients' cards. Remainders (§4.11) are the lessons left on the passes valid
on the day asked, per lesson type. The passes report lists passes whose validity
overlaps a range, to find the expired or unused ones to restore (§4.5).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import orjson

from classledger.aggregates.passes import (
    LessonsTransferredOut,
    PassBroken,
    PassEnded,
    PassLessonReturned,
    PassLessonsUsed,
    PassPaid,
    PassSold,
    PassValidityChanged,
)
from classledger.aggregates.tenant import TenantCreated
from classledger.ledger.money import format_minor
from classledger.projections.batch import update_many
from classledger.projections.runtime import EventRecord, QueuedProjection, handles
from classledger.store.database import Database, Tx

_FIELDS = ("pass_id", "template_id", "lesson_type", "lessons_total", "remaining", "valid_from", "valid_until",
           "status", "client_ids", "branch_id", "price", "currency", "payment", "origin", "sold_us")
_SELECT = ", ".join("p." + f for f in _FIELDS)
_TYPES = ("text", "text", "text", "integer", "integer", "text", "text", "text", "text", "text", "bigint", "text", "text",
          "text", "bigint", "text")


class PassBook(QueuedProjection):
    name = "passes"
    version = 1
    tables = {
        "tenants": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT PRIMARY KEY, currency TEXT NOT NULL)",
        "passes": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, pass_id TEXT NOT NULL, template_id TEXT, "
            "lesson_type TEXT NOT NULL, lessons_total INTEGER NOT NULL, remaining INTEGER NOT NULL, "
            "valid_from TEXT NOT NULL, valid_until TEXT NOT NULL, status TEXT NOT NULL, client_ids TEXT NOT NULL, "
            "branch_id TEXT NOT NULL, price BIGINT NOT NULL, currency TEXT NOT NULL, payment TEXT NOT NULL, "
            "origin TEXT NOT NULL, sold_us BIGINT NOT NULL, PRIMARY KEY (tenant_id, pass_id))"
        ),
        "holders": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, "
            "pass_id TEXT NOT NULL, PRIMARY KEY (tenant_id, client_id, pass_id))"
        ),
    }
    indexes = [
        "CREATE INDEX IF NOT EXISTS {t_passes}_by_until ON {t_passes} (tenant_id, valid_until)",
    ]

    def __init__(self, db: Database, *, suffix: str = "") -> None:
        super().__init__(db, suffix=suffix)
        # Every write waits for the page's end: the inserts in a few multi-row statements,
        # then each changed pass's latest figures once (a pass's figures are only ever
        # changed after its sale, so inserts first keeps the events' order). One statement
        # per visit was a round trip each on PostgreSQL.
        self._currency: dict[str, str] = {}  # tenants' currencies read or queued this page
        self._held_figures: dict[tuple[str, str], tuple[int, int, str]] = {}
        self._validity: dict[tuple[str, str], tuple[str, str]] = {}

    def flush_held(self, tx: Tx) -> None:
        dialect = self.db.dialect
        figures, self._held_figures = self._held_figures, {}
        validity, self._validity = self._validity, {}
        self._currency = {}
        key = (("tenant_id", "text"), ("pass_id", "text"))
        update_many(tx, dialect, self.t("passes"), key,
                    (("lessons_total", "integer"), ("remaining", "integer"), ("status", "text")),
                    [(*k, *v) for k, v in figures.items()])
        # The validity is rewritten only when it moved: setting an indexed column, even to
        # its own value, rewrites its index entry, one more page for every visit's commit.
        update_many(tx, dialect, self.t("passes"), key, (("valid_from", "text"), ("valid_until", "text")),
                    [(*k, *v) for k, v in validity.items()], only_changed=True)

    def forget_held(self) -> None:
        self._currency, self._held_figures, self._validity = {}, {}, {}

    @handles(TenantCreated)
    def _tenant(self, tx: Tx, ev: EventRecord) -> None:
        t = str(ev.tenant_id)
        self._queue.add(f"INSERT INTO {self.t('tenants')} (tenant_id, currency)", ("text", "text"),
                        (t, ev.data["currency"]), "ON CONFLICT (tenant_id) DO NOTHING")
        self._currency.setdefault(t, ev.data["currency"])

    def _tenant_currency(self, tx: Tx, tenant: str) -> str:
        currency = self._currency.get(tenant)
        if currency is None:
            row = tx.one(f"SELECT currency FROM {self.t('tenants')} WHERE tenant_id = ?", (tenant,))
            currency = self._currency[tenant] = row[0] if row else "EUR"
        return currency

    @handles(PassSold)
    def _sold(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        t = str(ev.tenant_id)
        pass_id = str(ev.aggregate_id)
        self._queue.add(
            f"INSERT INTO {self.t('passes')} ({', '.join(_FIELDS)}, tenant_id)", _TYPES,
            (pass_id, d.get("template_id"), d["lesson_type"], d["lessons_total"], d["remaining"],
             d["valid_from"], d["valid_until"], d.get("status", "active"), orjson.dumps(d["client_ids"]).decode(),
             d["branch_id"], d["price"], self._tenant_currency(tx, t), d["payment"], d.get("origin", "sale"),
             ev.at_us, t),
            "ON CONFLICT (tenant_id, pass_id) DO NOTHING",
        )
        for cid in d["client_ids"]:
            self._queue.add(f"INSERT INTO {self.t('holders')} (tenant_id, client_id, pass_id)", ("text", "text", "text"),
                            (t, cid, pass_id), "ON CONFLICT (tenant_id, client_id, pass_id) DO NOTHING")

    @handles(PassLessonsUsed, PassLessonReturned, PassValidityChanged, PassBroken, PassPaid, LessonsTransferredOut, PassEnded)
    def _figures(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        key = (str(ev.tenant_id), str(ev.aggregate_id))
        self._held_figures[key] = (d["lessons_total"], d["remaining"], d.get("status", "active"))
        self._validity[key] = (d["valid_from"], d["valid_until"])

    # ---- reads ----------------------------------------------------------------------

    def card_part(self, tenant_id: UUID, client_id: UUID, day: date) -> dict[str, Any]:
        """``remainders`` and ``passes`` of the client card (API §3) on the tenant's ``day``."""
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT {_SELECT} FROM {self.t('passes')} p JOIN {self.t('holders')} h "
                "ON h.tenant_id = p.tenant_id AND h.pass_id = p.pass_id WHERE h.tenant_id = ? AND h.client_id = ? "
                "ORDER BY p.valid_until DESC, p.sold_us DESC, p.pass_id",
                (str(tenant_id), str(client_id)),
            )
            passes = [_item(r, day) for r in rows]
        remainders: dict[str, int] = {}
        for p in passes:
            if p["valid"]:
                remainders[p["lesson_type"]] = remainders.get(p["lesson_type"], 0) + p["lessons_remaining"]
        return {"remainders": dict(sorted(remainders.items())), "passes": passes}

    def card_parts(self, tenant_id: UUID, client_ids: list[str], day: date) -> dict[str, dict[str, Any]]:
        """``card_part`` for a page of clients, in one statement."""
        out: dict[str, dict[str, Any]] = {c: {"remainders": {}, "passes": []} for c in client_ids}
        if not client_ids:
            return out
        marks = ", ".join("?" * len(client_ids))
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT h.client_id, {_SELECT} FROM {self.t('passes')} p JOIN {self.t('holders')} h "
                f"ON h.tenant_id = p.tenant_id AND h.pass_id = p.pass_id WHERE h.tenant_id = ? AND h.client_id IN ({marks}) "
                "ORDER BY p.valid_until DESC, p.sold_us DESC, p.pass_id",
                (str(tenant_id), *client_ids),
            )
        for r in rows:
            part = out[str(r[0])]
            p = _item(r[1:], day)
            part["passes"].append(p)
            if p["valid"]:
                part["remainders"][p["lesson_type"]] = part["remainders"].get(p["lesson_type"], 0) + p["lessons_remaining"]
        for part in out.values():
            part["remainders"] = dict(sorted(part["remainders"].items()))
        return out

    def report(self, tenant_id: UUID, *, start: date | None, end: date | None, include_expired: bool,
               today: date) -> list[dict[str, Any]]:
        """Passes whose validity overlaps [start, end] (either open); expired ones only if asked."""
        sql = f"SELECT {_SELECT} FROM {self.t('passes')} p WHERE p.tenant_id = ?"
        params: list[Any] = [str(tenant_id)]
        if start is not None:
            sql += " AND p.valid_until >= ?"
            params.append(start.isoformat())
        if end is not None:
            sql += " AND p.valid_from <= ?"
            params.append(end.isoformat())
        if not include_expired:
            sql += " AND p.valid_until >= ?"
            params.append(today.isoformat())
        sql += " ORDER BY p.valid_until, p.sold_us, p.pass_id"
        with self.db.read() as tx:
            return [_item(r, today) for r in tx.execute(sql, params)]


def _item(r: tuple[Any, ...], day: date) -> dict[str, Any]:
    (pid, template_id, lesson_type, total, remaining, vf, vu, status, client_ids, branch_id, price, currency,
     payment, origin, _sold) = r
    valid = status == "active" and vf <= day.isoformat() <= vu
    state = status if status != "active" else ("expired" if vu < day.isoformat() else
                                                "future" if vf > day.isoformat() else
                                                "used_up" if remaining == 0 else "valid")
    return {
        "id": pid, "template_id": template_id, "lesson_type": lesson_type, "lessons_total": int(total),
        "lessons_remaining": int(remaining), "valid_from": vf, "valid_until": vu, "state": state,
        "valid": valid, "client_ids": orjson.loads(client_ids), "branch_id": branch_id,
        "price": format_minor(int(price), currency), "payment": payment, "origin": origin,
        "unused": int(remaining) == int(total),
    }
