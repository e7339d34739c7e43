"""Passes and attendance on both databases (DOMAIN §4, §7.1, §6.3): sales in three modes,
visits from the pass expiring first, single-visit charges, revenue per lesson."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import orjson
import pytest

from classledger.aggregates.errors import Conflict, Forbidden, Invalid
from classledger.application.importer import Importer
from classledger.instants import us
from classledger.projections.activity import ActivityTimeline
from classledger.projections.books import Books
from classledger.projections.passes import PassBook
from classledger.system import System
from tests.acceptance.passes_support import PassSchool
from tests.builders import School


def test_paid_sale_posts_sale_and_payment_atomically(system: System) -> None:
    """DOMAIN §4.2, §6.3: a paid sale is the sale and its payment, linked; the client is square."""
    s = PassSchool(system)
    sold = s.sell()
    assert len(sold["transaction_ids"]) == 2
    assert s.balance() == {"total": "0.00", "by_city": {}}
    acc = s.accounts()
    assert acc["liabilities:deferred:group"] == "-120.00"
    journal = s.books.journal(s.tenant_id)
    assert [j["kind"] for j in journal] == ["sale", "payment"]
    card = s.card()
    assert card["remainders"] == {"group": 10}
    assert card["passes"][0]["lessons_remaining"] == 10
    assert card["passes"][0]["valid_until"] == "2026-04-30"


def test_on_credit_and_no_payment(system: System) -> None:
    """DOMAIN §4.2: on_credit is the sale alone (the client owes); no_payment posts nothing."""
    s = PassSchool(system)
    s.sell(payment="on_credit")
    assert s.balance()["total"] == "120.00"
    other = s.new_client("Ján")
    s.sell(clients=[other], payment="no_payment")
    assert s.balance(other)["total"] == "0.00"
    assert [j["kind"] for j in s.books.journal(s.tenant_id)] == ["sale"]
    with pytest.raises(Invalid) as e:
        s.sell(clients=[s.new_client("X")], payment="on_credit", method="cash")
    assert e.value.code == "method_not_allowed"


def test_visits_consume_and_recognise_revenue(system: System) -> None:
    """DOMAIN §4.3, §6.3: each lesson moves price/lessons from deferred to income."""
    s = PassSchool(system)
    s.sell()
    v = s.visit()
    assert v["pass_id"] is not None
    assert v["amount"] == "12.00"
    acc = s.accounts()
    assert acc["liabilities:deferred:group"] == "-108.00"
    assert acc["income:lessons:group"] == "-12.00"
    assert s.card()["remainders"] == {"group": 9}
    s.run("cancel_visit", {"visit_id": v["id"], "reason": "marked by mistake"})
    assert s.card()["remainders"] == {"group": 10}
    assert s.accounts()["liabilities:deferred:group"] == "-120.00"
    with pytest.raises(Conflict):
        s.run("cancel_visit", {"visit_id": v["id"], "reason": "again"})


def test_visit_without_pass_is_charged(system: System) -> None:
    s = PassSchool(system)
    v = s.visit(lesson_type="individual")
    assert v["charged"]
    assert v["amount"] == "30.00"
    assert s.balance()["total"] == "30.00"
    s.run("cancel_visit", {"visit_id": v["id"], "reason": "no lesson"})
    assert s.balance()["total"] == "0.00"


def test_a_valid_pass_with_lessons_makes_its_clients_active(system: System) -> None:
    """DOMAIN §5.1 (c), §5.2, §5.3: active from the sale (or the validity's first day) while
    lessons remain; a used-up pass stops counting at the next midnight."""
    s = PassSchool(system)
    act = system.view(ActivityTimeline)
    cid = UUID(s.client)
    assert not act.is_active(s.tenant_id, cid, us(s.clock))
    one = s.template("One", "10.00", 1, 30, "group")
    s.sell(one)
    assert act.is_active(s.tenant_id, cid, us(s.clock))
    s.visit(date(2026, 3, 2))
    assert act.is_active(s.tenant_id, cid, us(s.clock))  # until midnight
    assert not act.is_active(s.tenant_id, cid, us(datetime(2026, 3, 3, 12, tzinfo=UTC)))
    # a pass valid from a later day counts from that day on
    later = s.new_client("Later")
    s.sell(clients=[later], valid_from=date(2026, 4, 1))
    assert not act.is_active(s.tenant_id, UUID(later), us(datetime(2026, 3, 20, tzinfo=UTC)))
    assert act.is_active(s.tenant_id, UUID(later), us(datetime(2026, 4, 2, tzinfo=UTC)))
    assert not act.is_active(s.tenant_id, UUID(later), us(datetime(2026, 6, 2, tzinfo=UTC)))


def test_recalculation_worked_example(system: System) -> None:
    """DOMAIN §4.7 with real numbers: a 10-lesson group pass at 120.00, 6 lessons given (4 left),
    switched to an individual pass at 200.00: actual 120.00/10×4 = 48.00, difference 152.00,
    one transaction: deferred:group +48.00, receivable +152.00, deferred:individual −200.00."""
    s = PassSchool(system)
    ind = s.template("Individual 5", "200.00", 5, 90, "individual")
    cheap = s.template("Group 2", "40.00", 2, 30, "group")
    p = s.sell()
    for d in range(3, 9):
        s.visit(date(2026, 3, d))
    assert s.accounts()["liabilities:deferred:group"] == "-48.00"
    with pytest.raises(Conflict) as e:
        s.run("recalculate_pass", {"pass_id": p["id"], "template_id": cheap})
    assert e.value.code == "template_not_offered"  # 40.00 < 48.00
    r = s.run("recalculate_pass", {"pass_id": p["id"], "template_id": ind})
    assert (r["actual_value"], r["difference"]) == ("48.00", "152.00")
    tx = [j for j in s.books.journal(s.tenant_id) if j["kind"] == "recalculation"]
    assert len(tx) == 1
    postings = {x["account"]: x["amount"] for x in tx[0]["postings"]}
    assert postings == {"liabilities:deferred:group": "48.00", f"assets:receivable:{s.client}:bratislava": "152.00",
                        "liabilities:deferred:individual": "-200.00"}
    acc = s.accounts()
    assert "liabilities:deferred:group" not in acc or acc["liabilities:deferred:group"] == "0.00"
    assert acc["liabilities:deferred:individual"] == "-200.00"
    assert s.balance()["total"] == "152.00"  # the client pays the difference (debt until paid)
    assert s.card()["remainders"] == {"individual": 5}
    with pytest.raises(Conflict) as e:
        s.run("recalculate_pass", {"pass_id": p["id"], "template_id": ind})
    assert e.value.code == "pass_recalculated"


def test_recalculation_with_a_hand_set_difference(system: System) -> None:
    s = PassSchool(system)
    ind = s.template("Individual 5", "200.00", 5, 90, "individual")
    p = s.sell()
    r = s.run("recalculate_pass", {"pass_id": p["id"], "template_id": ind, "difference": "50.00"})
    assert (r["actual_value"], r["computed_difference"], r["difference"]) == ("120.00", "80.00", "50.00")
    assert s.balance()["total"] == "50.00"
    assert s.accounts()["income:discounts"] == "30.00"


def test_refund_worked_example(system: System) -> None:
    """DOMAIN §4.8 with real numbers: 100.00 paid, 10 lessons, 6 left, single visit 12.00:
    consumed 4 × 12.00 = 48.00, refund 100.00 − 48.00 = 52.00; director only; not twice."""
    s = PassSchool(system)
    s.run("define_lesson_type", {"code": "dance", "name": "Dance", "single_visit_price": "12.00"}, who=s.director)
    t = s.template("Dance 10", "100.00", 10, 60, "dance")
    p = s.sell(t)
    for d in range(3, 7):
        s.visit(date(2026, 3, d), lesson_type="dance")
    args = {"pass_id": p["id"], "method": "cash", "comment": "moving away"}
    with pytest.raises(Forbidden):
        s.run("refund_pass", args)
    r = s.run("refund_pass", args, who=s.director)
    assert (r["amount"], r["consumed_value"]) == ("52.00", "48.00")
    assert s.balance()["total"] == "0.00"
    acc = s.accounts()
    assert acc.get("liabilities:deferred:dance", "0.00") == "0.00"
    assert acc["income:lessons:dance"] == "-48.00"  # the school keeps 4 × 12.00
    assert acc[f"assets:cash:{s.ba}"] == "48.00"  # 100.00 in, 52.00 out
    assert s.card()["remainders"] == {}
    with pytest.raises(Conflict) as e:
        s.run("refund_pass", args, who=s.director)
    assert e.value.code == "pass_refunded"


def test_refund_by_hand_and_cashless(system: System) -> None:
    s = PassSchool(system)
    p = s.sell()
    r = s.run("refund_pass", {"pass_id": p["id"], "method": "bank", "comment": "goodwill", "amount": "100.00"},
              who=s.director)
    assert (r["computed"], r["amount"]) == ("120.00", "100.00")
    assert s.accounts()[f"assets:bank:{s.ba}"] == "-100.00"


def test_void_compensates_every_transaction(system: System) -> None:
    """DOMAIN §4.9: the sale, its payment and the lessons already recognised are all reversed."""
    s = PassSchool(system)
    p = s.sell()
    s.visit()
    r = s.run("void_pass", {"pass_id": p["id"], "reason": "sold to the wrong client"}, who=s.director)
    assert len(r["reversal_ids"]) == 3
    acc = {k: v for k, v in s.accounts().items() if v != "0.00"}
    assert acc == {}
    assert s.balance()["total"] == "0.00"
    with pytest.raises(Conflict) as e:
        s.run("recalculate_pass", {"pass_id": p["id"], "template_id": s.group10})
    assert e.value.code == "pass_voided"
    assert s.card()["passes"][0]["state"] == "voided"


def test_extend_correct_virtual_and_breakage(system: System) -> None:
    """DOMAIN §4.4, §4.5, §6.3 breakage; an expired pass restored with bonus lessons."""
    s = PassSchool(system)
    p = s.sell()
    v = s.run("add_virtual_visits", {"pass_id": p["id"], "count": 3})
    assert (v["remaining"], v["amount"]) == (7, "36.00")
    with pytest.raises(Conflict) as e:
        s.run("expire_pass", {"pass_id": p["id"]})
    assert e.value.code == "pass_not_expired"
    s.clock = datetime(2026, 5, 2, 9, tzinfo=UTC)
    assert s.card(day=date(2026, 5, 2))["remainders"] == {}
    b = s.run("expire_pass", {"pass_id": p["id"]})
    assert b["amount"] == "84.00"
    assert s.accounts().get("liabilities:deferred:group", "0.00") == "0.00"
    assert s.accounts()["income:lessons:group"] == "-120.00"
    s.run("extend_pass", {"pass_id": p["id"], "valid_until": "2026-05-31", "bonus_lessons": 2})
    card = s.card(day=date(2026, 5, 2))
    assert card["remainders"] == {"group": 9}
    visit = s.visit(date(2026, 5, 3))
    assert visit["amount"] == "0.00"  # restored lessons carry no value: it was recognised at expiry
    with pytest.raises(Invalid):
        s.run("extend_pass", {"pass_id": p["id"], "valid_until": "2026-05-01"})
    s.run("correct_pass_validity", {"pass_id": p["id"], "valid_from": "2026-03-01", "valid_until": "2026-05-20"})
    assert s.card(day=date(2026, 5, 2))["passes"][0]["valid_until"] == "2026-05-20"


def test_freeze_moves_validity_by_overlapping_days(system: System) -> None:
    """DOMAIN §2.4, §4.6: a freeze 2026-04-25..2026-05-10 overlaps validity ..2026-04-30 by 6 days;
    validity is paused, so those 6 days resume after the freeze (11–16 May)."""
    s = PassSchool(system)
    s.sell()
    s.run("freeze_client", {"client_id": s.client, "from": "2026-04-25", "to": "2026-05-10"})
    assert s.card()["passes"][0]["valid_until"] == "2026-05-16"


def test_overlap_multi_client_and_discount(system: System) -> None:
    """DOMAIN §4.1 allow_overlap, multi_client; §6.3 the client's discount at sale."""
    s = PassSchool(system)
    s.sell()
    with pytest.raises(Conflict) as e:
        s.sell()
    assert e.value.code == "overlapping_pass"
    free = s.template("Flexible", "50.00", 5, 30, "group", allow_overlap=True)
    s.sell(free)  # allowed
    sibling = s.new_client("Sister")
    with pytest.raises(Invalid) as e2:
        s.sell(clients=[s.client, sibling])
    assert e2.value.code == "not_multi_client"
    fam = s.template("Family", "200.00", 20, 60, "individual", multi_client=True)
    s.run("give_discount", {"client_id": s.client, "kind": "percent", "value": "10", "reason": "large family"},
          who=s.director)
    sold = s.sell(fam, [s.client, sibling], payment="on_credit")
    assert sold["discount"] == "20.00"
    assert s.balance()["total"] == "180.00"
    assert s.accounts()["income:discounts"] == "20.00"
    s.visit(client=sibling, lesson_type="individual")
    assert s.card(sibling)["remainders"] == {"individual": 19}
    assert s.card()["remainders"]["individual"] == 19


def test_soonest_expiring_pass_first(system: System) -> None:
    """DOMAIN §4.3: the pass that expires first, ties by the oldest sale."""
    s = PassSchool(system)
    flex = s.template("Flex", "50.00", 5, 90, "group", allow_overlap=True)
    late = s.sell(flex)
    early = s.sell(s.template("Short", "30.00", 3, 10, "group", allow_overlap=True))
    assert s.visit()["pass_id"] == early["id"]
    tie_a = s.sell(s.template("Short2", "30.00", 3, 10, "group", allow_overlap=True))
    assert tie_a["id"] != late["id"]
    for _ in range(2):
        assert s.visit()["pass_id"] == early["id"]
    assert s.visit()["pass_id"] == tie_a["id"]


def test_lesson_transfer(system: System) -> None:
    """DOMAIN §4.10: regional director only; lessons and their value move; a warning across cities."""
    s = PassSchool(system)
    s.sell()
    other = s.new_client("Kamil", branch=s.ke)
    args = {"from_client_id": s.client, "to_client_id": other, "lesson_type": "group", "count": 3}
    with pytest.raises(Forbidden):
        s.run("transfer_lessons", args, who=s.director)
    r = s.run("transfer_lessons", args, who=s.regional)
    assert r["warnings"][0]["code"] == "different_cities"
    assert s.card()["remainders"] == {"group": 7}
    assert s.card(other)["remainders"] == {"group": 3}
    with pytest.raises(Conflict) as e:
        s.run("transfer_lessons", {**args, "count": 8}, who=s.regional)
    assert e.value.code == "not_enough_lessons"
    for d in range(3, 10):
        s.visit(date(2026, 3, d))
    for d in range(3, 6):
        s.visit(date(2026, 3, d), client=other)
    acc = s.accounts()
    assert acc.get("liabilities:deferred:group", "0.00") == "0.00"
    assert acc["income:lessons:group"] == "-120.00"


def test_refusals_change_nothing(system: System) -> None:
    s = PassSchool(system)
    s.run("archive_client", {"client_id": s.client, "reason": "left"})
    before = s.books.journal(s.tenant_id)
    with pytest.raises(Conflict) as e:
        s.visit()
    assert e.value.code == "client_archived"
    with pytest.raises(Conflict):
        s.sell()
    with pytest.raises(Invalid) as e2:
        s.sell(clients=[s.new_client("A")], payment="paid", method=None)
    assert e2.value.code in ("method_required", "invalid_args")
    assert s.books.journal(s.tenant_id) == before


def test_import_of_passes_and_visits(system: System) -> None:
    """API §1 import: initial data with no_payment passes (§4.2) and virtual visits (§4.4)."""
    school = School.open(system, at=datetime(2026, 3, 2, 8, tzinfo=UTC))
    tid = school.tenant_id
    school.key("director", "Jana")
    branch, client, tpl, pid = (str(uuid.uuid4()) for _ in range(4))

    def line(minute: int, command: str, args: dict) -> bytes:
        at = datetime(2026, 3, 2, 9, minute, tzinfo=UTC).isoformat()
        return orjson.dumps({"at": at, "actor": "Jana", "command": command, "args": args})

    lines = [
        line(1, "add_branch", {"id": branch, "name": "Centrum", "city": "Bratislava"}),
        line(2, "define_lesson_type", {"code": "group", "name": "G", "single_visit_price": "15.00"}),
        line(3, "create_pass_template", {"id": tpl, "name": "G10", "price": "120.00", "lessons": 10,
                                         "validity_days": 60, "lesson_type": "group"}),
        line(4, "register_client", {"id": client, "name": "Eva", "branch_id": branch}),
        line(5, "sell_pass", {"id": pid, "template_id": tpl, "client_ids": [client], "branch_id": branch,
                              "valid_from": "2026-02-01", "payment": "no_payment"}),
        line(6, "add_virtual_visits", {"pass_id": pid, "count": 4}),
        line(7, "record_visit", {"client_id": client, "lesson_type": "group", "date": "2026-03-02",
                                 "status": "attended"}),
        line(8, "add_virtual_visits", {"pass_id": pid, "count": 9}),
    ]
    summary = Importer(system.app, tid).run(lines)
    assert (summary.applied, summary.rejected) == (7, 1)
    assert summary.errors[0]["error"]["code"] == "not_enough_lessons"
    system.runner.catch_up()
    card = system.view(PassBook).card_part(tid, UUID(client), date(2026, 3, 2))
    assert card["remainders"] == {"group": 5}
    assert system.view(Books).journal(tid) == []  # no_payment: no ledger entries (§4.2)


def test_transfer_shows_in_both_histories(system: System) -> None:
    """DOMAIN §4.10: the transfer is in the giver's and the receiver's history."""
    from classledger.application.readback import history_items
    from classledger.projections.trail import ClientTrail

    def client_history(tid: UUID, cid: UUID) -> list[dict[str, object]]:
        page = system.view(ClientTrail).page(tid, cid, limit=1000, cursor=None)
        return history_items(system.app, tid, page["items"])

    s = PassSchool(system)
    s.sell()
    other = s.new_client("Kamil")
    s.run("transfer_lessons", {"from_client_id": s.client, "to_client_id": other, "lesson_type": "group", "count": 2},
          who=s.regional)
    mine = [i["type"] for i in client_history(s.tenant_id, UUID(s.client))]
    theirs = [i["type"] for i in client_history(s.tenant_id, UUID(other))]
    assert "PassSold" in mine
    assert "LessonsTransferredOut" in mine
    assert "PassSold" in theirs
    assert mine[0] == "ClientRegistered"


def test_a_pass_sold_into_a_freeze_is_paused(system: System) -> None:
    """DOMAIN §2.4: a freeze already recorded pauses a pass sold over it (5 days overlap)."""
    s = PassSchool(system)
    s.run("freeze_client", {"client_id": s.client, "from": "2026-03-10", "to": "2026-03-14"})
    s.sell()
    assert s.card()["passes"][0]["valid_until"] == "2026-05-05"


def test_no_show_consumes_only_when_the_tenant_says_so(system: System) -> None:
    """DOMAIN §7.1: the tenant setting decides whether an absence consumes a lesson."""
    keeps = PassSchool(system)
    keeps.sell()
    absent = keeps.visit(status="absent")
    assert absent["consumed"] is False
    assert absent["pass_id"] is None
    assert keeps.card()["remainders"] == {"group": 10}
    assert keeps.balance()["total"] == "0.00"
    strict = PassSchool(system, no_show_consumes=True)
    strict.sell()
    absent = strict.visit(status="absent")
    assert absent["consumed"] is True
    assert strict.card()["remainders"] == {"group": 9}


def test_recalculation_only_within_the_city(system: System) -> None:
    """DOMAIN §4.7: both passes sold in the same city."""
    s = PassSchool(system)
    ind = s.template("Individual 5", "200.00", 5, 90, "individual")
    p = s.sell()
    with pytest.raises(Conflict) as e:
        s.run("recalculate_pass", {"pass_id": p["id"], "template_id": ind, "branch_id": s.ke})
    assert e.value.code == "different_city"
    assert s.card()["remainders"] == {"group": 10}


def test_a_pass_that_gave_lessons_away_is_not_voided(system: System) -> None:
    """DOMAIN §4.9 vs §4.10: voiding would reverse value another client's pass now holds."""
    s = PassSchool(system)
    p = s.sell()
    other = s.new_client("Kamil")
    s.run("transfer_lessons", {"from_client_id": s.client, "to_client_id": other, "lesson_type": "group", "count": 2},
          who=s.regional)
    with pytest.raises(Conflict) as e:
        s.run("void_pass", {"pass_id": p["id"], "reason": "x"}, who=s.director)
    assert e.value.code == "lessons_transferred"


def test_lessons_received_by_transfer_are_not_refunded(system: System) -> None:
    s = PassSchool(system)
    s.sell()
    other = s.new_client("Kamil")
    got = s.run("transfer_lessons", {"from_client_id": s.client, "to_client_id": other, "lesson_type": "group",
                                     "count": 2}, who=s.regional)
    with pytest.raises(Conflict) as e:
        s.run("refund_pass", {"pass_id": got["pass_ids"][0], "method": "cash", "comment": "x"}, who=s.director)
    assert e.value.code == "not_paid_for"


def test_a_pass_whose_lessons_all_left_is_not_recalculated(system: System) -> None:
    """Found by the properties: every lesson transferred away leaves nothing to recalculate (409, not 500)."""
    s = PassSchool(system)
    three = s.template("Three", "100.00", 3, 30, "group")
    p = s.sell(three)
    other = s.new_client("Kamil")
    s.run("transfer_lessons", {"from_client_id": s.client, "to_client_id": other, "lesson_type": "group", "count": 3},
          who=s.regional)
    with pytest.raises(Conflict) as e:
        s.run("recalculate_pass", {"pass_id": p["id"], "template_id": s.group10})
    assert e.value.code == "no_lessons"


def test_the_nightly_breakage_job_posts_each_expired_pass_once(system: System) -> None:
    """DOMAIN §6.3 breakage at expiry, run as `classledger passes expire` (cron): passes that
    ended with lessons left are expired; a rerun posts nothing; valid passes are untouched."""
    from classledger.cli import expire_due_passes

    s = PassSchool(system)
    ended = s.sell()  # 2026-03-02 .. 2026-04-30, 10 lessons for 120.00
    s.visit(date(2026, 3, 3))
    s.visit(date(2026, 3, 10))
    s.sell(clients=[s.new_client("Adam")], valid_from=date(2026, 4, 20))  # still valid on 2026-05-02
    night = datetime(2026, 5, 1, 22, 30, tzinfo=UTC)  # 00:30 on 2 May in Bratislava
    s.clock = night
    first = expire_due_passes(system, s.tenant_id, night)
    assert first["day"] == "2026-05-02"  # the tenant's calendar, not UTC's
    assert first["amounts"] == ["96.00"]  # 8 unused lessons × 12.00 (DOMAIN §4.3)
    assert s.accounts()["income:lessons:group"] == "-120.00"
    again = expire_due_passes(system, s.tenant_id, night + timedelta(days=1))
    assert again["transactions"] == []
    kinds = [t["kind"] for t in system.view(Books).journal(s.tenant_id) if ended["id"] in str(t)]
    assert kinds.count("revenue") == 3  # two visits and one breakage
