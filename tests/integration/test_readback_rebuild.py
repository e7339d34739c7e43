"""The catalogue and the client trail are disposable like every projection (API §5):
after a school's ordinary day — catalogue, groups filling up and a waitlist moving, a
shared pass, visits, payments and a cancellation, a refund, a recalculation, a lesson
transfer — the live tables equal a rebuild from the first event, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from classledger.projections.catalogue import Catalogue
from classledger.projections.trail import ClientTrail
from classledger.projections.verify import verify
from classledger.system import System
from tests.builders import School


def test_live_catalogue_and_trail_equal_a_rebuild(system: System) -> None:
    school = School.open(system, name="S", at=datetime(2026, 3, 2, 9, tzinfo=UTC), step=timedelta(minutes=7),
                         timezone="Europe/Tallinn")
    tid = school.tenant_id
    boss = school.admin = school.director = school.principal("regional_director", "Mari")

    def run(command: str, args: dict) -> dict:
        return school.run(command, args, boss)

    branch = school.branch("Kesklinn", "Tallinn")
    school.lesson_type("group", "G", "8.00")
    run("define_custom_field", {"key": "school", "label": "Kool", "type": "text", "required": False})
    course = run("create_course", {"name": "Tants", "lesson_type": "group"})["id"]
    groups = [run("create_group", {"course_id": course, "branch_id": branch, "name": f"G{i}", "capacity": 1,
                                   "starts_on": "2026-03-01", "ends_on": "2026-05-31"})["id"] for i in range(2)]
    shared = run("create_pass_template", {"name": "Pere", "price": "100.00", "lessons": 10, "validity_days": 30,
                                          "lesson_type": "group", "multi_client": True})["id"]
    big = run("create_pass_template", {"name": "Suur", "price": "150.00", "lessons": 10, "validity_days": 30,
                                       "lesson_type": "group", "multi_client": True})["id"]
    a, b, c = (school.client(n, branch) for n in ("Anu", "Berit", "Cärol"))
    regs = [run("register", {"client_id": x, "group_id": groups[0]})["id"] for x in (a, b, c)]
    run("cancel_registration", {"registration_id": regs[0], "reason": "x"})  # b is promoted
    run("transfer_registration", {"registration_id": regs[2], "group_id": groups[1]})
    run("grant_credit", {"registration_id": regs[1], "kind": "makeup", "expires_on": "2026-04-01"})
    p = school.pass_sold(shared, [a, b], branch, valid_from=date(2026, 3, 2))["id"]
    run("record_visit", {"client_id": b, "lesson_type": "group", "date": "2026-03-02", "status": "attended"})
    pay = school.payment(a, "5.00", branch, method="card")
    run("cancel_transaction", {"transaction_id": pay, "reason": "typo"})
    run("transfer_lessons", {"from_client_id": a, "to_client_id": c, "lesson_type": "group", "count": 2})
    run("recalculate_pass", {"pass_id": p, "template_id": big})
    run("link_family", {"parent_id": a, "member_id": c})

    live_trail = system.view(ClientTrail).page(tid, uuid.UUID(a), limit=1000, cursor=None)
    assert live_trail["total"] > 10
    groups_page = system.view(Catalogue).groups(tid, today=school.clock.date(), limit=10, cursor=None)
    assert [(g["registered"], g["waitlisted"]) for g in groups_page["items"]] == [(1, 0), (1, 0)]
    result = verify(system.store, ["catalogue", "trail"])
    assert result.ok, [d.examples for d in result.differences]
