"""The activity timeline: active clients as of any instant, and the monthly peak (DOMAIN §5).

One set of rules (``Rules``) applies events to a state of groups, registrations, credits
and per-client eligibility (``activity_model.ClientActivity``). The live projection keeps
that state in tables (cached over a page, flushed at its end) and derives each client's
active intervals into ``intervals``. The month replay (§5.7) keeps it in dicts, starting
from the snapshot the projection took at the month's start, and reads only that tenant's
events of that month. Both produce the report through ``activity_model.month_report``.

Snapshots (§5.7): when the first event of a later month reaches the projection, every
month since the last snapshot has ended, and a row of ``month_state`` is written for each
month's start. A row is a *delta*: only the groups, registrations, credits and clients
changed since the tenant's previous row (``null`` for one that is gone), with the
previous month's tier (§5.6) and the tenant's downgrade requests in full. ``changes``
holds the keys changed since the tenant's last row, so that a row costs what changed,
not the tenant's whole state (a full state per month made a tenant's year cost about 13
passes over everything it held). ``month_start`` folds a tenant's rows up to a month back
into the state at that month's start.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson

from classledger.aggregates.client import (
    ClientArchived,
    ClientDeleted,
    ClientRegistered,
    ClientRestored,
)
from classledger.aggregates.course import GroupCreated
from classledger.aggregates.passes import (
    LessonsTransferredOut,
    PassEnded,
    PassLessonReturned,
    PassLessonsUsed,
    PassSold,
    PassValidityChanged,
)
from classledger.aggregates.registration import (
    CreditGranted,
    CreditUsed,
    CreditVoided,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationCreated,
    RegistrationPromoted,
    RegistrationTransferred,
)
from classledger.aggregates.tenant import TenantCreated, TierDowngradeRequested
from classledger.projections.activity_model import (
    ClientActivity,
    Interval,
    Tier,
    day_start,
    end_of_day,
    month_bounds,
    month_of,
    month_report,
    next_month,
    peak_clients,
)
from classledger.projections.batch import delete_keys, in_keys, insert_many
from classledger.projections.runtime import (
    EventRecord,
    PagedProjection,
    decode,
    event_names,
    handles,
)
from classledger.store.database import Store, Tx

ARCHIVE_EVENTS = {"ClientArchived": "archived", "ClientDeleted": "deleted"}
RESTORE_EVENTS = {"ClientRestored"}


@dataclass
class TenantInfo:
    zone: ZoneInfo
    tiers: list[Tier]
    last_month: str | None = None
    downgrades: dict[str, str] = field(default_factory=dict)


@dataclass
class Reg:
    client_id: str
    group_id: str
    state: str


class State(ABC):
    """What the rules read and change; the projection and the replay store it differently."""

    @abstractmethod
    def tenant(self, tenant_id: str) -> TenantInfo | None: ...
    @abstractmethod
    def put_tenant(self, tenant_id: str, info: TenantInfo) -> None: ...
    @abstractmethod
    def group_end(self, tenant_id: str, group_id: str) -> str | None: ...
    @abstractmethod
    def put_group(self, tenant_id: str, group_id: str, ends_on: str) -> None: ...
    @abstractmethod
    def reg(self, tenant_id: str, reg_id: str) -> Reg | None: ...
    @abstractmethod
    def put_reg(self, tenant_id: str, reg_id: str, reg: Reg | None) -> None: ...
    @abstractmethod
    def credit(self, tenant_id: str, credit_id: str) -> str | None: ...
    @abstractmethod
    def put_credit(self, tenant_id: str, credit_id: str, client_id: str | None) -> None: ...
    @abstractmethod
    def client(self, tenant_id: str, client_id: str) -> tuple[ClientActivity, set[str]]: ...
    @abstractmethod
    def touch_client(self, tenant_id: str, client_id: str) -> None: ...

    def month_started(self, tenant_id: str, month: str) -> None:  # noqa: B027 - optional hook
        """Called before the first event of ``month`` for every month that began."""


class Rules:
    """How each event changes eligibility (DOMAIN §5.1–5.3, §2.5)."""

    def apply(self, st: State, ev: EventRecord) -> None:
        t = str(ev.tenant_id)
        d = ev.data
        if ev.type == "TenantCreated":
            tiers = [Tier(x["name"], int(x["max_active"])) for x in d.get("tiers", [])]
            zone = ZoneInfo(d["timezone"])
            st.put_tenant(t, TenantInfo(zone, tiers, month_of(ev.at_us, zone)))
            return
        if ev.type in LESSONS_LEFT_EVENTS and int(d["remaining"]) > 0:
            return  # a lesson used (or moved) and some remain: eligibility as before, nothing to read
        known = st.tenant(t)
        if known is None:
            return
        info = known
        month = month_of(ev.at_us, info.zone)
        if info.last_month is None or month > info.last_month:
            m = next_month(info.last_month) if info.last_month else month
            while m <= month:
                st.month_started(t, m)
                info.last_month = m
                m = next_month(m)
            st.put_tenant(t, info)
        at = ev.at_us
        rid = str(ev.aggregate_id)
        match ev.type:
            case "TierDowngradeRequested":
                info.downgrades[d["month"]] = d["tier"]
                st.put_tenant(t, info)
            case "ClientRegistered":
                st.client(t, rid)
                st.touch_client(t, rid)
            case "GroupCreated":
                st.put_group(t, rid, d["ends_on"])
            case "RegistrationCreated":
                new = Reg(str(d["client_id"]), str(d["group_id"]), d["state"])
                st.put_reg(t, rid, new)
                if new.state == "registered":
                    self._open_reg(st, t, info, rid, new, at)
            case "RegistrationConfirmed" | "RegistrationPromoted":
                reg = st.reg(t, rid)
                if reg is not None and reg.state != "registered":
                    reg.state = "registered"
                    st.put_reg(t, rid, reg)
                    self._open_reg(st, t, info, rid, reg, at)
            case "RegistrationCancelled":
                reg = st.reg(t, rid)
                if reg is not None:
                    self._close(st, t, reg.client_id, f"r:{rid}", at)
                    st.put_reg(t, rid, None)
            case "RegistrationTransferred":
                reg = st.reg(t, rid)
                if reg is not None:
                    self._close(st, t, reg.client_id, f"r:{rid}", at)
                    reg.group_id = str(d["to_group_id"])
                    reg.state = d["state"]
                    st.put_reg(t, rid, reg)
                    if reg.state == "registered":
                        self._open_reg(st, t, info, rid, reg, at)
            case "CreditGranted":
                client_id = str(d["client_id"])
                st.put_credit(t, rid, client_id)
                ends = end_of_day(date.fromisoformat(d["expires_on"]), info.zone)
                act, _ = st.client(t, client_id)
                act.open(f"c:{rid}", at, ends)
                st.touch_client(t, client_id)
            case "CreditUsed" | "CreditVoided":
                client_id_or_none = st.credit(t, rid)
                if client_id_or_none is not None:
                    self._close(st, t, client_id_or_none, f"c:{rid}", at)
                    st.put_credit(t, rid, None)
            case kind if kind in PASS_EVENTS:
                self._pass(st, t, info, f"p:{rid}", d, at)
            case kind if kind in ARCHIVE_EVENTS:
                act, flags = st.client(t, rid)
                flags.add(ARCHIVE_EVENTS[kind])
                act.block(at)
                st.touch_client(t, rid)
            case kind if kind in RESTORE_EVENTS:
                act, flags = st.client(t, rid)
                flags.clear()
                act.unblock(at)
                st.touch_client(t, rid)
            case _:
                pass

    def _open_reg(self, st: State, t: str, info: TenantInfo, rid: str, reg: Reg, at: int) -> None:
        ends_on = st.group_end(t, reg.group_id)
        end = end_of_day(date.fromisoformat(ends_on), info.zone) if ends_on else None
        act, _ = st.client(t, reg.client_id)
        act.open(f"r:{rid}", at, end)
        st.touch_client(t, reg.client_id)

    def _pass(self, st: State, t: str, info: TenantInfo, source: str, d: dict[str, Any], at: int) -> None:
        """DOMAIN §5.1 (c): a pass valid at t with lessons remaining makes its holders eligible.

        Every pass event carries the pass's figures after it; the pass's eligibility is
        redrawn from them: what already happened stays, what was still ahead (a validity
        that had not started, or an end now moved) is replaced. Consuming a lesson that
        leaves lessons changes nothing, so a visit costs no segment."""
        remaining, status = int(d["remaining"]), d.get("status", "active")
        start = max(at, day_start(date.fromisoformat(d["valid_from"]), info.zone))
        end = end_of_day(date.fromisoformat(d["valid_until"]), info.zone)
        for cid in d["client_ids"]:
            act, _ = st.client(t, str(cid))
            kept: list[list[int | None]] = []
            for seg in act.segments.get(source, []):
                s, e = seg
                assert s is not None
                if s >= at:
                    continue  # had not begun: redrawn below
                kept.append([s, at if e is None or e > at else e])
            if status == "active" and remaining > 0 and end > start:
                kept.append([start, end])
            if kept:
                act.segments[source] = kept
            else:
                act.segments.pop(source, None)
            st.touch_client(t, str(cid))

    def _close(self, st: State, t: str, client_id: str, source: str, at: int) -> None:
        act, _ = st.client(t, client_id)
        act.close(source, at)
        st.touch_client(t, client_id)


PASS_EVENTS = {"PassSold", "PassLessonsUsed", "PassLessonReturned", "PassValidityChanged", "LessonsTransferredOut",
               "PassEnded"}
LESSONS_LEFT_EVENTS = {"PassLessonsUsed", "LessonsTransferredOut"}
RULES = Rules()
HANDLED = (
    TenantCreated, TierDowngradeRequested, ClientRegistered, GroupCreated,
    RegistrationCreated, RegistrationConfirmed, RegistrationPromoted, RegistrationCancelled,
    RegistrationTransferred, CreditGranted, CreditUsed, CreditVoided,
    ClientArchived, ClientDeleted, ClientRestored,
    LessonsTransferredOut, PassEnded, PassLessonReturned,
    PassLessonsUsed, PassSold, PassValidityChanged,
)


_HANDLED = event_names(*HANDLED)
T2, T3, T4, T5 = (("text",) * n for n in (2, 3, 4, 5))


class ActivityTimeline(PagedProjection["_TableState"]):
    name = "activity"
    version = 3  # 2: passes make clients eligible (DOMAIN §5.1 (c)); 3: month_state rows are deltas
    weight = 4
    stageable = True  # handlers only read; month_state and changes are written by the flush
    tables = {
        "tenants": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT PRIMARY KEY, info TEXT NOT NULL)",
        "groups": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, group_id TEXT NOT NULL, ends_on TEXT NOT NULL, PRIMARY KEY (tenant_id, group_id))",
        "regs": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, reg_id TEXT NOT NULL, client_id TEXT NOT NULL, group_id TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (tenant_id, reg_id))",
        "credits": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, credit_id TEXT NOT NULL, client_id TEXT NOT NULL, PRIMARY KEY (tenant_id, credit_id))",
        "clients": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, model TEXT NOT NULL, flags TEXT NOT NULL, PRIMARY KEY (tenant_id, client_id))",
        "intervals": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, start_us BIGINT NOT NULL, end_us BIGINT)",
        "month_state": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, month TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (tenant_id, month))",
        # What changed since the tenant's last month_state row (kind: group, reg, credit, client).
        "changes": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tenant_id, kind, key))",
    }
    indexes = [
        "CREATE INDEX IF NOT EXISTS {t_intervals}_by_client ON {t_intervals} (tenant_id, client_id)",
        "CREATE INDEX IF NOT EXISTS {t_intervals}_by_start ON {t_intervals} (tenant_id, start_us)",
    ]


    @handles(*HANDLED)
    def _on_event(self, tx: Tx, ev: EventRecord) -> None:
        self._page(tx).apply_event(ev)

    def prefetch(self, tx: Tx, records: Sequence[EventRecord]) -> None:
        self._page(tx).prefetch(records)


    def new_page(self, tx: Tx) -> _TableState:
        return _TableState(self, tx)

    # ---- reads -------------------------------------------------------------------

    def tenant_info(self, tx: Tx, tenant_id: UUID) -> TenantInfo | None:
        row = tx.one(f"SELECT info FROM {self.t('tenants')} WHERE tenant_id = ?", (str(tenant_id),))
        return _info_from_json(row[0]) if row else None

    def intervals(self, tx: Tx, tenant_id: UUID, lo: int, hi: int) -> list[Interval]:
        rows = tx.execute(
            f"SELECT start_us, end_us FROM {self.t('intervals')} WHERE tenant_id = ? AND start_us < ? "
            "AND (end_us IS NULL OR end_us > ?)",
            (str(tenant_id), hi, lo),
        )
        return [(int(r[0]), None if r[1] is None else int(r[1])) for r in rows]

    def active_counts(self, tenant_id: UUID, at: int) -> dict[str, int]:
        """``GET /v1/reports/active-clients``: active, and inactive = known, not deleted, not active."""
        with self.db.read() as tx:
            (active,) = tx.one(
                f"SELECT COUNT(DISTINCT client_id) FROM {self.t('intervals')} WHERE tenant_id = ? AND start_us <= ? "
                "AND (end_us IS NULL OR end_us > ?)",
                (str(tenant_id), at, at),
            ) or (0,)
            (known,) = tx.one(
                f"SELECT COUNT(*) FROM {self.t('clients')} WHERE tenant_id = ? AND flags NOT LIKE ?",
                (str(tenant_id), '%deleted%'),
            ) or (0,)
        return {"active": int(active), "inactive": max(0, int(known) - int(active))}

    def is_active(self, tenant_id: UUID, client_id: UUID, at: int) -> bool:
        with self.db.read() as tx:
            row = tx.one(
                f"SELECT 1 FROM {self.t('intervals')} WHERE tenant_id = ? AND client_id = ? AND start_us <= ? "
                "AND (end_us IS NULL OR end_us > ?)",
                (str(tenant_id), str(client_id), at, at),
            )
        return row is not None

    def active_among(self, tenant_id: UUID, client_ids: list[str], at: int) -> set[str]:
        """Which of ``client_ids`` are active at ``at`` (``is_active`` for a page of clients)."""
        if not client_ids:
            return set()
        marks = ", ".join("?" * len(client_ids))
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT DISTINCT client_id FROM {self.t('intervals')} WHERE tenant_id = ? AND client_id IN ({marks}) "
                "AND start_us <= ? AND (end_us IS NULL OR end_us > ?)",
                (str(tenant_id), *client_ids, at, at),
            )
        return {str(r[0]) for r in rows}

    def registrations_of(self, tenant_id: UUID, client_id: UUID) -> list[dict[str, str]]:
        """The client's open registrations for the card (API §3)."""
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT reg_id, group_id, state FROM {self.t('regs')} WHERE tenant_id = ? AND client_id = ? ORDER BY reg_id",
                (str(tenant_id), str(client_id)),
            )
        return [{"id": r[0], "group_id": r[1], "state": r[2]} for r in rows]

    def active_subquery(self, tenant_id: UUID, at: int) -> tuple[str, tuple[Any, ...]]:
        """SQL selecting the ids of clients active at ``at`` (for the client list filter)."""
        return (
            f"SELECT client_id FROM {self.t('intervals')} WHERE tenant_id = ? AND start_us <= ? "
            "AND (end_us IS NULL OR end_us > ?)",
            (str(tenant_id), at, at),
        )

    def report(self, tenant_id: UUID, month: str, *, as_of: int) -> dict[str, Any] | None:
        """The live monthly report (§5.5–5.6) from the projection's intervals, with the
        clients counted in its peak and why (§5.8, ``peak_clients``)."""
        with self.db.read() as tx:
            info = self.tenant_info(tx, tenant_id)
            if info is None:
                return None
            _, _, lo, hi = month_bounds(month, info.zone)
            ivs = self.intervals(tx, tenant_id, lo, hi)
            previous = self.stored_previous_tier(tx, tenant_id, info, month, as_of)
        report = month_report(
            month, ivs, info.zone, as_of=as_of, tiers=info.tiers, previous_tier=previous,
            requested_downgrade=info.downgrades.get(month),
        )
        report["peak_clients"] = self.peak_clients(tenant_id, report["peak_day"])
        return report

    def peak_clients(self, tenant_id: UUID, peak_day: str | None) -> list[dict[str, Any]]:
        """§5.8: the clients counted in the peak of ``peak_day`` and why (``activity_model.peak_clients``)."""
        with self.db.read() as tx:
            info = self.tenant_info(tx, tenant_id)
            if info is None or peak_day is None:
                return []
            day = date.fromisoformat(peak_day)
            lo, hi = day_start(day, info.zone), end_of_day(day, info.zone)
            rows = tx.execute(
                f"SELECT c.client_id, c.model FROM {self.t('clients')} c WHERE c.tenant_id = ? AND c.client_id IN "
                f"(SELECT DISTINCT client_id FROM {self.t('intervals')} WHERE tenant_id = ? AND start_us < ? "
                "AND (end_us IS NULL OR end_us > ?))",
                (str(tenant_id), str(tenant_id), hi, lo),
            )
        models = [(str(r[0]), ClientActivity.from_json(orjson.loads(r[1]))) for r in rows]
        return peak_clients(models, peak_day, info.zone)

    def stored_previous_tier(self, tx: Tx, tenant_id: UUID, info: TenantInfo, month: str, as_of: int) -> str | None:
        """``previous_tier`` from the tables alone."""
        return self.previous_tier(tx, str(tenant_id), info, month, as_of, {},
                                  lambda lo, hi: self.intervals(tx, tenant_id, lo, hi))

    def previous_tier(
        self, tx: Tx, tenant_id: str, info: TenantInfo, month: str, as_of: int,
        known: Mapping[tuple[str, str], str | None], intervals: Callable[[int, int], list[Interval]],
    ) -> str | None:
        """The tier of the month before ``month`` (DOMAIN §5.6: moving down needs a request).
        ``known`` holds prev_tiers of month_state rows not written yet (a page's), and
        ``intervals(lo, hi)`` the activity intervals meeting [lo, hi), from wherever the
        caller's current state lives (the tables, or a page in memory)."""
        # A month no event has reached yet takes its previous month's tier, computed the same
        # way: walk back to a month whose answer is known, then forward (a loop, not
        # recursion: a report may lie years after the tenant's last event).
        pending: list[str] = []
        before: str | None
        while True:
            if (tenant_id, month) in known:
                before = known[(tenant_id, month)]
                break
            row = tx.one(f"SELECT state FROM {self.t('month_state')} WHERE tenant_id = ? AND month = ?", (tenant_id, month))
            if row is not None:
                before = orjson.loads(row[0]).get("prev_tier")
                break
            last = info.last_month
            if last is None or month <= last:
                before = None
                break
            pending.append(month)
            month = _prev_month(month)
        for later in reversed(pending):
            prev_month = _prev_month(later)
            _, _, lo, hi = month_bounds(prev_month, info.zone)
            rep = month_report(prev_month, intervals(lo, hi), info.zone, as_of=as_of, tiers=info.tiers,
                               previous_tier=before, requested_downgrade=info.downgrades.get(prev_month))
            before = rep["tier"]
        return before


