"""The tenant's catalogue as staff read it (API §7): branches, lesson types, custom
fields, courses, pass templates, groups with their counts, and every registration.

Catalogue entries keep the order they were first recorded in (a redefined lesson type
or custom field keeps its place and shows its latest definition). A group carries
``registered`` (the seats taken) and ``waitlisted`` (the queue), following the group's
own seat and waitlist events (DOMAIN §3.2). Registrations are kept whatever becomes of
them, cancelled ones included, so the card can list them all (newest first).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

import orjson

from classledger.aggregates.course import (
    CourseCreated,
    GroupCreated,
    GroupSeatReleased,
    GroupSeatTaken,
    GroupWaitlistJoined,
    GroupWaitlistLeft,
)
from classledger.aggregates.passes import PassTemplateCreated
from classledger.aggregates.registration import (
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationCreated,
    RegistrationPromoted,
    RegistrationTransferred,
)
from classledger.aggregates.tenant import (
    BranchAdded,
    CustomFieldDefined,
    LessonTypeDefined,
    TenantCreated,
)
from classledger.ledger.money import format_minor
from classledger.projections.batch import update_many
from classledger.projections.paging import decode_cursor, sql_page
from classledger.projections.runtime import EventRecord, QueuedProjection, handles
from classledger.store.database import Database, Tx

Kind = Literal["branch", "lesson_type", "custom_field", "course", "pass_template"]
_META = frozenset({"originator_id", "originator_version", "timestamp", "tenant_id", "actor", "reason",
                   "idempotency_key", "class_version"})
_MONEY = {"lesson_type": ("single_visit_price",), "pass_template": ("price",)}
GroupState = Literal["running", "future", "ended"]


class Catalogue(QueuedProjection):
    name = "catalogue"
    version = 1
    tables = {
        "tenants": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT PRIMARY KEY, currency TEXT NOT NULL)",
        "entries": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, "
            "seq BIGINT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (tenant_id, kind, key))"
        ),
        "groups": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, group_id TEXT NOT NULL, seq BIGINT NOT NULL, "
            "course_id TEXT NOT NULL, branch_id TEXT NOT NULL, name TEXT NOT NULL, capacity INTEGER NOT NULL, "
            "starts_on TEXT NOT NULL, ends_on TEXT NOT NULL, registered INTEGER NOT NULL, "
            "waitlisted INTEGER NOT NULL, PRIMARY KEY (tenant_id, group_id))"
        ),
        "registrations": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, reg_id TEXT NOT NULL, client_id TEXT NOT NULL, "
            "group_id TEXT NOT NULL, course_id TEXT NOT NULL, state TEXT NOT NULL, seq BIGINT NOT NULL, "
            "PRIMARY KEY (tenant_id, reg_id))"
        ),
    }
    indexes = [
        "CREATE INDEX IF NOT EXISTS {t_entries}_by_seq ON {t_entries} (tenant_id, kind, seq)",
        "CREATE INDEX IF NOT EXISTS {t_groups}_by_seq ON {t_groups} (tenant_id, seq)",
        "CREATE INDEX IF NOT EXISTS {t_registrations}_by_client ON {t_registrations} (tenant_id, client_id, seq)",
        "CREATE INDEX IF NOT EXISTS {t_registrations}_by_group ON {t_registrations} (tenant_id, group_id, seq)",
    ]

    # ---- events -----------------------------------------------------------------------

    def __init__(self, db: Database, *, suffix: str = "") -> None:
        super().__init__(db, suffix=suffix)
        # Groups and registrations are inserted over the page in a few statements, then
        # each changed group's counts and each changed registration's latest state once (a
        # group's seats, a registration's state only ever change after it was created, so
        # inserts first keeps the events' order). Catalogue entries, rare, flush first.
        self._counts: dict[tuple[str, str], list[int]] = {}  # (tenant, group) -> [registered, waitlisted] steps
        self._reg_state: dict[tuple[str, str], str] = {}
        self._reg_group: dict[tuple[str, str], str] = {}

    def flush_held(self, tx: Tx) -> None:
        dialect = self.db.dialect
        counts, self._counts = self._counts, {}
        states, self._reg_state = self._reg_state, {}
        moved, self._reg_group = self._reg_group, {}
        group = (("tenant_id", "text"), ("group_id", "text"))
        update_many(tx, dialect, self.t("groups"), group, (("registered", "integer"), ("waitlisted", "integer")),
                    [(*k, *v) for k, v in counts.items()], add=True)
        reg = (("tenant_id", "text"), ("reg_id", "text"))
        update_many(tx, dialect, self.t("registrations"), reg, (("group_id", "text"),), [(*k, v) for k, v in moved.items()])
        update_many(tx, dialect, self.t("registrations"), reg, (("state", "text"),), [(*k, v) for k, v in states.items()])

    def forget_held(self) -> None:
        self._counts, self._reg_state, self._reg_group = {}, {}, {}

    @handles(TenantCreated)
    def _tenant(self, tx: Tx, ev: EventRecord) -> None:
        self._queue.add(f"INSERT INTO {self.t('tenants')} (tenant_id, currency)", ("text", "text"),
                        (str(ev.tenant_id), ev.data["currency"]), "ON CONFLICT (tenant_id) DO NOTHING")

    @handles(BranchAdded)
    def _branch(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        self._entry(tx, ev, "branch", str(d["branch_id"]), {"id": str(d["branch_id"]), "name": d["name"], "city": d["city"]})

    @handles(LessonTypeDefined)
    def _lesson_type(self, tx: Tx, ev: EventRecord) -> None:
        self._entry(tx, ev, "lesson_type", ev.data["code"], _fields(ev.data))

    @handles(CustomFieldDefined)
    def _custom_field(self, tx: Tx, ev: EventRecord) -> None:
        field = dict(ev.data["field"])
        field["choices"] = list(field.get("choices") or [])
        self._entry(tx, ev, "custom_field", field["key"], field)

    @handles(CourseCreated)
    def _course(self, tx: Tx, ev: EventRecord) -> None:
        self._entry(tx, ev, "course", str(ev.aggregate_id), {"id": str(ev.aggregate_id), **_fields(ev.data)})

    @handles(PassTemplateCreated)
    def _template(self, tx: Tx, ev: EventRecord) -> None:
        self._entry(tx, ev, "pass_template", str(ev.aggregate_id), {"id": str(ev.aggregate_id), **_fields(ev.data)})

    def _entry(self, tx: Tx, ev: EventRecord, kind: Kind, key: str, data: dict[str, Any]) -> None:
        self.finish_page(tx)  # what the page holds goes first (events' order)
        self._sql(
            tx,
            f"INSERT INTO {self.t('entries')} (tenant_id, kind, key, seq, data) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (tenant_id, kind, key) DO UPDATE SET data = excluded.data",
            (str(ev.tenant_id), kind, key, ev.id, orjson.dumps(data).decode()),
        )

    @handles(GroupCreated)
    def _group(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        self._queue.add(
            f"INSERT INTO {self.t('groups')} (tenant_id, group_id, seq, course_id, branch_id, name, capacity, starts_on, "
            "ends_on, registered, waitlisted)",
            ("text", "text", "bigint", "text", "text", "text", "integer", "text", "text", "integer", "integer"),
            (str(ev.tenant_id), str(ev.aggregate_id), ev.id, str(d["course_id"]), str(d["branch_id"]), d["name"],
             int(d["capacity"]), str(d["starts_on"]), str(d["ends_on"]), 0, 0),
            "ON CONFLICT (tenant_id, group_id) DO NOTHING",
        )

    @handles(GroupSeatTaken, GroupSeatReleased, GroupWaitlistJoined, GroupWaitlistLeft)
    def _count(self, tx: Tx, ev: EventRecord) -> None:
        column = 0 if ev.type.startswith("GroupSeat") else 1  # registered, waitlisted
        step = 1 if ev.type in ("GroupSeatTaken", "GroupWaitlistJoined") else -1
        self._counts.setdefault((str(ev.tenant_id), str(ev.aggregate_id)), [0, 0])[column] += step

    @handles(RegistrationCreated)
    def _registered(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        self._queue.add(
            f"INSERT INTO {self.t('registrations')} (tenant_id, reg_id, client_id, group_id, course_id, state, seq)",
            ("text", "text", "text", "text", "text", "text", "bigint"),
            (str(ev.tenant_id), str(ev.aggregate_id), str(d["client_id"]), str(d["group_id"]), str(d["course_id"]),
             d["state"], ev.id),
            "ON CONFLICT (tenant_id, reg_id) DO NOTHING",
        )

    @handles(RegistrationConfirmed, RegistrationPromoted, RegistrationCancelled, RegistrationTransferred)
    def _registration(self, tx: Tx, ev: EventRecord) -> None:
        key = (str(ev.tenant_id), str(ev.aggregate_id))
        if ev.type == "RegistrationTransferred":
            self._reg_group[key] = str(ev.data["to_group_id"])
            self._reg_state[key] = ev.data["state"]
        else:
            self._reg_state[key] = "cancelled" if ev.type == "RegistrationCancelled" else "registered"

    # ---- reads ------------------------------------------------------------------------

    def _currency(self, tx: Tx, tenant_id: UUID) -> str:
        row = tx.one(f"SELECT currency FROM {self.t('tenants')} WHERE tenant_id = ?", (str(tenant_id),))
        return str(row[0]) if row else "EUR"

    def entries(self, tenant_id: UUID, kind: Kind, *, limit: int, cursor: str | None) -> dict[str, Any]:
        """One kind of catalogue entry, in the order first recorded, paged (API §7)."""
        params: list[Any] = [str(tenant_id), kind]
        after = ""
        if cursor:
            (seq,) = decode_cursor(cursor, 1)
            after, params = " AND seq > ?", [*params, int(seq)]
        with self.db.read() as tx:
            (total,) = tx.one(f"SELECT COUNT(*) FROM {self.t('entries')} WHERE tenant_id = ? AND kind = ?",
                              (str(tenant_id), kind)) or (0,)
            rows = tx.execute(f"SELECT seq, data FROM {self.t('entries')} WHERE tenant_id = ? AND kind = ?{after} "
                              "ORDER BY seq LIMIT ?", [*params, limit + 1])
            currency = self._currency(tx, tenant_id)
        shown, next_cursor = sql_page(rows, limit, lambda r: [int(r[0])])
        return {"items": [_money(kind, orjson.loads(r[1]), currency) for r in shown], "total": int(total),
                "next_cursor": next_cursor}

    def entry(self, tenant_id: UUID, kind: Kind, key: str) -> dict[str, Any] | None:
        with self.db.read() as tx:
            row = tx.one(f"SELECT data FROM {self.t('entries')} WHERE tenant_id = ? AND kind = ? AND key = ?",
                         (str(tenant_id), kind, key))
            currency = self._currency(tx, tenant_id)
        return None if row is None else _money(kind, orjson.loads(row[0]), currency)

    def groups(self, tenant_id: UUID, *, today: date, course_id: UUID | None = None, branch_id: UUID | None = None,
               state: GroupState | None = None, limit: int, cursor: str | None) -> dict[str, Any]:
        """Groups with their capacity and counts (API §7); ``state`` on the tenant's ``today`` (DOMAIN §3.1)."""
        where, params = ["tenant_id = ?"], [str(tenant_id)]
        if course_id is not None:
            where.append("course_id = ?")
            params.append(str(course_id))
        if branch_id is not None:
            where.append("branch_id = ?")
            params.append(str(branch_id))
        day = today.isoformat()
        if state == "future":
            where.append("starts_on > ?")
            params.append(day)
        elif state == "ended":
            where.append("ends_on < ?")
            params.append(day)
        elif state == "running":
            where.append("starts_on <= ? AND ends_on >= ?")
            params += [day, day]
        base = f"FROM {self.t('groups')} WHERE " + " AND ".join(where)
        after: list[Any] = []
        page_where = ""
        if cursor:
            (seq,) = decode_cursor(cursor, 1)
            page_where, after = " AND seq > ?", [int(seq)]
        with self.db.read() as tx:
            (total,) = tx.one(f"SELECT COUNT(*) {base}", params) or (0,)
            rows = tx.execute(f"SELECT seq, {_GROUP} {base}{page_where} ORDER BY seq LIMIT ?", [*params, *after, limit + 1])
        shown, next_cursor = sql_page(rows, limit, lambda r: [int(r[0])])
        return {"items": [_group(r[1:], today) for r in shown], "total": int(total), "next_cursor": next_cursor}

    def group(self, tenant_id: UUID, group_id: UUID, *, today: date) -> dict[str, Any] | None:
        with self.db.read() as tx:
            row = tx.one(f"SELECT {_GROUP} FROM {self.t('groups')} WHERE tenant_id = ? AND group_id = ?",
                         (str(tenant_id), str(group_id)))
        return None if row is None else _group(row, today)

    def registrations_of(self, tenant_id: UUID, client_id: UUID) -> list[dict[str, Any]]:
        """Every registration of the client with its state, cancelled ones included, newest first."""
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT reg_id, group_id, course_id, state FROM {self.t('registrations')} "
                "WHERE tenant_id = ? AND client_id = ? ORDER BY seq DESC",
                (str(tenant_id), str(client_id)),
            )
        return [{"id": r[0], "group_id": r[1], "state": r[3]} for r in rows]

    def keys(self, tenant_id: UUID, kind: Kind) -> list[str]:
        """Every key of one kind of entry, in the order first recorded (not paged: an internal read)."""
        with self.db.read() as tx:
            rows = tx.execute(f"SELECT key FROM {self.t('entries')} WHERE tenant_id = ? AND kind = ? ORDER BY seq",
                              (str(tenant_id), kind))
        return [str(r[0]) for r in rows]

    def registrations_of_many(self, tenant_id: UUID, client_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """``registrations_of`` for a page of clients, in one statement."""
        out: dict[str, list[dict[str, Any]]] = {c: [] for c in client_ids}
        if not client_ids:
            return out
        marks = ", ".join("?" * len(client_ids))
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT client_id, reg_id, group_id, course_id, state FROM {self.t('registrations')} "
                f"WHERE tenant_id = ? AND client_id IN ({marks}) ORDER BY seq DESC", (str(tenant_id), *client_ids))
        for r in rows:
            out[str(r[0])].append({"id": r[1], "group_id": r[2], "state": r[4]})
        return out

    def registration_states(self, tenant_id: UUID, reg_ids: list[str]) -> dict[str, str]:
        if not reg_ids:
            return {}
        marks = ", ".join("?" * len(reg_ids))
        with self.db.read() as tx:
            rows = tx.execute(f"SELECT reg_id, state FROM {self.t('registrations')} WHERE tenant_id = ? "
                              f"AND reg_id IN ({marks})", (str(tenant_id), *reg_ids))
        return {str(r[0]): str(r[1]) for r in rows}


_GROUP = "group_id, course_id, branch_id, name, capacity, starts_on, ends_on, registered, waitlisted"


def _group(r: tuple[Any, ...], today: date) -> dict[str, Any]:
    gid, course, branch, name, capacity, starts, ends, registered, waitlisted = r
    day = today.isoformat()
    state = "future" if day < starts else "ended" if day > ends else "running"
    return {"id": gid, "course_id": course, "branch_id": branch, "name": name, "capacity": int(capacity),
            "starts_on": starts, "ends_on": ends, "state": state, "registered": int(registered),
            "waitlisted": int(waitlisted)}


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _META}


def _money(kind: Kind, data: dict[str, Any], currency: str) -> dict[str, Any]:
    for k in _MONEY.get(kind, ()):
        if isinstance(data.get(k), int):
            data[k] = format_minor(data[k], currency)
    return data
