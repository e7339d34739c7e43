"""Passes and attendance on both databases (DOMAIN §4, §7.1, §6.3): sales in three modes,
visits from the pass expiring first, single-visit charges, revenue per lesson."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from classledger.aggregates.errors import Conflict, Invalid
from classledger.projections.activity import ActivityTimeline
from classledger.projections.activity_model import us
from classledger.system import System
from tests.acceptance.passes_support import PassSchool


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
