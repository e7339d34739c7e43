"""The schedule on both databases (DOMAIN §7.2–§7.4, API §8): every refusal, recurrences
across closed days and DST, group lessons that follow registrations (§7.3), make-ups, and
attendance on a lesson that consumes from passes (§4.3, §7.1)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from classledger.aggregates.errors import Conflict, Forbidden, Invalid, Refused
from classledger.aggregates.lesson import Lesson
from classledger.aggregates.schedule import Room
from classledger.application.principal import Principal
from classledger.application.readback import history_items
from classledger.projections.lessons import Timetable
from classledger.projections.trail import ClientTrail
from classledger.system import System
from tests.builders import OnSchool, system_run
from tests.builders import School as Builder
from tests.concurrency import run_in_threads

T0 = datetime(2026, 8, 20, 8, 0, tzinfo=UTC)
SCHOOL_YEAR = {"every": "week", "interval": 1, "weekdays": ["tue"], "until": "2027-06-29"}


class School(OnSchool):
    def __init__(self, system: System) -> None:
        self.school = Builder(system, uuid.uuid4(), T0, system_run(system))
        self.school.create_tenant("Tanečná škola", tiers=[["S", 100]])
        self.system = system
        self.tenant_id = self.school.tenant_id
        self.admin, self.director = self.school.admin, self.school.director
        self.regional = self.school.principal("regional_director", "Eva")
        self.branch = self.school.branch("Centrum", "Bratislava")
        self.school.lesson_type("dance", "Tanec", "12.00")
        self.school.lesson_type("piano", "Klavír", "25.00")
        self.room = self.run("add_room", {"branch_id": self.branch, "name": "Sála A", "capacity": 20}, by=self.director)["id"]
        self.teacher = self.run("add_instructor", {"name": "Mária", "lesson_types": ["dance"]}, by=self.director)["id"]
        self.course = self.run("create_course", {"name": "Balet", "lesson_type": "dance"})["id"]

    def run(self, command: str, args: dict[str, Any], *, by: Principal | None = None) -> dict[str, Any]:
        return self.school.run(command, args, by)

    def client(self, name: str = "Dieťa") -> str:
        return self.school.client(name, self.branch)

    def group(self, capacity: int = 10) -> str:
        return str(self.run("create_group", {"course_id": self.course, "branch_id": self.branch, "name": "Pondelok",
                                             "capacity": capacity, "starts_on": "2026-09-01",
                                             "ends_on": "2027-06-30"})["id"])

    def plan(self, **args: Any) -> dict[str, Any]:
        base = {"branch_id": self.branch, "lesson_type": "dance", "starts_on": "2026-09-01", "time": "16:00",
                "duration_min": 60, "capacity": 10}
        return self.run("schedule_lessons", {**base, **args})

    def refused(self, command: str, args: dict[str, Any], *, by: Principal | None = None) -> Refused:
        with pytest.raises(Refused) as e:
            self.run(command, args, by=by)
        return e.value

    def hours(self) -> None:
        week = {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        self.run("set_branch_hours", {"branch_id": self.branch, "weekly": week,
                                      "closed_on": ["2026-11-17", "2026-12-22", "2026-12-29"]}, by=self.director)

    def lesson(self, lesson_id: str) -> Lesson:
        found = self.system.app.get(UUID(lesson_id))
        assert isinstance(found, Lesson)
        return found

    def read(self) -> Timetable:
        self.system.runner.catch_up()
        return self.system.view(Timetable)


def test_a_school_year_of_weekly_lessons_skips_closed_days_and_keeps_16_00_across_dst(system: System) -> None:
    """DOMAIN §7.2, §7.4: 44 Tuesdays, 3 of them closed; the wall clock stays at 16:00."""
    s = School(system)
    s.hours()
    plan = s.plan(room_id=s.room, instructor_id=s.teacher, repeat=SCHOOL_YEAR)
    assert plan["skipped"] == ["2026-11-17", "2026-12-22", "2026-12-29"]
    assert len(plan["lesson_ids"]) == 41
    lessons = s.read().lessons(s.tenant_id, limit=None)["items"]
    assert [x["time"] for x in lessons] == ["16:00"] * 41
    starts = {x["date"]: x["starts_at"] for x in lessons}
    assert starts["2026-10-20"] == "2026-10-20T14:00:00Z"  # summer time
    assert starts["2026-10-27"] == "2026-10-27T15:00:00Z"  # after the change
    room = system.app.get(UUID(s.room))
    assert isinstance(room, Room)
    assert len(room.timetable.slots) == 41


def test_every_refusal_of_planning_writes_nothing(system: System) -> None:
    """DOMAIN §7.2: each conflict has its code, a recurring plan is all or nothing, and the
    error names the first conflicting date."""
    s = School(system)
    s.hours()
    s.plan(room_id=s.room, starts_on="2026-10-06", time="17:00")  # one lesson in the room on 6 October
    other_teacher_lesson = s.plan(instructor_id=s.teacher, starts_on="2026-10-13", time="15:30")
    head = system.app.event_recorder.max_notification_id()

    e = s.refused("schedule_lessons", {"branch_id": s.branch, "room_id": s.room, "lesson_type": "dance",
                                       "starts_on": "2026-09-01", "time": "16:30", "duration_min": 60,
                                       "capacity": 10, "repeat": SCHOOL_YEAR})
    assert (e.code, e.details["date"]) == ("room_booked", "2026-10-06")
    e = s.refused("schedule_lessons", {"branch_id": s.branch, "instructor_id": s.teacher, "lesson_type": "dance",
                                       "starts_on": "2026-09-01", "time": "16:00", "duration_min": 60,
                                       "capacity": 10, "repeat": SCHOOL_YEAR})
    assert (e.code, e.details["date"]) == ("instructor_busy", "2026-10-13")
    assert e.details["lesson_id"] == other_teacher_lesson["lesson_ids"][0]
    e = s.refused("schedule_lessons", {"branch_id": s.branch, "lesson_type": "dance", "starts_on": "2026-09-05",
                                       "time": "10:00", "duration_min": 60, "capacity": 10})
    assert (e.code, e.details["date"]) == ("branch_closed", "2026-09-05")  # a Saturday
    e = s.refused("schedule_lessons", {"branch_id": s.branch, "lesson_type": "dance", "starts_on": "2026-09-01",
                                       "time": "19:30", "duration_min": 60, "capacity": 10, "repeat": SCHOOL_YEAR})
    assert (e.code, e.details["date"]) == ("branch_closed", "2026-09-01")  # runs past 20:00
    e = s.refused("schedule_lessons", {"branch_id": s.branch, "lesson_type": "dance", "starts_on": "2026-09-01",
                                       "time": "10:00", "duration_min": 60, "capacity": 0})
    assert isinstance(e, Invalid)
    assert e.code == "lesson_admits_nobody"
    clients = [s.client(f"K{i}") for i in range(3)]
    head = system.app.event_recorder.max_notification_id()
    e = s.refused("schedule_lessons", {"branch_id": s.branch, "lesson_type": "dance", "starts_on": "2026-09-01",
                                       "time": "10:00", "duration_min": 60, "capacity": 2, "client_ids": clients})
    assert e.code == "lesson_full"
    e = s.refused("schedule_lessons", {"branch_id": s.branch, "room_id": s.room, "lesson_type": "dance",
                                       "starts_on": "2026-09-01", "time": "10:00", "duration_min": 60, "capacity": 30})
    assert e.code == "lesson_full"  # the room holds 20
    e = s.refused("schedule_lessons", {"branch_id": s.branch, "instructor_id": s.teacher, "lesson_type": "piano",
                                       "starts_on": "2026-09-01", "time": "10:00", "duration_min": 60, "capacity": 1})
    assert e.code == "instructor_not_qualified"
    e = s.refused("schedule_lessons", {"branch_id": s.branch, "lesson_type": "dance", "starts_on": "2026-08-19",
                                       "time": "10:00", "duration_min": 60, "capacity": 5})
    assert isinstance(e, Forbidden)
    assert e.code == "in_the_past"
    assert system.app.event_recorder.max_notification_id() == head  # nothing written by any refusal
    # DOMAIN §1.4: a regional director schedules in the past.
    s.run("schedule_lessons", {"branch_id": s.branch, "lesson_type": "dance", "starts_on": "2026-08-19",
                               "time": "10:00", "duration_min": 60, "capacity": 5}, by=s.regional)


def test_booking_one_by_one_and_the_last_seat_race(system: System) -> None:
    """DOMAIN §7.2: already on it, full; two desks booking the last seat: exactly one wins."""
    s = School(system)
    lesson_id = s.plan(capacity=2)["lesson_ids"][0]
    first = s.client("Prvý")
    s.run("book_lesson", {"lesson_id": lesson_id, "client_id": first})
    e = s.refused("book_lesson", {"lesson_id": lesson_id, "client_id": first})
    assert e.code == "already_on_lesson"
    rivals = [s.client(f"R{i}") for i in range(6)]
    outcomes: list[str] = []

    def go(client_id: str) -> None:
        try:
            system.app.execute(s.admin, "book_lesson", {"lesson_id": lesson_id, "client_id": client_id},
                               at=s.clock + timedelta(hours=1))
            outcomes.append("booked")
        except Conflict as c:
            outcomes.append(c.code)

    assert run_in_threads(go, rivals) == []
    assert sorted(outcomes) == ["booked"] + ["lesson_full"] * 5
    assert len(s.lesson(lesson_id).bookings) == 2
    s.run("unbook_lesson", {"lesson_id": lesson_id, "client_id": first})
    assert s.refused("unbook_lesson", {"lesson_id": lesson_id, "client_id": first}).code == "not_on_lesson"
    assert len(s.lesson(lesson_id).bookings) == 1


def test_group_lessons_follow_registrations(system: System) -> None:
    """DOMAIN §7.3: the group's lessons book its members; a new registration books the future
    lessons; cancelling removes them; a promoted waitlisted client is booked; a transfer
    moves the bookings; archiving removes every future booking and the next call (§2.5)."""
    s = School(system)
    g = s.group(capacity=2)
    anna, boris, cyril = s.client("Anna"), s.client("Boris"), s.client("Cyril")
    s.run("register", {"client_id": anna, "group_id": g})
    ids = s.plan(group_id=g, capacity=2, starts_on="2026-09-01",
                 repeat={"every": "week", "until": "2026-09-29"})["lesson_ids"]
    assert all(s.lesson(i).booked(UUID(anna)) for i in ids)
    # A late registration in the middle of the month books only the lessons still to come.
    s.clock = datetime(2026, 9, 10, 8, 0, tzinfo=UTC)
    reg_b = s.run("register", {"client_id": boris, "group_id": g})
    assert reg_b["lessons_full"] == []
    assert [bool(s.lesson(i).booked(UUID(boris))) for i in ids] == [False, False, True, True, True]
    reg_c = s.run("register", {"client_id": cyril, "group_id": g})
    assert reg_c["state"] == "waitlist"
    assert not any(s.lesson(i).booked(UUID(cyril)) for i in ids)
    # Anna leaves: her future lessons are freed, her past ones kept; Cyril is promoted and booked.
    anna_reg_id = next(r for r in s.system.app.get(UUID(g)).seats if str(r.client_id) == anna).registration_id
    s.run("cancel_registration", {"registration_id": str(anna_reg_id), "reason": "moved away"})
    assert [bool(s.lesson(i).booked(UUID(anna))) for i in ids] == [True, True, False, False, False]
    assert [bool(s.lesson(i).booked(UUID(cyril))) for i in ids] == [False, False, True, True, True]
    # A transfer to another group of the course takes Boris off this group's future lessons.
    other = s.group(capacity=5)
    s.run("transfer_registration", {"registration_id": reg_b["id"], "group_id": other})
    assert not any(s.lesson(i).booked(UUID(boris)) for i in ids[2:])
    # Archiving Cyril: every future booking goes (DOMAIN §2.5, §7.4).
    extra = s.plan(starts_on="2026-09-24", time="10:00", client_ids=[cyril])["lesson_ids"][0]
    s.run("archive_client", {"client_id": cyril, "reason": "left the school"})
    assert not any(s.lesson(i).booked(UUID(cyril)) for i in [*ids, extra])
    # The timetable's register keeps the history: who was unbooked and why.
    register = s.read().lesson(s.tenant_id, UUID(ids[4]))
    assert register is not None
    why = {r["client_id"]: (r["state"], r["why"]) for r in register["register"]}
    assert why[anna] == ("unbooked", "registration_cancelled")
    assert why[boris] == ("unbooked", "transferred")
    assert why[cyril][0] == "unbooked"
    # The client's history shows the bookings and their cancellations.
    s.system.runner.catch_up()
    trail = s.system.view(ClientTrail).page(s.tenant_id, UUID(cyril), limit=1000, cursor=None)
    kinds = [item["type"] for item in history_items(system.app, s.tenant_id, trail["items"])]
    assert "ClientLessonsBooked" in kinds
    assert kinds.count("ClientLessonsUnbooked") >= 1


def test_a_makeup_credit_books_a_lesson_of_its_type(system: System) -> None:
    """DOMAIN §3.3: a make-up is used by booking a lesson of the same type."""
    s = School(system)
    g = s.group()
    kid = s.client()
    reg = s.run("register", {"client_id": kid, "group_id": g})
    credit = s.run("grant_credit", {"registration_id": reg["id"], "kind": "makeup", "expires_on": "2026-12-31"})["id"]
    piano = s.plan(lesson_type="piano", starts_on="2026-09-02", capacity=1)["lesson_ids"][0]
    e = s.refused("book_lesson", {"lesson_id": piano, "client_id": kid, "credit_id": credit})
    assert e.code == "lesson_type_mismatch"
    dance = s.plan(starts_on="2026-09-02", time="10:00", capacity=3)["lesson_ids"][0]
    s.run("book_lesson", {"lesson_id": dance, "client_id": kid, "credit_id": credit})
    assert s.refused("book_lesson", {"lesson_id": dance, "client_id": s.client("X"), "credit_id": credit}).code in (
        "credit_used", "credit_of_another_client")
    assert system.app.get(UUID(credit)).used


def test_attendance_on_a_lesson_consumes_from_a_pass_and_shows_on_its_register(system: System) -> None:
    """DOMAIN §7.1, §7.4, §4.3; cancelling the lesson keeps its history and returns nothing consumed."""
    s = School(system)
    kid = s.client()
    template = s.run("create_pass_template", {"name": "10 tancov", "price": "100.00", "lessons": 10,
                                              "validity_days": 120, "lesson_type": "dance"}, by=s.director)["id"]
    pass_id = s.run("sell_pass", {"template_id": template, "client_ids": [kid], "branch_id": s.branch,
                                  "valid_from": "2026-09-01", "payment": "paid", "method": "cash"})["id"]
    lesson_id = s.plan(client_ids=[kid], capacity=5)["lesson_ids"][0]
    outsider = s.client("Cudzí")
    e = s.refused("record_visit", {"client_id": outsider, "lesson_id": lesson_id, "status": "attended"})
    assert e.code == "not_on_lesson"
    s.clock = datetime(2026, 9, 1, 15, 30, tzinfo=UTC)
    visit = s.run("record_visit", {"client_id": kid, "lesson_id": lesson_id, "status": "attended"})
    assert visit["pass_id"] == pass_id
    assert system.app.get(UUID(pass_id)).remaining == 9
    assert s.refused("record_visit", {"client_id": kid, "lesson_id": lesson_id, "status": "attended"}).code == "already_marked"
    e = s.refused("record_visit", {"client_id": kid, "lesson_id": lesson_id, "status": "attended", "date": "2026-09-02"})
    assert e.code == "lesson_mismatch"
    register = s.read().lesson(s.tenant_id, UUID(lesson_id))
    assert register is not None
    assert [(r["client_id"], r["attendance"]) for r in register["register"]] == [(kid, "attended")]
    s.run("cancel_lesson", {"lesson_id": lesson_id, "reason": "teacher ill"})
    assert system.app.get(UUID(pass_id)).remaining == 9  # consumed stays consumed
    after = s.read().lesson(s.tenant_id, UUID(lesson_id))
    assert after is not None
    assert after["cancelled"]
    assert [(r["client_id"], r["attendance"]) for r in after["register"]] == [(kid, "attended")]
    assert s.refused("book_lesson", {"lesson_id": lesson_id, "client_id": outsider}).code == "lesson_cancelled"
    # Cancelling the visit returns the lesson to the pass and clears the mark.
    s.run("cancel_visit", {"visit_id": visit["id"], "reason": "marked by mistake"})
    assert system.app.get(UUID(pass_id)).remaining == 10


def test_a_cancelled_lesson_frees_its_room_and_instructor(system: System) -> None:
    s = School(system)
    first = s.plan(room_id=s.room, instructor_id=s.teacher)["lesson_ids"][0]
    assert s.refused("schedule_lessons", {"branch_id": s.branch, "room_id": s.room, "lesson_type": "dance",
                                          "starts_on": "2026-09-01", "time": "16:30", "duration_min": 30,
                                          "capacity": 3}).code == "room_booked"
    s.run("cancel_lesson", {"lesson_id": first, "reason": "moved"})
    s.plan(room_id=s.room, instructor_id=s.teacher, time="16:30", duration_min=30)
    listed = s.read().lessons(s.tenant_id, room_id=UUID(s.room), include_cancelled=False)
    assert listed["total"] == 1
