"""The books and the rules: a refund after a write-off (DOMAIN §4.8, §6.3), a freeze running
past a pass's end (§2.4, §4.6), archiving and the next call (§2.5), and the city rule on
every debt-posting path (§6.6). On both databases.

The school is ``PassSchool``: branches in Bratislava and Košice, a group lesson's single
visit 15.00, the template "Group 10" (120.00, 10 lessons, 60 days).
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from classledger.aggregates.errors import Conflict, Forbidden
from classledger.application.principal import Principal
from classledger.projections.clients import ClientDirectory
from classledger.system import System
from tests.acceptance.passes_support import PassSchool

# ---- §4.8, §6.3: a refund pays out only what was paid and not consumed ----------------------


def test_a_refund_after_a_write_off_leaves_nobody_owing_anybody(system: System) -> None:
    """A 120.00 pass sold on credit, never paid, written off whole by the city's director
    (balance 0.00), then refunded: the write-off already settled the pass's debt (§6.3), so
    the refund pays nothing and settles nothing more; the balance stays 0.00, not −120.00."""
    s = PassSchool(system)
    p = s.sell(payment="on_credit")
    assert s.balance()["total"] == "120.00"
    s.run("write_off_debt", {"client_id": s.client, "city": "Bratislava", "reason": "gone abroad"}, who=s.director)
    assert s.balance()["total"] == "0.00"
    r = s.run("refund_pass", {"pass_id": p["id"], "method": "cash", "comment": "closing the file"}, who=s.director)
    assert (r["amount"], r["settled"], r["owed_after"]) == ("0.00", "0.00", "0.00")
    assert s.balance()["total"] == "0.00"
    acc = s.accounts()
    assert acc.get("liabilities:deferred:group", "0.00") == "0.00"  # no lessons owed any more
    assert acc["expenses:bad_debt"] == "120.00"
    assert acc.get(f"assets:cash:{s.ba}", "0.00") == "0.00"  # nothing came in, nothing went out


def test_a_partly_written_off_pass_refunds_what_was_paid(system: System) -> None:
    """§4.8 with §6.3: 120.00 on credit, 50.00 paid for the pass, the other 70.00 written off,
    no lesson taken: the refund pays out the 50.00 paid, and nobody owes anybody after."""
    s = PassSchool(system)
    p = s.sell(payment="on_credit")
    s.run("receive_payment", {"client_id": s.client, "amount": "50.00", "method": "cash", "branch_id": s.ba,
                              "pass_id": p["id"]})
    s.run("write_off_debt", {"client_id": s.client, "city": "Bratislava", "reason": "hardship"}, who=s.director)
    r = s.run("refund_pass", {"pass_id": p["id"], "method": "cash", "comment": "leaving"}, who=s.director)
    assert r["amount"] == "50.00"
    assert s.balance()["total"] == "0.00"


def test_a_write_off_of_other_debt_leaves_the_pass_charge_to_its_refund(system: System) -> None:
    """A write-off settles passes only up to what they still owe: a charged visit (15.00)
    written off before a pass is sold and paid changes nothing in that pass's refund."""
    s = PassSchool(system)
    s.visit(date(2026, 3, 1))  # no pass yet: charged 15.00
    s.run("write_off_debt", {"client_id": s.client, "city": "Bratislava", "reason": "small"}, who=s.director)
    p = s.sell()
    r = s.run("refund_pass", {"pass_id": p["id"], "method": "cash", "comment": "x"}, who=s.director)
    assert r["amount"] == "120.00"
    assert s.balance()["total"] == "0.00"


def test_a_cancelled_write_off_gives_the_pass_its_debt_back(system: System) -> None:
    """§6.4: a write-off cancelled in error undoes its settling of the pass: the refund after
    it settles the whole charge again, as if there had been no write-off."""
    s = PassSchool(system)
    p = s.sell(payment="on_credit")
    wo = s.run("write_off_debt", {"client_id": s.client, "city": "Bratislava", "reason": "x"}, who=s.director)
    s.run("cancel_transaction", {"transaction_id": wo["id"], "reason": "wrong client"}, who=s.director)
    assert s.balance()["total"] == "120.00"
    r = s.run("refund_pass", {"pass_id": p["id"], "method": "cash", "comment": "x"}, who=s.director)
    assert (r["amount"], r["settled"]) == ("0.00", "120.00")
    assert s.balance()["total"] == "0.00"


