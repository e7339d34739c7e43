"""The activity rules (DOMAIN §5): how events change a tenant's groups, registrations,
credits and each client's eligibility (``activity_model.ClientActivity``).

``Rules`` applies an event to a ``State``; the live projection keeps that state in its
tables (``activity_tables.TableState``) and the month replay in dicts
(``activity_months``), so both derive the same active intervals. ``HANDLED`` are the
event classes the rules read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from typing import Any
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
from classledger.instants import day_start
from classledger.projections.activity_model import (
    ClientActivity,
    Tier,
    end_of_day,
    month_of,
    next_month,
)
from classledger.projections.runtime import (
    EventRecord,
    event_names,
)

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


HANDLED_NAMES = event_names(*HANDLED)


def info_to_json(info: TenantInfo) -> str:
    return orjson.dumps(
        {"zone": info.zone.key, "tiers": [[t.name, t.max_active] for t in info.tiers], "last_month": info.last_month,
         "downgrades": info.downgrades}
    ).decode()


def info_from_json(text: str) -> TenantInfo:
    d = orjson.loads(text)
    return TenantInfo(ZoneInfo(d["zone"]), [Tier(n, m) for n, m in d["tiers"]], d["last_month"], d["downgrades"])
