"""DOMAIN §5 as pure rules: eligibility → active time → daily and monthly peaks.

The rules (``activity.Rules`` over in-memory state, as the month replay runs them) are
checked against a reference written independently: it walks time event by event and
midnight by midnight, evaluating eligibility from the facts directly (§5.1) and applying
§5.2/§5.3 literally (activate on the event, deactivate only at local midnight).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classledger.instants import day_start, from_us, us
from classledger.projections.activity_model import (
    ClientActivity,
    Tier,
    daily_counts,
    end_of_day,
    local_day,
    month_report,
    tier_in_force,
)
from classledger.projections.activity_months import DictState
from classledger.projections.activity_rules import RULES, TenantInfo
from classledger.projections.runtime import EventRecord

BRATISLAVA = ZoneInfo("Europe/Bratislava")
TENANT = uuid.UUID(int=1)


def at(zone: ZoneInfo, y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> int:
    return us(datetime(y, m, d, hh, mm, tzinfo=zone))


def test_cancelled_at_ten_stays_active_until_midnight() -> None:
    """DOMAIN §5.3: a registration cancelled at 10:00 keeps the client active until the next midnight."""
    c = ClientActivity()
    c.open("r", at(BRATISLAVA, 2026, 1, 5, 9), end_of_day(date(2026, 6, 30), BRATISLAVA))
    c.close("r", at(BRATISLAVA, 2026, 1, 10, 10))
    assert c.active_intervals(BRATISLAVA) == [(at(BRATISLAVA, 2026, 1, 5, 9), at(BRATISLAVA, 2026, 1, 11))]


def test_group_ending_on_the_20th_drops_its_clients_at_midnight_of_the_21st() -> None:
    """DOMAIN §5.1 (a), §5.3."""
    c = ClientActivity()
    c.open("r", at(BRATISLAVA, 2026, 1, 5, 9), end_of_day(date(2026, 1, 20), BRATISLAVA))
    [(_, end)] = c.active_intervals(BRATISLAVA)
    assert end == at(BRATISLAVA, 2026, 1, 21)


def test_midnight_is_local_across_dst() -> None:
    """DOMAIN §5.3: a midnight is the local 00:00 whatever the UTC offset."""
    assert from_us(day_start(date(2026, 3, 29), BRATISLAVA)).hour == 23  # CET: 00:00 = 23:00 UTC
    assert from_us(day_start(date(2026, 3, 30), BRATISLAVA)).hour == 22  # CEST: 00:00 = 22:00 UTC
    santiago = ZoneInfo("America/Santiago")  # clocks jump from 24:00 to 01:00 in September
    start = day_start(date(2026, 9, 6), santiago)
    assert local_day(start, santiago) == date(2026, 9, 6)
    assert local_day(start - 1, santiago) == date(2026, 9, 5)


def test_archived_clients_are_not_eligible_but_stay_active_until_midnight() -> None:
    """DOMAIN §5.3: archived and deleted clients are not eligible; no manual deactivation."""
    c = ClientActivity()
    c.open("r", at(BRATISLAVA, 2026, 2, 1, 9), None)
    c.block(at(BRATISLAVA, 2026, 2, 10, 15))
    assert c.active_intervals(BRATISLAVA) == [(at(BRATISLAVA, 2026, 2, 1, 9), at(BRATISLAVA, 2026, 2, 11))]
    c.unblock(at(BRATISLAVA, 2026, 2, 12, 8))
    assert c.active_intervals(BRATISLAVA)[-1] == (at(BRATISLAVA, 2026, 2, 12, 8), None)


def test_peak_is_the_highest_day_not_the_month_end() -> None:
    """DOMAIN §5.5: peak with the day it was first reached; §5.6 tier follows the peak."""
    z = BRATISLAVA
    ivs = [
        (at(z, 2026, 3, 2, 10), at(z, 2026, 3, 16)),
        (at(z, 2026, 3, 10, 10), at(z, 2026, 3, 20)),
        (at(z, 2026, 3, 12, 18), None),
    ]
    rep = month_report("2026-03", ivs, z, as_of=at(z, 2026, 5, 1), tiers=[Tier("S", 2), Tier("M", 10)],
                       previous_tier=None, requested_downgrade=None)
    assert (rep["peak"], rep["peak_day"], rep["end_of_month"], rep["tier"]) == (3, "2026-03-12", 1, "M")
    assert len(rep["days"]) == 31


def test_tier_moves_up_by_itself_and_down_only_on_request() -> None:
    """DOMAIN §5.6."""
    tiers = [Tier("S", 10), Tier("M", 50), Tier("L", 100)]
    assert tier_in_force(60, tiers, "S", None) == "L"
    assert tier_in_force(5, tiers, "L", None) == "L"
    assert tier_in_force(5, tiers, "L", "M") == "M"
    assert tier_in_force(70, tiers, "L", "S") == "L"


# ---- the property: rules == reference ------------------------------------------------


@dataclass
class Facts:
    """What the reference knows: the facts, not any interval algebra."""

    regs: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # reg -> client, group, state
    credits: dict[str, tuple[str, date]] = field(default_factory=dict)  # open credit -> client, expires_on
    blocked: set[str] = field(default_factory=set)

    def eligible(self, client: str, instant: int, zone: ZoneInfo, groups: dict[str, date]) -> bool:
        if client in self.blocked:
            return False
        today = local_day(instant, zone)
        for c, g, s in self.regs.values():
            if c == client and s == "registered" and today <= groups[g]:
                return True
        return any(c == client and today <= exp for c, exp in self.credits.values())


ZONES = ["Europe/Bratislava", "America/Santiago", "Asia/Kathmandu", "Europe/Tallinn"]
CLIENTS = ["c1", "c2", "c3", "c4"]
GROUP_ENDS = {"g1": 10, "g2": 35, "g3": 80}  # days after the start


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ZoneInfo, date, list[tuple[int, str, dict[str, str]]]]:
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    start = draw(st.sampled_from([date(2026, 1, 1), date(2026, 3, 20), date(2026, 8, 25), date(2026, 10, 20)]))
    n = draw(st.integers(min_value=1, max_value=40))
    minute = 60 * 8
    events: list[tuple[int, str, dict[str, str]]] = []
    regs: list[str] = []
    credits: list[str] = []
    for i in range(n):
        minute += draw(st.integers(min_value=1, max_value=60 * 24 * 6))
        if draw(st.integers(0, 7)) == 0:
            # On the stroke of a midnight (away from DST changes): ties with §5.3's check.
            minute = (minute // 1440 + 1) * 1440
        kind = draw(st.sampled_from(["reg", "reg", "cancel", "promote", "transfer", "credit", "use", "archive", "restore"]))
        client = draw(st.sampled_from(CLIENTS))
        if kind == "reg":
            rid = f"r{i}"
            regs.append(rid)
            events.append((minute, "RegistrationCreated", {"id": rid, "client_id": client, "group_id": draw(st.sampled_from(list(GROUP_ENDS))), "state": draw(st.sampled_from(["registered", "registered", "waitlist", "late"]))}))
        elif kind in ("cancel", "promote", "transfer") and regs:
            rid = draw(st.sampled_from(regs))
            if kind == "cancel":
                events.append((minute, "RegistrationCancelled", {"id": rid}))
            elif kind == "promote":
                events.append((minute, "RegistrationPromoted", {"id": rid}))
            else:
                events.append((minute, "RegistrationTransferred", {"id": rid, "to_group_id": draw(st.sampled_from(list(GROUP_ENDS))), "state": draw(st.sampled_from(["registered", "waitlist"]))}))
        elif kind == "credit":
            cid = f"k{i}"
            credits.append(cid)
            events.append((minute, "CreditGranted", {"id": cid, "client_id": client, "expires_in": str(draw(st.integers(0, 40)))}))
        elif kind == "use" and credits:
            events.append((minute, draw(st.sampled_from(["CreditUsed", "CreditVoided"])), {"id": draw(st.sampled_from(credits))}))
        elif kind == "archive":
            events.append((minute, draw(st.sampled_from(["ClientArchived", "ClientDeleted"])), {"id": client}))
        elif kind == "restore":
            events.append((minute, "ClientRestored", {"id": client}))
    return zone, start, events


def _instant(zone: ZoneInfo, start: date, minute: int) -> int:
    return day_start(start, zone) + minute * 60_000_000


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_rules_agree_with_the_reference_day_by_day(scenario: tuple[ZoneInfo, date, list[tuple[int, str, dict[str, str]]]]) -> None:
    """DOMAIN §5.1–5.5: daily peaks of the rules equal an independent walk through time."""
    zone, start, events = scenario
    groups = {g: start + timedelta(days=d) for g, d in GROUP_ENDS.items()}
    state = DictState(str(TENANT), TenantInfo(zone, [], f"{start.year}-{start.month:02d}"), {"groups": {str(_uid(g)): e.isoformat() for g, e in groups.items()}})
    facts = Facts()
    active: dict[str, bool] = dict.fromkeys(CLIENTS, False)
    last_day = start + timedelta(days=120)
    touched_days: dict[date, set[str]] = {}
    midnights = [(day_start(start + timedelta(days=i), zone), start + timedelta(days=i)) for i in range(1, 121)]
    mi = 0

    def mark(instant: int) -> None:
        d = local_day(instant, zone)
        touched_days.setdefault(d, set()).update(c for c, a in active.items() if a)

    for minute, etype, d in events:
        instant = _instant(zone, start, minute)
        # A midnight is checked once every event at its own instant is in: the state at an
        # instant includes what happened at it (as every as-of read does), so a
        # registration cancelled at 00:00 sharp is "not eligible at that instant" (§5.3).
        while mi < len(midnights) and midnights[mi][0] < instant:
            m_instant, _ = midnights[mi]
            for c in CLIENTS:
                active[c] = facts.eligible(c, m_instant, zone, groups)
            mark(m_instant)
            mi += 1
        data = dict(d)
        agg = data.pop("id")
        if etype == "CreditGranted":
            exp = start + timedelta(days=int(data.pop("expires_in")))
            data = {"client_id": data["client_id"], "expires_on": exp.isoformat(), "registration_id": "x", "kind": "makeup"}
            facts.credits[agg] = (data["client_id"], exp)
        elif etype in ("CreditUsed", "CreditVoided"):
            facts.credits.pop(agg, None)
        elif etype == "RegistrationCreated":
            facts.regs[agg] = (data["client_id"], data["group_id"], data["state"])
        elif etype == "RegistrationCancelled":
            facts.regs.pop(agg, None)
        elif etype == "RegistrationPromoted" and agg in facts.regs:
            c, g, _ = facts.regs[agg]
            facts.regs[agg] = (c, g, "registered")
        elif etype == "RegistrationTransferred" and agg in facts.regs:
            c, _, _ = facts.regs[agg]
            facts.regs[agg] = (c, data["to_group_id"], data["state"])
        elif etype in ("ClientArchived", "ClientDeleted"):
            facts.blocked.add(agg)
        elif etype == "ClientRestored":
            facts.blocked.discard(agg)
        # The rules see ids, as in stored events.
        wire = {k: (str(_uid(v)) if k in ("client_id", "group_id", "to_group_id") else v) for k, v in data.items()}
        RULES.apply(state, EventRecord(0, TENANT, _uid(agg), 1, etype, instant, wire))
        for c in CLIENTS:
            if facts.eligible(c, instant, zone, groups):
                active[c] = True  # §5.2: activation is immediate
        if mi == len(midnights) or midnights[mi][0] != instant:
            mark(instant)  # (at a midnight, that midnight marks the day once it has run)
    while mi < len(midnights):
        m_instant, _ = midnights[mi]
        for c in CLIENTS:
            active[c] = facts.eligible(c, m_instant, zone, groups)
        mark(m_instant)
        mi += 1

    intervals = [iv for act, _ in state.clients.values() for iv in act.active_intervals(zone)]
    counts = daily_counts(intervals, start, last_day - timedelta(days=1), zone)
    expected = [len(touched_days.get(start + timedelta(days=i), set())) for i in range(len(counts))]
    assert counts == expected


_UIDS: dict[str, uuid.UUID] = {}


def _uid(name: str) -> uuid.UUID:
    """Ids the rules see: clients by name, other aggregates by their own name."""
    return _UIDS.setdefault(name, uuid.uuid5(TENANT, name))