def _prev_month(month: str) -> str:
    y, m = (int(p) for p in month.split("-"))
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"


def _info_to_json(info: TenantInfo) -> str:
    return orjson.dumps(
        {"zone": info.zone.key, "tiers": [[t.name, t.max_active] for t in info.tiers], "last_month": info.last_month,
         "downgrades": info.downgrades}
    ).decode()


def _info_from_json(text: str) -> TenantInfo:
    d = orjson.loads(text)
    return TenantInfo(ZoneInfo(d["zone"]), [Tier(n, m) for n, m in d["tiers"]], d["last_month"], d["downgrades"])


class _TableState(State):
    """The projection's state in its tables, cached for one page and flushed at its end."""

    def __init__(self, p: ActivityTimeline, tx: Tx) -> None:
        self.p = p
        self.tx = tx
        self.tenants: dict[str, TenantInfo | None] = {}
        self.groups: dict[tuple[str, str], str | None] = {}
        self.regs: dict[tuple[str, str], Reg | None] = {}
        self.credits: dict[tuple[str, str], str | None] = {}
        self.clients: dict[tuple[str, str], tuple[ClientActivity, set[str]]] = {}
        self.dirty: set[tuple[str, str, str]] = set()
        self.dirty_clients: dict[str, set[str]] = {}  # the dirty clients by tenant
        # By tenant, what changed in this page since its last snapshot (kind, key); at the
        # flush it joins the stored ``changes``.
        self.changed: dict[str, set[tuple[str, str]]] = {}
        self.drained: set[str] = set()  # tenants whose stored changes a snapshot of this page took
        # Writes wait for ``flush``: until then the page only reads, so a rebuild may apply
        # it in a read transaction and write it in a short one (``Projection.stageable``).
        self.snapshots: list[tuple[str, str, str]] = []  # month_state rows (tenant, month, state)
        self.prev_tiers: dict[tuple[str, str], str | None] = {}
        self.active: dict[tuple[str, str], list[Interval]] = {}  # a held client's active intervals
        # (tenant, client) -> (the month start it was pruned for, the first end after it, its JSON or None)
        self.pruned: dict[tuple[str, str], tuple[int, int | None, orjson.Fragment | None]] = {}

    def apply_event(self, ev: EventRecord) -> None:
        RULES.apply(self, ev)

    def tenant(self, tenant_id: str) -> TenantInfo | None:
        if tenant_id not in self.tenants:
            row = self.tx.one(f"SELECT info FROM {self.p.t('tenants')} WHERE tenant_id = ?", (tenant_id,))
            self.tenants[tenant_id] = _info_from_json(row[0]) if row else None
        return self.tenants[tenant_id]

    def put_tenant(self, tenant_id: str, info: TenantInfo) -> None:
        self.tenants[tenant_id] = info
        self.dirty.add(("tenant", tenant_id, ""))

    def group_end(self, tenant_id: str, group_id: str) -> str | None:
        k = (tenant_id, group_id)
        if k not in self.groups:
            row = self.tx.one(f"SELECT ends_on FROM {self.p.t('groups')} WHERE tenant_id = ? AND group_id = ?", k)
            self.groups[k] = row[0] if row else None
        return self.groups[k]

    def put_group(self, tenant_id: str, group_id: str, ends_on: str) -> None:
        self.groups[(tenant_id, group_id)] = ends_on
        self.dirty.add(("group", tenant_id, group_id))
        self._changed(tenant_id).add(("group", group_id))

    def reg(self, tenant_id: str, reg_id: str) -> Reg | None:
        k = (tenant_id, reg_id)
        if k not in self.regs:
            row = self.tx.one(f"SELECT client_id, group_id, state FROM {self.p.t('regs')} WHERE tenant_id = ? AND reg_id = ?", k)
            self.regs[k] = Reg(row[0], row[1], row[2]) if row else None
        return self.regs[k]

    def put_reg(self, tenant_id: str, reg_id: str, reg: Reg | None) -> None:
        self.regs[(tenant_id, reg_id)] = reg
        self.dirty.add(("reg", tenant_id, reg_id))
        self._changed(tenant_id).add(("reg", reg_id))

    def credit(self, tenant_id: str, credit_id: str) -> str | None:
        k = (tenant_id, credit_id)
        if k not in self.credits:
            row = self.tx.one(f"SELECT client_id FROM {self.p.t('credits')} WHERE tenant_id = ? AND credit_id = ?", k)
            self.credits[k] = row[0] if row else None
        return self.credits[k]

    def put_credit(self, tenant_id: str, credit_id: str, client_id: str | None) -> None:
        self.credits[(tenant_id, credit_id)] = client_id
        self.dirty.add(("credit", tenant_id, credit_id))
        self._changed(tenant_id).add(("credit", credit_id))

    def client(self, tenant_id: str, client_id: str) -> tuple[ClientActivity, set[str]]:
        k = (tenant_id, client_id)
        if k not in self.clients:
            row = self.tx.one(f"SELECT model, flags FROM {self.p.t('clients')} WHERE tenant_id = ? AND client_id = ?", k)
            if row:
                self.clients[k] = (ClientActivity.from_json(orjson.loads(row[0])), set(orjson.loads(row[1])))
            else:
                self.clients[k] = (ClientActivity(), set())
        return self.clients[k]

    def touch_client(self, tenant_id: str, client_id: str) -> None:
        self.dirty.add(("client", tenant_id, client_id))
        self.dirty_clients.setdefault(tenant_id, set()).add(client_id)
        self._changed(tenant_id).add(("client", client_id))
        self.pruned.pop((tenant_id, client_id), None)
        self.active.pop((tenant_id, client_id), None)

    def _changed(self, tenant_id: str) -> set[tuple[str, str]]:
        changed = self.changed.get(tenant_id)
        if changed is None:
            changed = self.changed[tenant_id] = set()
        return changed

    def month_started(self, tenant_id: str, month: str) -> None:
        info = self.tenant(tenant_id)
        assert info is not None
        _, _, start, _ = month_bounds(month, info.zone)
        prev = self._previous_tier(tenant_id, info, month, start) if month > (info.last_month or month) else None
        # The row below holds this prev_tier whether it is inserted now or was already there.
        self.prev_tiers[(tenant_id, month)] = prev
        state = self._delta(tenant_id, start, prev)
        self.snapshots.append((tenant_id, month, orjson.dumps(state).decode()))  # written by flush

    def _previous_tier(self, tenant_id: str, info: TenantInfo, month: str, as_of: int) -> str | None:
        """``ActivityTimeline.previous_tier`` on the page's state: rows not written yet count."""
        return self.p.previous_tier(self.tx, tenant_id, info, month, as_of, self.prev_tiers,
                                    lambda lo, hi: self._intervals(tenant_id, info, lo, hi))

    def _active(self, tenant_id: str, client_id: str, info: TenantInfo) -> list[Interval]:
        k = (tenant_id, client_id)
        ivs = self.active.get(k)
        if ivs is None:
            ivs = self.active[k] = self.clients[k][0].active_intervals(info.zone)
        return ivs

    def _intervals(self, tenant_id: str, info: TenantInfo, lo: int, hi: int) -> list[Interval]:
        """The tenant's active intervals meeting [lo, hi): stored rows, but held ones for clients changed since."""
        changed = self.dirty_clients.get(tenant_id, set())
        out = [
            (int(r[1]), None if r[2] is None else int(r[2]))
            for r in self.tx.execute(
                f"SELECT client_id, start_us, end_us FROM {self.p.t('intervals')} WHERE tenant_id = ? AND start_us < ? "
                "AND (end_us IS NULL OR end_us > ?)",
                (tenant_id, hi, lo),
            )
            if r[0] not in changed
        ]
        active, clients, zone = self.active, self.clients, info.zone
        for cid in changed:  # ``_active`` inlined: this runs for every changed client at every month start
            k = (tenant_id, cid)
            ivs = active.get(k)
            if ivs is None:
                ivs = active[k] = clients[k][0].active_intervals(zone)
            out += [(s, e) for s, e in ivs if s < hi and (e is None or e > lo)]
        return out

    def _delta(self, tenant_id: str, start: int, prev_tier: str | None) -> dict[str, Any]:
        """The month_state row of the month starting at ``start``: what changed since the
        tenant's previous row (stored ``changes`` and this page's), as of now, in key order.

        A client's entry is pruned to ``start`` (``_pruned``); one with nothing left, and a
        registration or credit that is gone, is ``null``. ``month_start`` folds these."""
        p, tx = self.p, self.tx
        keys = self.changed.pop(tenant_id, set())
        if tenant_id not in self.drained:
            rows = tx.execute(f"SELECT kind, key FROM {p.t('changes')} WHERE tenant_id = ?", (tenant_id,))
            keys.update((str(r[0]), str(r[1])) for r in rows)
            self.drained.add(tenant_id)  # flush deletes its stored changes
        by_kind: dict[str, list[str]] = {"group": [], "reg": [], "credit": [], "client": []}
        for kind, key in keys:
            by_kind[kind].append(key)
        self._hold(tenant_id, by_kind)
        info = self.tenant(tenant_id)
        assert info is not None
        clients: dict[str, orjson.Fragment | None] = {}
        pruned = self.pruned
        for cid in sorted(by_kind["client"]):
            k = (tenant_id, cid)
            done = pruned.get(k)
            if done is None or start < done[0] or (done[1] is not None and done[1] <= start):
                held, flags = self.clients[k]
                done = pruned[k] = _pruned(held, flags, start)
            clients[cid] = done[2]
        regs: dict[str, list[str] | None] = {}
        for rid in sorted(by_kind["reg"]):
            reg = self.regs[(tenant_id, rid)]
            regs[rid] = None if reg is None else [reg.client_id, reg.group_id, reg.state]
        return {
            "prev_tier": prev_tier,
            "downgrades": info.downgrades,
            "groups": {g: self.groups[(tenant_id, g)] for g in sorted(by_kind["group"])},
            "regs": regs,
            "credits": {c: self.credits[(tenant_id, c)] for c in sorted(by_kind["credit"])},
            "clients": clients,
        }

    def _hold(self, tenant_id: str, by_kind: dict[str, list[str]]) -> None:
        """Read, a few statements per table, the rows of these keys not held yet."""
        p, d = self.p, self.p.db.dialect
        # Membership tests, not ``set - dict.keys()``: that builds a set of every held key.
        want = {(tenant_id, k) for k in by_kind["group"] if (tenant_id, k) not in self.groups}
        found = _load(self.tx, d, p.t("groups"), "group_id", "ends_on", want)
        for k in want:
            row = found.get(k)
            self.groups[k] = row[0] if row else None
        want = {(tenant_id, k) for k in by_kind["reg"] if (tenant_id, k) not in self.regs}
        found = _load(self.tx, d, p.t("regs"), "reg_id", "client_id, group_id, state", want)
        for k in want:
            row = found.get(k)
            self.regs[k] = Reg(row[0], row[1], row[2]) if row else None
        want = {(tenant_id, k) for k in by_kind["credit"] if (tenant_id, k) not in self.credits}
        found = _load(self.tx, d, p.t("credits"), "credit_id", "client_id", want)
        for k in want:
            row = found.get(k)
            self.credits[k] = row[0] if row else None
        want = {(tenant_id, k) for k in by_kind["client"] if (tenant_id, k) not in self.clients}
        found = _load(self.tx, d, p.t("clients"), "client_id", "model, flags", want)
        for k in want:
            row = found.get(k)
            if row:
                self.clients[k] = (ClientActivity.from_json(orjson.loads(row[0])), set(orjson.loads(row[1])))
            else:
                self.clients[k] = (ClientActivity(), set())

    def prefetch(self, records: Sequence[EventRecord]) -> None:
        """Read, in a few statements, every row the page's events will ask for (by key)."""
        tenants: set[str] = set()
        regs: set[tuple[str, str]] = set()
        credits: set[tuple[str, str]] = set()
        clients: set[tuple[str, str]] = set()
        groups: set[tuple[str, str]] = set()
        for ev in records:
            if ev.type not in _HANDLED:
                continue
            t, rid, d = str(ev.tenant_id), str(ev.aggregate_id), ev.data
            tenants.add(t)
            kind = ev.type
            if kind.startswith("Registration"):
                regs.add((t, rid))
                if "client_id" in d:
                    clients.add((t, str(d["client_id"])))
                for g in ("group_id", "to_group_id"):
                    if g in d:
                        groups.add((t, str(d[g])))
            elif kind.startswith("Credit"):
                credits.add((t, rid))
                if "client_id" in d:
                    clients.add((t, str(d["client_id"])))
            elif kind.startswith("Client"):
                clients.add((t, rid))
        p = self.p
        for t in sorted(tenants - self.tenants.keys()):
            self.tenant(t)
        found = _load(self.tx, p.db.dialect, p.t("regs"), "reg_id", "client_id, group_id, state", regs - self.regs.keys())
        for k in regs - self.regs.keys():
            row = found.get(k)
            self.regs[k] = Reg(row[0], row[1], row[2]) if row else None
        found = _load(self.tx, p.db.dialect, p.t("credits"), "credit_id", "client_id", credits - self.credits.keys())
        for k in credits - self.credits.keys():
            row = found.get(k)
            self.credits[k] = row[0] if row else None
        for (t, _), reg in list(self.regs.items()):
            if reg is not None:
                clients.add((t, reg.client_id))
                groups.add((t, reg.group_id))
        for (t, _), cid in list(self.credits.items()):
            if cid is not None:
                clients.add((t, cid))
        found = _load(self.tx, p.db.dialect, p.t("groups"), "group_id", "ends_on", groups - self.groups.keys())
        for k in groups - self.groups.keys():
            row = found.get(k)
            self.groups[k] = row[0] if row else None
        found = _load(self.tx, p.db.dialect, p.t("clients"), "client_id", "model, flags", clients - self.clients.keys())
        for k in clients - self.clients.keys():
            row = found.get(k)
            if row:
                self.clients[k] = (ClientActivity.from_json(orjson.loads(row[0])), set(orjson.loads(row[1])))
            else:
                self.clients[k] = (ClientActivity(), set())

    def flush(self) -> None:
        """Write what changed: a few multi-row statements per table, in a fixed order."""
        p, tx, d = self.p, self.tx, self.p.db.dialect
        tenants: list[tuple[Any, ...]] = []
        groups: list[tuple[Any, ...]] = []
        regs_gone: list[tuple[str, str]] = []
        regs: list[tuple[Any, ...]] = []
        credits_gone: list[tuple[str, str]] = []
        credits: list[tuple[Any, ...]] = []
        clients: list[tuple[Any, ...]] = []
        intervals: list[tuple[Any, ...]] = []
        for kind, t, key in sorted(self.dirty):
            if kind == "tenant":
                info = self.tenants[t]
                assert info is not None
                tenants.append((t, _info_to_json(info)))
            elif kind == "group":
                groups.append((t, key, self.groups[(t, key)]))
            elif kind == "reg":
                reg = self.regs[(t, key)]
                if reg is None:
                    regs_gone.append((t, key))
                else:
                    regs.append((t, key, reg.client_id, reg.group_id, reg.state))
            elif kind == "credit":
                client = self.credits[(t, key)]
                if client is None:
                    credits_gone.append((t, key))
                else:
                    credits.append((t, key, client))
            else:
                act, flags = self.clients[(t, key)]
                info = self.tenant(t)
                assert info is not None
                clients.append((t, key, orjson.dumps(act.to_json()).decode(), orjson.dumps(sorted(flags)).decode()))
                intervals += [(t, key, s, e) for s, e in self._active(t, key, info)]
        insert_many(tx, d, f"INSERT INTO {p.t('tenants')} (tenant_id, info)", T2, tenants,
                    "ON CONFLICT (tenant_id) DO UPDATE SET info = excluded.info")
        insert_many(tx, d, f"INSERT INTO {p.t('groups')} (tenant_id, group_id, ends_on)", T3, groups,
                    "ON CONFLICT (tenant_id, group_id) DO UPDATE SET ends_on = excluded.ends_on")
        delete_keys(tx, d, p.t("regs"), "reg_id", regs_gone)
        insert_many(tx, d, f"INSERT INTO {p.t('regs')} (tenant_id, reg_id, client_id, group_id, state)", T5, regs,
                    "ON CONFLICT (tenant_id, reg_id) DO UPDATE SET client_id = excluded.client_id, "
                    "group_id = excluded.group_id, state = excluded.state")
        delete_keys(tx, d, p.t("credits"), "credit_id", credits_gone)
        insert_many(tx, d, f"INSERT INTO {p.t('credits')} (tenant_id, credit_id, client_id)", T3, credits,
                    "ON CONFLICT (tenant_id, credit_id) DO NOTHING")
        insert_many(tx, d, f"INSERT INTO {p.t('clients')} (tenant_id, client_id, model, flags)", T4, clients,
                    "ON CONFLICT (tenant_id, client_id) DO UPDATE SET model = excluded.model, flags = excluded.flags")
        delete_keys(tx, d, p.t("intervals"), "client_id", [(c[0], c[1]) for c in clients])
        insert_many(tx, d, f"INSERT INTO {p.t('intervals')} (tenant_id, client_id, start_us, end_us)",
                    ("text", "text", "bigint", "bigint"), intervals)
        for t in sorted(self.drained):
            tx.execute(f"DELETE FROM {p.t('changes')} WHERE tenant_id = ?", (t,))
        insert_many(tx, d, f"INSERT INTO {p.t('month_state')} (tenant_id, month, state)", T3, self.snapshots,
                    "ON CONFLICT (tenant_id, month) DO NOTHING")
        changes = sorted((t, kind, key) for t, keys in self.changed.items() for kind, key in keys)
        insert_many(tx, d, f"INSERT INTO {p.t('changes')} (tenant_id, kind, key)", T3, changes,
                    "ON CONFLICT (tenant_id, kind, key) DO NOTHING")
        self.dirty.clear()
        self.dirty_clients.clear()
        self.changed.clear()
        self.drained.clear()
        self.snapshots.clear()


