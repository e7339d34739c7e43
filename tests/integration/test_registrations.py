"""Courses, groups, registrations and credits on both databases (DOMAIN §3, §2.5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from classledger.aggregates.course import Group
from classledger.aggregates.errors import Conflict, Invalid
from classledger.aggregates.registration import Registration
from classledger.system import System
from tests.builders import School as Builder
from tests.builders import system_run
from tests.concurrency import run_in_threads

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


class School:
    def __init__(self, system: System) -> None:
        self.school = Builder(system, uuid.uuid4(), T0, system_run(system))
        self.school.create_tenant("Škola", tiers=[["S", 3], ["M", 50]])
        self.system = system
        self.tenant_id = self.school.tenant_id
        self.admin = self.school.admin
        self.clock = T0
        self.branch = self.school.branch("Centrum", "Bratislava", at=T0)
        self.school.lesson_type("group", "Skupina", "10.00", at=T0)
        self.course = self.run("create_course", {"name": "Balet", "lesson_type": "group"})["id"]

    def run(self, command: str, args: dict, **kw):
        self.clock += timedelta(minutes=1)
        return self.system.execute(self.admin, command, args, at=kw.pop("at", self.clock), **kw)

    def group(self, capacity: int, starts: str = "2026-02-01", ends: str = "2026-06-30", course: str | None = None) -> str:
        return self.run("create_group", {"course_id": course or self.course, "branch_id": self.branch, "name": "G",
                                         "capacity": capacity, "starts_on": starts, "ends_on": ends,
                                         "schedule": [{"weekday": 1, "starts_at": "16:00", "minutes": 45}]})["id"]

    def client(self, name: str = "Dieťa") -> str:
        self.clock += timedelta(minutes=1)
        return self.school.client(name, self.branch, at=self.clock)


def test_a_full_group_waitlists_and_a_cancellation_promotes_the_oldest(system: System) -> None:
    """DOMAIN §3.2."""
    s = School(system)
    g = s.group(2)
    regs = [s.run("register", {"client_id": s.client(f"K{i}"), "group_id": g}) for i in range(4)]
    assert [r["state"] for r in regs] == ["registered", "registered", "waitlist", "waitlist"]
    s.run("cancel_registration", {"registration_id": regs[0]["id"], "reason": "illness"})
    states = [system.app.get(uuid.UUID(r["id"])).state for r in regs]
    assert states == ["cancelled", "registered", "registered", "waitlist"]
    s.run("cancel_registration", {"registration_id": regs[3]["id"], "reason": "changed mind"})
    group: Group = system.app.get(uuid.UUID(g))
    assert [str(x.registration_id) for x in group.seats] == [regs[1]["id"], regs[2]["id"]]
    assert group.queue == ()
    with pytest.raises(Conflict):
        s.run("cancel_registration", {"registration_id": regs[0]["id"], "reason": "again"})


def test_twenty_concurrent_registrations_into_five_seats(system: System) -> None:
    """The group owns its capacity: exactly five registered, fifteen waitlisted."""
    s = School(system)
    g = s.group(5)
    clients = [s.client(f"Súbežný {i}") for i in range(20)]
    answers: list[dict] = []

    def go(cid: str) -> None:
        answers.append(system.app.execute(s.admin, "register", {"client_id": cid, "group_id": g}, at=s.clock + timedelta(hours=1)))

    assert run_in_threads(go, clients) == []
    assert sorted(a["state"] for a in answers) == ["registered"] * 5 + ["waitlist"] * 15
    group: Group = system.app.get(uuid.UUID(g))
    assert len(group.seats) == 5
    assert len(group.queue) == 15


def test_transfer_keeps_the_registration_and_frees_the_old_seat(system: System) -> None:
    s = School(system)
    a, b = s.group(1), s.group(1)
    first = s.run("register", {"client_id": s.client("Prvý"), "group_id": a})
    second = s.run("register", {"client_id": s.client("Druhý"), "group_id": a})
    assert second["state"] == "waitlist"
    moved = s.run("transfer_registration", {"registration_id": first["id"], "group_id": b})
    assert moved == {"ok": True, "id": first["id"], "state": "registered", "version": 2}
    reg: Registration = system.app.get(uuid.UUID(first["id"]))
    assert [str(x) for x in reg.groups] == [a, b]
    assert system.app.get(uuid.UUID(second["id"])).state == "registered"  # promoted in a
    other_course = s.run("create_course", {"name": "Hip-hop", "lesson_type": "group"})["id"]
    c = s.group(3, course=other_course)
    with pytest.raises(Conflict) as e:
        s.run("transfer_registration", {"registration_id": first["id"], "group_id": c})
    assert e.value.code == "different_course"


def test_refusals(system: System) -> None:
    s = School(system)
    g = s.group(3)
    cid = s.client()
    s.run("register", {"client_id": cid, "group_id": g})
    with pytest.raises(Conflict) as e:
        s.run("register", {"client_id": cid, "group_id": g})
    assert e.value.code == "already_registered"
    ended = s.group(3, starts="2025-09-01", ends="2025-12-20")
    with pytest.raises(Conflict) as e:
        s.run("register", {"client_id": cid, "group_id": ended})
    assert e.value.code == "group_ended"
    with pytest.raises(Invalid):
        s.run("register", {"client_id": cid, "group_id": s.group(3), "late": True})  # not running yet
    with pytest.raises(Invalid):
        s.run("create_group", {"course_id": s.course, "branch_id": s.branch, "name": "X", "capacity": 0, "starts_on": "2026-01-01", "ends_on": "2026-02-01"})


def test_late_registration_holds_a_seat_until_confirmed(system: System) -> None:
    s = School(system)
    running = s.group(2, starts="2026-01-05")
    r = s.run("register", {"client_id": s.client(), "group_id": running, "late": True})
    assert r["state"] == "late"
    assert s.run("confirm_registration", {"registration_id": r["id"]})["state"] == "registered"
    with pytest.raises(Conflict):
        s.run("confirm_registration", {"registration_id": r["id"]})


def test_archiving_cancels_open_registrations_in_the_same_write(system: System) -> None:
    """DOMAIN §2.5: reason `archived`; the freed seat promotes the waitlist."""
    s = School(system)
    g = s.group(1)
    leaving = s.client("Odchádza")
    r1 = s.run("register", {"client_id": leaving, "group_id": g})
    r2 = s.run("register", {"client_id": s.client("Čaká"), "group_id": g})
    s.run("archive_client", {"client_id": leaving, "reason": "moved to Vienna"})
    reg = system.app.get(uuid.UUID(r1["id"]))
    assert reg.state == "cancelled"
    cancelled = [e for e in system.app.history(uuid.UUID(r1["id"])) if type(e).__name__ == "RegistrationCancelled"]
    assert cancelled[0].reason == "archived"
    assert system.app.get(uuid.UUID(r2["id"])).state == "registered"


def test_credits_are_valid_until_used_voided_or_expired(system: System) -> None:
    """DOMAIN §3.3."""
    s = School(system)
    r = s.run("register", {"client_id": s.client(), "group_id": s.group(3)})
    credit = s.run("grant_credit", {"registration_id": r["id"], "kind": "makeup", "expires_on": "2026-01-31"})["id"]
    s.run("use_credit", {"credit_id": credit})
    with pytest.raises(Conflict) as e:
        s.run("use_credit", {"credit_id": credit})
    assert e.value.code == "credit_used"
    late = s.run("grant_credit", {"registration_id": r["id"], "kind": "coupon", "expires_on": "2026-01-20", "value": "5.00"})["id"]
    with pytest.raises(Conflict) as e:
        s.run("void_credit", {"credit_id": late}, at=datetime(2026, 1, 21, 9, tzinfo=UTC))
    assert e.value.code == "credit_expired"
    with pytest.raises(Invalid):
        s.run("grant_credit", {"registration_id": r["id"], "kind": "coupon", "expires_on": "2026-03-01", "value": "5"})