def test_a_written_off_pass_is_not_voided_under_its_write_off(system: System) -> None:
    """§4.9 with §6.3: voiding reverses the sale, but the write-off that settled its debt would
    stay, leaving the school owing the client 120.00. Refused; once the write-off is
    cancelled, the void leaves nobody owing anybody."""
    s = PassSchool(system)
    p = s.sell(payment="on_credit")
    wo = s.run("write_off_debt", {"client_id": s.client, "city": "Bratislava", "reason": "x"}, who=s.director)
    head = system.store.recorder.max_notification_id()
    with pytest.raises(Conflict) as e:
        s.run("void_pass", {"pass_id": p["id"], "reason": "sold by mistake"}, who=s.director)
    assert e.value.code == "written_off"
    assert system.store.recorder.max_notification_id() == head
    s.run("cancel_transaction", {"transaction_id": wo["id"], "reason": "wrong"}, who=s.director)
    s.run("void_pass", {"pass_id": p["id"], "reason": "sold by mistake"}, who=s.director)
    assert s.balance()["total"] == "0.00"


def test_a_cancelled_payment_for_a_pass_is_not_refunded(system: System) -> None:
    """§6.4 with §4.8: a pass sold paid (120.00 cash), the payment cancelled as entered in
    error (the client owes 120.00 again): the refund pays nothing out and cancels the
    charge; the client does not walk away with 120.00 never paid."""
    s = PassSchool(system)
    p = s.sell()
    s.run("cancel_transaction", {"transaction_id": p["payment_transaction_id"], "reason": "card declined"},
          who=s.director)
    assert s.balance()["total"] == "120.00"
    r = s.run("refund_pass", {"pass_id": p["id"], "method": "cash", "comment": "x"}, who=s.director)
    assert (r["amount"], r["settled"]) == ("0.00", "120.00")
    assert s.balance()["total"] == "0.00"
    assert s.accounts().get(f"assets:cash:{s.ba}", "0.00") == "0.00"


def test_a_cancelled_payment_naming_a_pass_no_longer_counts_as_paid(system: System) -> None:
    s = PassSchool(system)
    p = s.sell(payment="on_credit")
    pay = s.run("receive_payment", {"client_id": s.client, "amount": "50.00", "method": "cash", "branch_id": s.ba,
                                    "pass_id": p["id"]})
    s.run("cancel_transaction", {"transaction_id": pay["id"], "reason": "wrong pass"}, who=s.director)
    r = s.run("refund_pass", {"pass_id": p["id"], "method": "cash", "comment": "x"}, who=s.director)
    assert r["amount"] == "0.00"
    assert s.balance()["total"] == "0.00"


# ---- §2.4, §4.6: validity is paused, the days left resume after the freeze ------------------


def _december_pass(s: PassSchool) -> str:
    month = s.template("December", "120.00", 10, 30, "group")
    return str(s.sell(month, valid_from=date(2026, 12, 1))["id"])


def _until(s: PassSchool, pid: str) -> str:
    return str(next(p["valid_until"] for p in s.card()["passes"] if p["id"] == pid))


def test_a_freeze_running_past_the_end_resumes_the_days_left_after_it(system: System) -> None:
    """Valid 1–30 December, frozen 25 December – 10 January: 6 days were left at the freeze's
    start (25–30 December), so the pass runs 11–16 January, not to 5 January inside the
    freeze; the first visit after the return takes a lesson instead of a charge."""
    s = PassSchool(system)
    pid = _december_pass(s)
    s.run("freeze_client", {"client_id": s.client, "from": "2026-12-25", "to": "2027-01-10"})
    assert _until(s, pid) == "2027-01-16"
    v = s.visit(date(2027, 1, 11))
    assert (v["charged"], v["pass_id"]) == (False, pid)
    assert s.visit(date(2027, 1, 16))["pass_id"] == pid
    assert s.visit(date(2027, 1, 17))["charged"] is True


def test_a_pass_sold_into_a_freeze_past_its_end_is_paused_the_same(system: System) -> None:
    """§2.4 at sale: the freeze recorded first, the same pass sold after it ends on 16 January."""
    s = PassSchool(system)
    s.run("freeze_client", {"client_id": s.client, "from": "2026-12-25", "to": "2027-01-10"})
    assert _until(s, _december_pass(s)) == "2027-01-16"


