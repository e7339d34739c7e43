"""The catalogue and the client trail are disposable like every projection (API §5):
after a school's ordinary day — catalogue, groups filling up and a waitlist moving, a
shared pass, visits, payments and a cancellation, a refund, a recalculation, a lesson
transfer — the live tables equal a rebuild from the first event, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.projections.catalogue import Catalogue
from classledger.projections.trail import ClientTrail
from classledger.projections.verify import verify
from classledger.system import System


def test_live_catalogue_and_trail_equal_a_rebuild(system: System) -> None:
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    tid = uuid.uuid4()
    system.execute(system_principal(tid), "create_tenant", {"name": "S", "timezone": "Europe/Tallinn", "currency": "EUR"}, at=at)
    boss = Principal(tid, uuid.uuid4(), "Mari", "regional_director")

    def run(command: str, args: dict) -> dict:
        nonlocal at
        at += timedelta(minutes=7)
        return system.execute(boss, command, args, at=at)

    branch = run("add_branch", {"name": "Kesklinn", "city": "Tallinn"})["id"]
    run("define_lesson_type", {"code": "group", "name": "G", "single_visit_price": "8.00"})
    run("define_custom_field", {"key": "school", "label": "Kool", "type": "text", "required": False})
    course = run("create_course", {"name": "Tants", "lesson_type": "group"})["id"]
    groups = [run("create_group", {"course_id": course, "branch_id": branch, "name": f"G{i}", "capacity": 1,
                                   "starts_on": "2026-03-01", "ends_on": "2026-05-31"})["id"] for i in range(2)]
    shared = run("create_pass_template", {"name": "Pere", "price": "100.00", "lessons": 10, "validity_days": 30,
                                          "lesson_type": "group", "multi_client": True})["id"]
    big = run("create_pass_template", {"name": "Suur", "price": "150.00", "lessons": 10, "validity_days": 30,
                                       "lesson_type": "group", "multi_client": True})["id"]
    a, b, c = (run("register_client", {"name": n, "branch_id": branch})["id"] for n in ("Anu", "Berit", "Cärol"))
    regs = [run("register", {"client_id": x, "group_id": groups[0]})["id"] for x in (a, b, c)]
    run("cancel_registration", {"registration_id": regs[0], "reason": "x"})  # b is promoted
    run("transfer_registration", {"registration_id": regs[2], "group_id": groups[1]})
    run("grant_credit", {"registration_id": regs[1], "kind": "makeup", "expires_on": "2026-04-01"})
    p = run("sell_pass", {"template_id": shared, "client_ids": [a, b], "branch_id": branch, "valid_from": "2026-03-02",
                          "payment": "paid", "method": "cash"})["id"]
    run("record_visit", {"client_id": b, "lesson_type": "group", "date": "2026-03-02", "status": "attended"})
    pay = run("receive_payment", {"client_id": a, "amount": "5.00", "method": "card", "branch_id": branch})["id"]
    run("cancel_transaction", {"transaction_id": pay, "reason": "typo"})
    run("transfer_lessons", {"from_client_id": a, "to_client_id": c, "lesson_type": "group", "count": 2})
    run("recalculate_pass", {"pass_id": p, "template_id": big})
    run("link_family", {"parent_id": a, "member_id": c})

    live_trail = system.view(ClientTrail).page(tid, uuid.UUID(a), limit=1000, cursor=None)
    assert live_trail["total"] > 10
    groups_page = system.view(Catalogue).groups(tid, today=at.date(), limit=10, cursor=None)
    assert [(g["registered"], g["waitlisted"]) for g in groups_page["items"]] == [(1, 0), (1, 0)]
    result = verify(system.store, ["catalogue", "trail"])
    assert result.ok, [d.examples for d in result.differences]