def _pruned(act: ClientActivity, flags: set[str], start: int) -> tuple[int, int | None, orjson.Fragment | None]:
    """The client's entry of a month snapshot (``ClientActivity.prune`` then ``to_json``),
    and the first end after ``start``: the entry stays the same for any later start before it."""
    ends: list[int] = []
    segments = {}
    for k, v in act.segments.items():
        kept = [seg for seg in v if seg[1] is None or seg[1] > start]
        if kept:
            segments[k] = kept
            ends += [e for _, e in kept if e is not None]
    blocks = [b for b in act.blocks if b[1] is None or b[1] > start]
    ends += [e for _, e in blocks if e is not None]
    first_end = min(ends) if ends else None
    if not segments and not blocks and not flags:
        return start, first_end, None
    return start, first_end, orjson.Fragment(orjson.dumps([{"segments": segments, "blocks": blocks}, sorted(flags)]))


def _load(tx: Tx, dialect: str, table: str, key: str, columns: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Rows of ``table`` by (tenant_id, ``key``): one statement per tenant and 500 keys."""
    out: dict[tuple[str, str], tuple[Any, ...]] = {}
    chunk: list[str] = []
    ordered = sorted(keys)
    for i, (t, k) in enumerate(ordered):
        chunk.append(k)
        if len(chunk) == 500 or i + 1 == len(ordered) or ordered[i + 1][0] != t:
            where, params = in_keys(dialect, chunk)
            for r in tx.execute(f"SELECT {key}, {columns} FROM {table} WHERE tenant_id = ? AND {key} {where}", (t, *params)):
                out[(t, r[0])] = tuple(r[1:])
            chunk = []
    return out


def dump_state(
    tx: Tx,
    p: ActivityTimeline,
    tenant_id: str,
    start: int,
    prev_tier: str | None,
    known: dict[tuple[str, str], tuple[ClientActivity, set[str]]] | None = None,
) -> dict[str, Any]:
    """The state the rules need from ``start`` (a month's first instant) on.

    ``known``: clients already in memory and written (a page's cache, just flushed), used
    instead of decoding their stored rows again; the rows still give the order.
    """
    t = (tenant_id,)
    clients = {}
    known = known or {}
    for cid, model, flags in tx.execute(f"SELECT client_id, model, flags FROM {p.t('clients')} WHERE tenant_id = ?", t):
        held = known.get((tenant_id, cid))
        if held is not None:
            act = ClientActivity(segments=held[0].segments, blocks=held[0].blocks)  # prune replaces, never mutates
            flag_list = sorted(held[1])
        else:
            act = ClientActivity.from_json(orjson.loads(model))
            flag_list = orjson.loads(flags)
        act.prune(start)
        if not act.is_empty() or flag_list:
            clients[cid] = [act.to_json(), flag_list]
    info_row = tx.one(f"SELECT info FROM {p.t('tenants')} WHERE tenant_id = ?", t)
    return {
        "prev_tier": prev_tier,
        "downgrades": _info_from_json(info_row[0]).downgrades if info_row else {},
        "groups": dict(tx.execute(f"SELECT group_id, ends_on FROM {p.t('groups')} WHERE tenant_id = ?", t)),
        "regs": {r[0]: [r[1], r[2], r[3]] for r in tx.execute(f"SELECT reg_id, client_id, group_id, state FROM {p.t('regs')} WHERE tenant_id = ?", t)},
        "credits": dict(tx.execute(f"SELECT credit_id, client_id FROM {p.t('credits')} WHERE tenant_id = ?", t)),
        "clients": clients,
    }


class _DictState(State):
    """The state in memory: the month replay."""

    def __init__(self, tenant_id: str, info: TenantInfo, snapshot: dict[str, Any]) -> None:
        self.info = {tenant_id: info}
        self.groups: dict[str, str] = dict(snapshot.get("groups", {}))
        self.regs: dict[str, Reg] = {k: Reg(*v) for k, v in snapshot.get("regs", {}).items()}
        self.credits: dict[str, str] = dict(snapshot.get("credits", {}))
        self.clients: dict[str, tuple[ClientActivity, set[str]]] = {
            k: (ClientActivity.from_json(v[0]), set(v[1])) for k, v in snapshot.get("clients", {}).items()
        }

    def tenant(self, tenant_id: str) -> TenantInfo | None:
        return self.info.get(tenant_id)

    def put_tenant(self, tenant_id: str, info: TenantInfo) -> None:
        self.info[tenant_id] = info

    def group_end(self, tenant_id: str, group_id: str) -> str | None:
        return self.groups.get(group_id)

    def put_group(self, tenant_id: str, group_id: str, ends_on: str) -> None:
        self.groups[group_id] = ends_on

    def reg(self, tenant_id: str, reg_id: str) -> Reg | None:
        return self.regs.get(reg_id)

    def put_reg(self, tenant_id: str, reg_id: str, reg: Reg | None) -> None:
        if reg is None:
            self.regs.pop(reg_id, None)
        else:
            self.regs[reg_id] = reg

    def credit(self, tenant_id: str, credit_id: str) -> str | None:
        return self.credits.get(credit_id)

    def put_credit(self, tenant_id: str, credit_id: str, client_id: str | None) -> None:
        if client_id is None:
            self.credits.pop(credit_id, None)
        else:
            self.credits[credit_id] = client_id

    def client(self, tenant_id: str, client_id: str) -> tuple[ClientActivity, set[str]]:
        return self.clients.setdefault(client_id, (ClientActivity(), set()))

    def touch_client(self, tenant_id: str, client_id: str) -> None:
        pass


def month_start(deltas: Sequence[dict[str, Any]], start: int) -> dict[str, Any]:
    """The state at a month's start (the instant ``start``) from the tenant's month_state
    rows up to that month, oldest first: each row's entries replace the earlier ones
    (``null``: gone), and each client is pruned to ``start`` as a full snapshot would be."""
    groups: dict[str, str | None] = {}
    regs: dict[str, list[str] | None] = {}
    credits: dict[str, str | None] = {}
    entries: dict[str, list[Any] | None] = {}
    for delta in deltas:
        groups.update(delta.get("groups", {}))
        regs.update(delta.get("regs", {}))
        credits.update(delta.get("credits", {}))
        entries.update(delta.get("clients", {}))
    clients: dict[str, list[Any]] = {}
    for cid, entry in entries.items():
        if entry is None:
            continue
        act = ClientActivity.from_json(entry[0])
        act.prune(start)
        if not act.is_empty() or entry[1]:
            clients[cid] = [act.to_json(), entry[1]]
    last = deltas[-1]
    return {
        "prev_tier": last.get("prev_tier"),
        "downgrades": last.get("downgrades", {}),
        "groups": {k: v for k, v in groups.items() if v is not None},
        "regs": {k: v for k, v in regs.items() if v is not None},
        "credits": {k: v for k, v in credits.items() if v is not None},
        "clients": clients,
    }


@dataclass
class ReplayResult:
    report: dict[str, Any]
    events_read: int
    tenant_events: int
    snapshot: str  # where the state at the month's start came from


def replay_month(store: Store, view: ActivityTimeline, tenant_id: UUID, month: str, *, as_of: int) -> ReplayResult | None:
    """DOMAIN §5.7: the month's report from the state at its start plus that month's events only."""
    with view.db.read() as tx:
        info = view.tenant_info(tx, tenant_id)
        if info is None:
            return None
        _, _, lo, hi = month_bounds(month, info.zone)
        deltas = tx.execute(
            f"SELECT month, state FROM {view.t('month_state')} WHERE tenant_id = ? AND month <= ? ORDER BY month",
            (str(tenant_id), month),
        )
        if deltas and deltas[-1][0] == month:
            snapshot, source = month_start([orjson.loads(r[1]) for r in deltas], lo), "month_state"
        elif info.last_month is not None and month > info.last_month:
            # Nothing has happened since this month began: the current state is its start.
            prev = view.stored_previous_tier(tx, tenant_id, info, month, as_of)
            snapshot, source = dump_state(tx, view, str(tenant_id), lo, prev), "current"
        else:
            snapshot, source = {"prev_tier": None, "downgrades": {}}, "empty"
    total = store.recorder.count_events(tenant_id)
    tid = str(tenant_id)
    # Requests recorded before the month began are part of its start; later ones are replayed.
    replay_info = TenantInfo(info.zone, info.tiers, month, dict(snapshot.get("downgrades", {})))
    state = _DictState(tid, replay_info, snapshot)
    read = 0
    after = 0
    while True:
        rows = store.recorder.read_rows(after, 5000, tenant_id=tenant_id, at_from_us=lo, at_to_us=min(hi, as_of + 1))
        if not rows:
            break
        for r in rows:
            RULES.apply(state, decode(r))
        read += len(rows)
        after = rows[-1].notification_id
    intervals: list[Interval] = []
    for act, _flags in state.clients.values():
        intervals.extend(act.active_intervals(info.zone))
    final = state.info[tid]
    report = month_report(
        month, intervals, info.zone, as_of=as_of, tiers=info.tiers, previous_tier=snapshot.get("prev_tier"),
        requested_downgrade=final.downgrades.get(month),
    )
    report["peak_clients"] = peak_clients([(k, act) for k, (act, _) in state.clients.items()], report["peak_day"],
                                          info.zone)
    return ReplayResult(report, read, int(total), source)