def test_a_later_freeze_moving_the_end_into_an_earlier_one_skips_it(system: System) -> None:
    """Frozen 2–5 January first (after the pass's end: nothing moves), then 28–30 December:
    the 3 days left resume on 31 December, 1 January and, over the January freeze, 6 January."""
    s = PassSchool(system)
    pid = _december_pass(s)
    s.run("freeze_client", {"client_id": s.client, "from": "2027-01-02", "to": "2027-01-05"})
    assert _until(s, pid) == "2026-12-30"
    s.run("freeze_client", {"client_id": s.client, "from": "2026-12-28", "to": "2026-12-30"})
    assert _until(s, pid) == "2027-01-06"


# ---- §2.5: archiving cancels the next call --------------------------------------------------


def test_archiving_cancels_the_next_call(system: System) -> None:
    """§2.5, §7.4: all scheduled calls are cancelled with the archive; the card shows none."""
    s = PassSchool(system)
    s.run("set_next_call", {"client_id": s.client, "on": "2026-04-01"})
    directory = system.view(ClientDirectory)
    assert directory.card(s.tenant_id, uuid.UUID(s.client))["next_call"] == "2026-04-01"  # type: ignore[index]
    s.run("archive_client", {"client_id": s.client, "reason": "moved away"})
    card = directory.card(s.tenant_id, uuid.UUID(s.client))
    assert card is not None
    assert card["archived"] is True
    assert card["next_call"] is None
    s.run("restore_client", {"client_id": s.client})
    card = directory.card(s.tenant_id, uuid.UUID(s.client))
    assert card is not None
    assert card["next_call"] is None


def test_archiving_a_client_with_no_call_writes_only_the_archive(system: System) -> None:
    s = PassSchool(system)
    before = system.store.recorder.max_notification_id() or 0
    s.run("archive_client", {"client_id": s.client, "reason": "moved away"})
    events = system.app.history(uuid.UUID(s.client))
    assert [type(e).__name__ for e in events][-1] == "ClientArchived"
    assert (system.store.recorder.max_notification_id() or 0) > before


# ---- §6.6: every debt-posting path obeys the city rule -------------------------------------


def _kosice_admin(s: PassSchool) -> Principal:
    return Principal(s.tenant_id, uuid.uuid4(), "Katka", "admin", city="Košice")


def test_staff_of_another_city_cannot_charge_a_visit(system: System) -> None:
    """§6.6, §4.3: a Bratislava client with no pass: a visit recorded by Košice staff would post
    a charge to the Bratislava receivable. Refused, nothing written; Bratislava staff may."""
    s = PassSchool(system)
    head = system.store.recorder.max_notification_id()
    with pytest.raises(Forbidden) as e:
        s.run("record_visit", {"client_id": s.client, "lesson_type": "group", "date": "2026-03-03",
                               "status": "attended"}, who=_kosice_admin(s))
    assert e.value.code == "other_city"
    assert system.store.recorder.max_notification_id() == head
    assert s.balance()["total"] == "0.00"
    bratislava = Principal(s.tenant_id, uuid.uuid4(), "Zuzka", "admin", city="Bratislava")
    assert s.run("record_visit", {"client_id": s.client, "lesson_type": "group", "date": "2026-03-03",
                                  "status": "attended"}, who=bratislava)["charged"] is True
    assert s.balance()["total"] == "15.00"


def test_staff_of_another_city_may_mark_a_visit_on_a_pass(system: System) -> None:
    """Attendance that takes a lesson from a pass posts no debt: any staff may mark it."""
    s = PassSchool(system)
    pid = s.sell()["id"]
    v = s.run("record_visit", {"client_id": s.client, "lesson_type": "group", "date": "2026-03-03",
                               "status": "attended"}, who=_kosice_admin(s))
    assert v["pass_id"] == str(pid)


def test_staff_of_another_city_cannot_cancel_a_charged_visit(system: System) -> None:
    """§6.6: cancelling a charged visit settles the Bratislava debt: Bratislava's staff only."""
    s = PassSchool(system)
    v = s.visit(date(2026, 3, 3))
    with pytest.raises(Forbidden) as e:
        s.run("cancel_visit", {"visit_id": v["id"], "reason": "wrong"}, who=_kosice_admin(s))
    assert e.value.code == "other_city"
    assert s.balance()["total"] == "15.00"
    s.run("cancel_visit", {"visit_id": v["id"], "reason": "wrong"})
    assert s.balance()["total"] == "0.00"

