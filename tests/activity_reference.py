"""An independent reference for DOMAIN §5: walk time event by event and midnight by
midnight, evaluate eligibility from the facts directly (§5.1), and apply §5.2/§5.3
literally. Shared by the unit and the end-to-end property tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from classledger.instants import day_start
from classledger.projections.activity_model import local_day


@dataclass
class Facts:
    groups: dict[str, date] = field(default_factory=dict)  # group -> ends_on
    regs: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # reg -> client, group, state
    credits: dict[str, tuple[str, date]] = field(default_factory=dict)  # open credit -> client, expires_on
    blocked: set[str] = field(default_factory=set)
    clients: set[str] = field(default_factory=set)

    def eligible(self, client: str, instant: int, zone: ZoneInfo) -> bool:
        if client in self.blocked:
            return False
        today = local_day(instant, zone)
        for c, g, s in self.regs.values():
            if c == client and s == "registered" and today <= self.groups[g]:
                return True
        return any(c == client and today <= exp for c, exp in self.credits.values())

    def apply(self, etype: str, agg: str, d: dict[str, object]) -> None:
        if etype == "ClientRegistered":
            self.clients.add(agg)
        elif etype == "GroupCreated":
            self.groups[agg] = date.fromisoformat(str(d["ends_on"]))
        elif etype == "RegistrationCreated":
            self.regs[agg] = (str(d["client_id"]), str(d["group_id"]), str(d["state"]))
        elif etype in ("RegistrationPromoted", "RegistrationConfirmed") and agg in self.regs:
            c, g, _ = self.regs[agg]
            self.regs[agg] = (c, g, "registered")
        elif etype == "RegistrationTransferred" and agg in self.regs:
            c, _, _ = self.regs[agg]
            self.regs[agg] = (c, str(d["to_group_id"]), str(d["state"]))
        elif etype == "RegistrationCancelled":
            self.regs.pop(agg, None)
        elif etype == "CreditGranted":
            self.credits[agg] = (str(d["client_id"]), date.fromisoformat(str(d["expires_on"])))
        elif etype in ("CreditUsed", "CreditVoided"):
            self.credits.pop(agg, None)
        elif etype in ("ClientArchived", "ClientDeleted"):
            self.blocked.add(agg)
        elif etype == "ClientRestored":
            self.blocked.discard(agg)


def daily_active(events: list[tuple[int, str, str, dict[str, object]]], zone: ZoneInfo, first: date, days: int) -> list[int]:
    """How many clients were active at some instant of each day first..first+days-1."""
    facts = Facts()
    active: dict[str, bool] = {}
    touched: dict[date, set[str]] = {}
    midnights = [day_start(first + timedelta(days=i), zone) for i in range(days + 1)]
    mi = 0

    def mark(instant: int) -> None:
        touched.setdefault(local_day(instant, zone), set()).update(c for c, a in active.items() if a)

    def midnight(m: int) -> None:
        for c in list(active):
            active[c] = facts.eligible(c, m, zone)  # §5.3: deactivation only here
        mark(m)

    for instant, etype, agg, data in events:
        # A midnight is checked once every event at its own instant is in: the state at an
        # instant includes what happened at it (as every as-of read does), so a
        # registration cancelled at 00:00 sharp is "not eligible at that instant" (§5.3).
        while mi < len(midnights) and midnights[mi] < instant:
            midnight(midnights[mi])
            mi += 1
        facts.apply(etype, agg, data)
        for c in facts.clients:
            active.setdefault(c, False)
            if facts.eligible(c, instant, zone):
                active[c] = True  # §5.2: activation is immediate
        if mi == len(midnights) or midnights[mi] != instant:
            mark(instant)  # (at a midnight, that midnight marks the day once it has run)
    while mi < len(midnights):
        midnight(midnights[mi])
        mi += 1
    return [len(touched.get(first + timedelta(days=i), set())) for i in range(days)]
