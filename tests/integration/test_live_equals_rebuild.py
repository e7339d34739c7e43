"""Projections are disposable and deterministic (API §5, ARCHITECTURE): after any
sequence of commands, every live projection equals a rebuild from the first event."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from classledger.aggregates.errors import Refused
from classledger.application.cabinet_users import cabinet_principal
from classledger.application.principal import Principal
from classledger.projections.verify import verify
from classledger.system import System
from tests.builders import School


class Commands(RuleBasedStateMachine):
    @initialize()
    def open(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.system = System.open(f"sqlite:///{self.dir.name}/db.sqlite")
        self.at = datetime(2026, 3, 1, 9, tzinfo=UTC)
        school = School.open(self.system, name="S", at=self.at, timezone="Europe/Tallinn", tiers=[["A", 3]])
        self.admin = school.principal("admin", "Kadri")
        school.director = school.principal("director", "Mari")
        self.branch = school.branch("Kesklinn", "Tallinn", at=self.at)
        school.lesson_type("group", "G", "8.00", at=self.at)
        course = self.system.execute(self.admin, "create_course", {"name": "Tants", "lesson_type": "group"}, at=self.at)["id"]
        self.groups = [
            self.system.execute(self.admin, "create_group", {"course_id": course, "branch_id": self.branch, "name": f"G{i}", "capacity": 2,
                                                             "starts_on": "2026-03-01", "ends_on": end}, at=self.at)["id"]
            for i, end in enumerate(["2026-03-20", "2026-05-31"])
        ]
        self.clients: list[str] = []
        self.regs: list[str] = []
        self.credits: list[str] = []

    def run(self, command: str, args: dict, minutes: int) -> dict | None:
        self.at += timedelta(minutes=minutes)
        try:
            return self.system.execute(self.admin, command, args, at=self.at)
        except Refused:
            return None

    @rule(name=st.sampled_from(["Märt", "Ľuba", "Юлия", "Anna"]), minutes=st.integers(1, 3000))
    def register_client(self, name: str, minutes: int) -> None:
        ans = self.run("register_client", {"name": name, "branch_id": self.branch, "tags": ["new"]}, minutes)
        if ans:
            self.clients.append(ans["id"])

    @rule(i=st.integers(0, 20), tag=st.sampled_from(["vip", "new"]), minutes=st.integers(1, 3000))
    def retag(self, i: int, tag: str, minutes: int) -> None:
        if self.clients:
            self.run("tag_client" if i % 2 else "untag_client", {"client_id": self.clients[i % len(self.clients)], "tag": tag}, minutes)

    @rule(i=st.integers(0, 20), g=st.integers(0, 1), minutes=st.integers(1, 3000))
    def enrol(self, i: int, g: int, minutes: int) -> None:
        if self.clients:
            ans = self.run("register", {"client_id": self.clients[i % len(self.clients)], "group_id": self.groups[g]}, minutes)
            if ans:
                self.regs.append(ans["id"])

    @rule(i=st.integers(0, 20), minutes=st.integers(1, 3000))
    def cancel(self, i: int, minutes: int) -> None:
        if self.regs:
            self.run("cancel_registration", {"registration_id": self.regs[i % len(self.regs)], "reason": "x"}, minutes)

    @rule(i=st.integers(0, 20), days=st.integers(0, 20), minutes=st.integers(1, 3000))
    def credit(self, i: int, days: int, minutes: int) -> None:
        if self.regs:
            exp = (self.at + timedelta(minutes=minutes, days=days)).date().isoformat()
            ans = self.run("grant_credit", {"registration_id": self.regs[i % len(self.regs)], "kind": "makeup", "expires_on": exp}, minutes)
            if ans:
                self.credits.append(ans["id"])

    @rule(i=st.integers(0, 20), minutes=st.integers(1, 3000))
    def archive_or_restore(self, i: int, minutes: int) -> None:
        if self.clients:
            cid = self.clients[i % len(self.clients)]
            if self.run("archive_client", {"client_id": cid, "reason": "left"}, minutes) is None:
                self.run("restore_client", {"client_id": cid}, minutes)

    @rule(i=st.integers(0, 20), minutes=st.integers(1, 3000))
    def erase(self, i: int, minutes: int) -> None:
        """DOMAIN §2.9: an erased client's personal data is gone from the rebuild as from live."""
        if self.clients:
            self.at += timedelta(minutes=minutes)
            director = Principal(self.admin.tenant_id, uuid.uuid4(), "Mari", "director")
            with contextlib.suppress(Refused):  # already erased
                self.system.execute(director, "erase_client", {"client_id": self.clients[i % len(self.clients)],
                                                               "reason": "request"}, at=self.at)

    @rule(i=st.integers(0, 20), minutes=st.integers(1, 3000))
    def link(self, i: int, minutes: int) -> None:
        if len(self.clients) > 1:
            self.run("link_family", {"parent_id": self.clients[0], "member_id": self.clients[1 + i % (len(self.clients) - 1)]}, minutes)

    @rule(i=st.integers(0, 20), minutes=st.integers(1, 3000))
    def transfer(self, i: int, minutes: int) -> None:
        if self.regs:
            self.run("transfer_registration", {"registration_id": self.regs[i % len(self.regs)], "group_id": self.groups[i % 2]}, minutes)

    @rule(born=st.sampled_from(["2016-04-02", "2019-09-30"]), minutes=st.integers(1, 3000))
    def register_child(self, born: str, minutes: int) -> None:
        ans = self.run("register_client", {"name": "Anna Tamm", "branch_id": self.branch, "phones": ["5123 4567"], "birth_date": born}, minutes)
        if ans:
            self.clients.append(ans["id"])

    @rule(born=st.sampled_from(["2016-04-02", "2019-09-30", "2000-01-01"]), unlink=st.booleans(), minutes=st.integers(1, 3000))
    def cabinet(self, born: str, unlink: bool, minutes: int) -> None:
        """DOMAIN §8.2: a parent's login, proofs that link or fail, and unlinks."""
        if not hasattr(self, "parent"):
            self.at += timedelta(minutes=minutes)
            invited = self.system.execute(self.admin, "invite_cabinet_user", {}, at=self.at)
            self.parent = cabinet_principal(self.admin.tenant_id, uuid.UUID(invited["id"]))
            self.system.execute(self.parent, "redeem_cabinet_invitation", {"invitation": invited["invitation"]}, at=self.at)
        self.at += timedelta(minutes=minutes)
        try:
            if unlink and self.clients:
                self.system.execute(self.parent, "unlink_cabinet_client", {"client_id": self.clients[-1]}, at=self.at)
            else:
                self.system.execute(self.parent, "link_cabinet_client", {"phone": "+372 5123 4567", "birth_date": born, "surname": "tamm",
                                                                         "candidate_ids": self.clients[-3:]}, at=self.at)
        except Refused:
            pass

    @rule(g=st.integers(0, 2), days=st.integers(0, 30), weeks=st.integers(0, 6), minutes=st.integers(1, 3000))
    def plan_lessons(self, g: int, days: int, weeks: int, minutes: int) -> None:
        """DOMAIN §7.2, §7.3: a group's weekly lessons (g < 2) or a one-off for named clients."""
        first = (self.at + timedelta(days=days + 1)).date()
        args: dict = {"branch_id": self.branch, "lesson_type": "group", "starts_on": first.isoformat(),
                      "time": "16:00", "duration_min": 45, "capacity": 3}
        if g < 2:
            args |= {"group_id": self.groups[g],
                     "repeat": {"every": "week", "until": (first + timedelta(weeks=weeks)).isoformat()}}
        else:
            args["client_ids"] = self.clients[-2:]
        ans = self.run("schedule_lessons", args, minutes)
        if ans:
            self.lessons = [*getattr(self, "lessons", []), *ans["lesson_ids"]]

    @rule(i=st.integers(0, 40), j=st.integers(0, 20), act=st.sampled_from(["book", "unbook", "visit", "cancel"]),
          minutes=st.integers(1, 3000))
    def lesson_act(self, i: int, j: int, act: str, minutes: int) -> None:
        lessons = getattr(self, "lessons", [])
        if not lessons or not self.clients:
            return
        lesson, client = lessons[i % len(lessons)], self.clients[j % len(self.clients)]
        if act == "book":
            self.run("book_lesson", {"lesson_id": lesson, "client_id": client}, minutes)
        elif act == "unbook":
            self.run("unbook_lesson", {"lesson_id": lesson, "client_id": client}, minutes)
        elif act == "visit":
            self.run("record_visit", {"lesson_id": lesson, "client_id": client, "status": "attended"}, minutes)
        else:
            self.run("cancel_lesson", {"lesson_id": lesson, "reason": "closed"}, minutes)

    def teardown(self) -> None:
        if hasattr(self, "system"):
            try:
                result = verify(self.system.store, ["all"])
                assert result.ok, result.as_json()
            finally:
                self.system.close()
                self.dir.cleanup()


TestLiveEqualsRebuild = Commands.TestCase
TestLiveEqualsRebuild.settings = settings(max_examples=25, stateful_step_count=25, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
