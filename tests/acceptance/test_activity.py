"""DOMAIN §5 walked with real dates in Europe/Bratislava (DST included), through the
real commands, on both databases. Every scenario also checks that the live monthly
report equals the report replayed from the month's own events (§5.7)."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from classledger.application.principal import Principal
from classledger.instants import us
from classledger.projections.activity import ActivityTimeline
from classledger.projections.activity_months import replay_month
from classledger.system import System
from tests.builders import School as Builder
from tests.builders import system_run

BA = ZoneInfo("Europe/Bratislava")


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=BA)


class Centre:
    def __init__(self, system: System, start: datetime) -> None:
        self.school = Builder(system, uuid.uuid4(), start, system_run(system))
        self.school.create_tenant("Slniečko", tiers=[["Start", 2], ["Standard", 4], ["Plus", 100]])
        self.system = system
        self.tenant_id = self.school.tenant_id
        self.admin, self.director = self.school.admin, self.school.director
        self.branch = self.school.branch("Centrum", "Bratislava", at=start)
        self.school.lesson_type("group", "Skupina", "10.00", at=start)
        self.course = self.run("create_course", {"name": "Plávanie", "lesson_type": "group"}, start)["id"]

    def run(self, command: str, args: dict, at: datetime, who: Principal | None = None) -> dict:
        return self.system.execute(who or self.admin, command, args, at=at)

    def group(self, at: datetime, starts: str, ends: str, capacity: int = 10) -> str:
        return self.run("create_group", {"course_id": self.course, "branch_id": self.branch, "name": f"G {starts}",
                                         "capacity": capacity, "starts_on": starts, "ends_on": ends}, at)["id"]

    def client(self, at: datetime, name: str = "Dieťa") -> str:
        return self.school.client(name, self.branch, at=at)

    def active(self, at: datetime) -> int:
        return self.system.view(ActivityTimeline).active_counts(self.tenant_id, us(at))["active"]

    def is_active(self, client: str, at: datetime) -> bool:
        return self.system.view(ActivityTimeline).is_active(self.tenant_id, uuid.UUID(client), us(at))

    def report(self, month: str, as_of: datetime) -> dict:
        view = self.system.view(ActivityTimeline)
        live = view.report(self.tenant_id, month, as_of=us(as_of))
        replayed = replay_month(self.system.store, view, self.tenant_id, month, as_of=us(as_of))
        assert replayed is not None
        assert live == replayed.report, "§5.7: the replayed month must equal the live report"
        return live


def test_registering_in_december_for_a_january_group_counts_in_december(system: System) -> None:
    """§5.1: whether the group is running does not matter; future groups count."""
    c = Centre(system, local(2025, 12, 1, 8))
    g = c.group(local(2025, 12, 1, 9), "2026-01-05", "2026-03-31")
    kid = c.client(local(2025, 12, 10, 9))
    assert not c.is_active(kid, local(2025, 12, 10, 14, 29))
    c.run("register", {"client_id": kid, "group_id": g}, local(2025, 12, 10, 14, 30))
    assert c.is_active(kid, local(2025, 12, 10, 14, 30))  # §5.2: at that instant
    rep = c.report("2025-12", local(2026, 2, 1))
    assert (rep["peak"], rep["peak_day"], rep["end_of_month"]) == (1, "2025-12-10", 1)


def test_cancelling_at_ten_keeps_the_client_active_until_midnight(system: System) -> None:
    """§5.3."""
    c = Centre(system, local(2026, 2, 1, 8))
    g = c.group(local(2026, 2, 1, 9), "2026-02-02", "2026-06-30")
    kid = c.client(local(2026, 2, 2, 9))
    reg = c.run("register", {"client_id": kid, "group_id": g}, local(2026, 2, 2, 9, 5))["id"]
    c.run("cancel_registration", {"registration_id": reg, "reason": "moving"}, local(2026, 2, 10, 10))
    assert c.is_active(kid, local(2026, 2, 10, 23, 59))
    assert not c.is_active(kid, local(2026, 2, 11, 0, 0))
    assert c.active(local(2026, 2, 11, 0, 0)) == 0


def test_a_group_ending_on_the_20th_drops_its_clients_at_midnight_of_the_21st(system: System) -> None:
    """§5.1 (a), §5.3 — in the week the clocks go forward (29 March 2026)."""
    c = Centre(system, local(2026, 3, 1, 8))
    g = c.group(local(2026, 3, 1, 9), "2026-03-02", "2026-03-28")
    kids = [c.client(local(2026, 3, 2, 9), f"K{i}") for i in range(3)]
    for i, k in enumerate(kids):
        c.run("register", {"client_id": k, "group_id": g}, local(2026, 3, 2, 10, i))
    assert c.active(local(2026, 3, 28, 23, 59)) == 3
    assert c.active(local(2026, 3, 29, 0, 0)) == 0  # local midnight, CET, 23:00 UTC
    # weeks later, with no event in between, the count is still right
    assert c.active(local(2026, 4, 20, 12)) == 0
    rep = c.report("2026-03", local(2026, 5, 1))
    assert rep["peak"] == 3
    assert [d["peak"] for d in rep["days"]][26:30] == [3, 3, 0, 0]


def test_a_credit_is_valid_through_its_expiry_day(system: System) -> None:
    """§5.1 (b): a valid make-up credit keeps a client eligible after their group ends."""
    c = Centre(system, local(2026, 10, 1, 8))
    g = c.group(local(2026, 10, 1, 9), "2026-10-01", "2026-10-15")
    kid = c.client(local(2026, 10, 1, 9))
    reg = c.run("register", {"client_id": kid, "group_id": g}, local(2026, 10, 1, 10))["id"]
    c.run("grant_credit", {"registration_id": reg, "kind": "makeup", "expires_on": "2026-10-25"}, local(2026, 10, 14, 18))
    assert c.is_active(kid, local(2026, 10, 25, 23, 59))  # the clocks go back on the 25th
    assert not c.is_active(kid, local(2026, 10, 26, 0, 0))


def test_waitlist_counts_only_once_promoted(system: System) -> None:
    """§5.1 (a) requires state registered; a promotion activates at that instant."""
    c = Centre(system, local(2026, 4, 1, 8))
    g = c.group(local(2026, 4, 1, 9), "2026-04-01", "2026-06-30", capacity=1)
    first, second = c.client(local(2026, 4, 1, 9), "Prvý"), c.client(local(2026, 4, 1, 9), "Druhý")
    r1 = c.run("register", {"client_id": first, "group_id": g}, local(2026, 4, 2, 9))["id"]
    c.run("register", {"client_id": second, "group_id": g}, local(2026, 4, 2, 9, 30))
    assert not c.is_active(second, local(2026, 4, 5, 12))
    c.run("cancel_registration", {"registration_id": r1, "reason": "illness"}, local(2026, 4, 6, 16))
    assert c.is_active(second, local(2026, 4, 6, 16))
    assert c.is_active(first, local(2026, 4, 6, 23, 59))
    assert c.active(local(2026, 4, 7, 0, 0)) == 1


def test_archive_removes_eligibility_at_the_next_midnight(system: System) -> None:
    """§2.5, §5.3: archived clients are not eligible; no manual deactivation."""
    c = Centre(system, local(2026, 5, 1, 8))
    g = c.group(local(2026, 5, 1, 9), "2026-05-01", "2026-06-30")
    kid = c.client(local(2026, 5, 1, 9))
    c.run("register", {"client_id": kid, "group_id": g}, local(2026, 5, 1, 10))
    c.run("archive_client", {"client_id": kid, "reason": "moved away"}, local(2026, 5, 12, 15))
    assert c.is_active(kid, local(2026, 5, 12, 23, 0))
    assert not c.is_active(kid, local(2026, 5, 13, 0, 0))


def test_the_peak_is_mid_month_the_end_is_lower_and_the_tier_follows_the_peak(system: System) -> None:
    """§5.5, §5.6: moving up is automatic; down only on a written request."""
    c = Centre(system, local(2026, 6, 1, 8))
    long = c.group(local(2026, 6, 1, 9), "2026-06-01", "2026-12-31")
    short = c.group(local(2026, 6, 1, 9), "2026-06-01", "2026-06-14")
    kids = [c.client(local(2026, 6, 1, 9), f"K{i}") for i in range(5)]
    c.run("register", {"client_id": kids[0], "group_id": long}, local(2026, 6, 2, 9))
    for i, k in enumerate(kids[1:]):
        c.run("register", {"client_id": k, "group_id": short}, local(2026, 6, 10, 9, i))
    june = c.report("2026-06", local(2026, 7, 1, 12))
    assert (june["peak"], june["peak_day"], june["end_of_month"], june["tier"]) == (5, "2026-06-10", 1, "Plus")
    july = c.report("2026-07", local(2026, 8, 1, 12))
    assert (july["peak"], july["tier"]) == (1, "Plus")  # no request: the tier stays up
    c.run("request_tier_downgrade", {"month": "2026-08", "tier": "Start"}, local(2026, 8, 3, 9), who=c.director)
    august = c.report("2026-08", local(2026, 9, 1, 12))
    assert (august["peak"], august["tier"]) == (1, "Start")
