"""DOMAIN §4.7 (recalculation) and §4.8 (refund) with real numbers, in EUR, JPY and KWD.

Each example runs the pass's whole story through the posting rules and reads the books
at the end, amounts written as the API writes them (decimal strings).
"""

from __future__ import annotations

import uuid
from typing import Any

from classledger.ledger import accounts as acc
from classledger.ledger import posting as post
from classledger.ledger.journal import JournalTransaction, balances, trial_balance
from classledger.ledger.money import Money, format_minor

from .support import AT, BRANCH, CLIENT, LATER, new_id

CITY = "Košice"
RECEIVABLE = acc.receivable(CLIENT, CITY)
GROUP, INDIVIDUAL = acc.deferred("group"), acc.deferred("individual")
GROUP_INCOME, INDIVIDUAL_INCOME = acc.income_lessons("group"), acc.income_lessons("individual")


def m(text: str, currency: str = "EUR") -> int:
    return Money.parse(text, currency).minor


def books(txs: list[JournalTransaction], currency: str = "EUR") -> dict[str, str]:
    result = trial_balance(txs)
    assert result.total == 0
    return {a: format_minor(v, currency) for a, v in result.accounts.items()}


def sold_and_used(price: int, lessons: int, taken: int, lesson_type: str = "group", currency: str = "EUR",
                  paid: int | None = None) -> list[JournalTransaction]:
    sale = post.sale(new_id(), AT, currency, client_id=CLIENT, city=CITY, lesson_type=lesson_type, price=price)
    assert sale is not None
    txs = [sale]
    amount = price if paid is None else paid
    if amount:
        txs.append(post.payment(new_id(), AT, currency, client_id=CLIENT, city=CITY, branch_id=BRANCH, method="cash",
                                amount=amount))
    for i in range(1, taken + 1):
        lesson = post.lesson_consumed(new_id(), AT, currency, lesson_type=lesson_type,
                                      value=post.lesson_value(price, lessons, i), client_id=CLIENT)
        assert lesson is not None
        txs.append(lesson)
    return txs


# ---- §4.7 recalculation ---------------------------------------------------------------------


def test_group_pass_switched_to_an_individual_pass() -> None:
    """§4.7: a 10-lesson group pass at 120.00 EUR, paid, 6 lessons given (4 left), switched
    to a 10-lesson individual pass at 200.00: actual value 48.00, difference 152.00."""
    price, lessons, remaining = m("120.00"), 10, 4
    txs = sold_and_used(price, lessons, lessons - remaining)
    assert books(txs)[GROUP] == "-48.00"  # 6 × 12.00 recognised, 48.00 still owed in lessons

    actual = post.actual_value(price, lessons, remaining)
    assert format_minor(actual, "EUR") == "48.00"
    templates = {uuid.UUID(int=1): m("40.00"), uuid.UUID(int=2): m("48.00"), uuid.UUID(int=3): m("200.00")}
    assert post.offered_templates(actual, templates) == [uuid.UUID(int=2), uuid.UUID(int=3)]
    difference = post.recalculation_difference(actual=actual, new_price=m("200.00"))
    assert format_minor(difference, "EUR") == "152.00"

    recalc = post.recalculation(new_id(), LATER, "EUR", client_id=CLIENT, city=CITY, old_lesson_type="group",
                                old_unearned=post.unearned_value(price, lessons, lessons - remaining), actual=actual,
                                new_lesson_type="individual", new_price=m("200.00"))
    assert recalc is not None
    # one atomic transaction: the old pass refunded at 48.00, the new sold at 200.00
    assert {p.account: format_minor(p.amount, "EUR") for p in recalc.postings} == {
        GROUP: "48.00", RECEIVABLE: "152.00", INDIVIDUAL: "-200.00"}
    assert books([*txs, recalc]) == {
        acc.cash(BRANCH): "120.00", RECEIVABLE: "152.00", INDIVIDUAL: "-200.00", GROUP_INCOME: "-72.00"}

    # the client pays the difference and takes the 10 individual lessons: nothing is owed either way
    txs += [recalc, post.payment(new_id(), LATER, "EUR", client_id=CLIENT, city=CITY, branch_id=BRANCH, method="card",
                                 amount=difference)]
    for i in range(1, 11):
        lesson = post.lesson_consumed(new_id(), LATER, "EUR", lesson_type="individual",
                                      value=post.lesson_value(m("200.00"), 10, i))
        assert lesson is not None
        txs.append(lesson)
    assert books(txs) == {acc.cash(BRANCH): "120.00", acc.bank(BRANCH): "152.00", GROUP_INCOME: "-72.00",
                          INDIVIDUAL_INCOME: "-200.00"}


def test_recalculation_with_a_discount_an_override_and_a_credit() -> None:
    """§4.7: difference = price_new − discount − actual_value; staff may override it; a
    negative difference is owed to the client."""
    common: dict[str, Any] = {"client_id": CLIENT, "city": CITY, "old_lesson_type": "group", "old_unearned": m("48.00"),
              "actual": m("48.00"), "new_lesson_type": "individual"}
    # large-family 10 % on the new 200.00 pass: 200.00 − 20.00 − 48.00 = 132.00
    with_discount = post.recalculation(new_id(), AT, "EUR", new_price=m("200.00"),
                                       discount=post.discount_amount(m("200.00"), "percent", 1000), **common)
    assert with_discount is not None
    assert books([with_discount]) == {GROUP: "48.00", RECEIVABLE: "132.00", acc.INCOME_DISCOUNTS: "20.00",
                                      INDIVIDUAL: "-200.00"}
    # the director agrees 120.00 instead: the 12.00 conceded is a discount too
    overridden = post.recalculation(new_id(), AT, "EUR", new_price=m("200.00"), discount=m("20.00"),
                                    difference=m("120.00"), **common)
    assert overridden is not None
    assert books([overridden])[RECEIVABLE] == "120.00"
    assert books([overridden])[acc.INCOME_DISCOUNTS] == "32.00"
    # a 50.00 template with 5.00 off: 50.00 − 5.00 − 48.00 = −3.00, the centre owes 3.00
    credit = post.recalculation(new_id(), AT, "EUR", new_price=m("50.00"), discount=m("5.00"), **common)
    assert credit is not None
    assert books([credit]) == {GROUP: "48.00", RECEIVABLE: "-3.00", acc.INCOME_DISCOUNTS: "5.00",
                               INDIVIDUAL: "-50.00"}


def test_recalculation_rounding_lands_in_lesson_income() -> None:
    """§4.7 half up: 100.00 / 3 × 2 = 66.666… → 66.67 and × 1 = 33.33; the lessons were
    valued 33.33, 33.33, 33.34, so with one left the cent of rounding is lesson income."""
    price = m("100.00")
    assert post.actual_value(price, 3, 2) == m("66.67") == post.unearned_value(price, 3, 1)
    assert post.actual_value(price, 3, 1) == m("33.33")
    txs = sold_and_used(price, 3, 2)
    recalc = post.recalculation(new_id(), LATER, "EUR", client_id=CLIENT, city=CITY, old_lesson_type="group",
                                old_unearned=post.unearned_value(price, 3, 2), actual=post.actual_value(price, 3, 1),
                                new_lesson_type="individual", new_price=m("80.00"))
    assert recalc is not None
    assert {p.account: format_minor(p.amount, "EUR") for p in recalc.postings} == {
        GROUP: "33.34", RECEIVABLE: "46.67", GROUP_INCOME: "-0.01", INDIVIDUAL: "-80.00"}
    assert GROUP not in books([*txs, recalc])


# ---- §4.8 refund ------------------------------------------------------------------------------


def refund_story(price: str, paid: str, lessons: int, remaining: int, single: str,
                 amount: str | None = None) -> tuple[post.RefundTerms, list[JournalTransaction], dict[str, str]]:
    taken = lessons - remaining
    txs = sold_and_used(m(price), lessons, taken, paid=m(paid))
    terms = post.refund_terms(billed=m(price), price_paid=m(paid), lessons_total=lessons, lessons_remaining=remaining,
                              single_visit_price=m(single), amount=None if amount is None else m(amount))
    refund = post.refund((new_id(), new_id()), LATER, "EUR", client_id=CLIENT, city=CITY, branch_id=BRANCH,
                         method="cash", amount=terms.amount, lesson_type="group",
                         unearned=post.unearned_value(m(price), lessons, taken), settled=terms.settled)
    return terms, refund, books([*txs, *refund])


def test_refund_of_a_paid_pass() -> None:
    """§4.8: 10 lessons paid 100.00, 4 taken, single visit 12.00: consumed 48.00, refund 52.00."""
    assert post.refund_amount(price_paid=m("100.00"), lessons_total=10, lessons_remaining=6,
                              single_visit_price=m("12.00")) == m("52.00")
    terms, refund, end = refund_story("100.00", "100.00", 10, 6, "12.00")
    assert (terms.consumed_value, terms.computed, terms.amount, terms.owed_after) == (m("48.00"), m("52.00"),
                                                                                   m("52.00"), 0)
    payout, release = refund
    assert payout.related == (release.id,)
    assert release.related == (payout.id,)
    assert {p.account: format_minor(p.amount, "EUR") for p in payout.postings} == {
        RECEIVABLE: "52.00", acc.cash(BRANCH): "-52.00"}
    # the 60.00 still deferred leaves the liability: 52.00 back to the client, 8.00 kept
    assert {p.account: format_minor(p.amount, "EUR") for p in release.postings} == {
        GROUP: "60.00", RECEIVABLE: "-52.00", GROUP_INCOME: "-8.00"}
    # the client is square, no lessons are owed, the school keeps 4 × 12.00
    assert end == {acc.cash(BRANCH): "48.00", GROUP_INCOME: "-48.00"}


def test_refund_of_a_pass_bought_on_credit_and_partly_paid() -> None:
    """§4.8 on a pass paid 30.00 of 100.00: nothing is paid out (30.00 < 48.00 taken), the
    pass's charge falls to 48.00, and the client still owes the 18.00 taken but unpaid."""
    terms, refund, end = refund_story("100.00", "30.00", 10, 6, "12.00")
    assert (terms.computed, terms.settled, terms.owed_after) == (0, m("52.00"), m("18.00"))
    assert [t.kind.value for t in refund] == ["refund"]  # no payout
    assert end == {acc.cash(BRANCH): "30.00", RECEIVABLE: "18.00", GROUP_INCOME: "-48.00"}


def test_refund_set_by_hand_and_refund_of_a_pass_used_beyond_its_price() -> None:
    """§4.8 "adjustable by hand": the director pays out 60.00 instead of 52.00; the client
    ends square and the school keeps 40.00. And at 30.00 a visit, 4 visits (120.00) cost
    more than the pass: nothing back, nothing more owed."""
    terms, _, end = refund_story("100.00", "100.00", 10, 6, "12.00", amount="60.00")
    assert (terms.computed, terms.amount, terms.settled) == (m("52.00"), m("60.00"), m("60.00"))
    assert end == {acc.cash(BRANCH): "40.00", GROUP_INCOME: "-40.00"}
    terms, refund, end = refund_story("100.00", "100.00", 10, 6, "30.00")
    assert (terms.computed, terms.settled, terms.owed_after) == (0, 0, 0)
    assert end == {acc.cash(BRANCH): "100.00", GROUP_INCOME: "-100.00"}
    assert {p.account for p in refund[0].postings} == {GROUP, GROUP_INCOME}  # breakage-like release only


# ---- other minor units ------------------------------------------------------------------------


def test_a_yen_pass_has_no_decimals() -> None:
    """JPY, 0 decimals: a 3-lesson pass at ¥10000 is 3333 + 3333 + 3334; with 2 left its
    actual value is 6666.67 → ¥6667; switched to a ¥15000 pass the client owes ¥8333."""
    price = m("10000", "JPY")
    assert [post.lesson_value(price, 3, i) for i in (1, 2, 3)] == [3333, 3333, 3334]
    txs = sold_and_used(price, 3, 1, currency="JPY")
    actual = post.actual_value(price, 3, 2)
    assert format_minor(actual, "JPY") == "6667"
    recalc = post.recalculation(new_id(), LATER, "JPY", client_id=CLIENT, city=CITY, old_lesson_type="group",
                                old_unearned=post.unearned_value(price, 3, 1), actual=actual,
                                new_lesson_type="individual", new_price=m("15000", "JPY"))
    assert recalc is not None
    assert books([*txs, recalc], "JPY") == {acc.cash(BRANCH): "10000", RECEIVABLE: "8333", INDIVIDUAL: "-15000",
                                            GROUP_INCOME: "-3333"}
    # or refunded instead: one visit at ¥4000 taken, ¥6000 back, ¥667 of the ¥6667 deferred kept
    refund = post.refund((new_id(), new_id()), LATER, "JPY", client_id=CLIENT, city=CITY, branch_id=BRANCH,
                         method="bank", lesson_type="group", unearned=post.unearned_value(price, 3, 1),
                         amount=post.refund_amount(price_paid=price, lessons_total=3, lessons_remaining=2,
                                                   single_visit_price=m("4000", "JPY")))
    assert books([*txs, *refund], "JPY") == {acc.cash(BRANCH): "10000", acc.bank(BRANCH): "-6000",
                                             GROUP_INCOME: "-4000"}


def test_a_dinar_pass_has_three_decimals() -> None:
    """KWD, 3 decimals: 8 lessons at 45.500 are 5.687 each and 5.691 last; with 3 left the
    actual value is 17.0625 → 17.063 (half up) against 17.065 deferred; switched to a
    60.000 pass the client owes 42.937 and 0.002 of rounding is lesson income."""
    price = m("45.500", "KWD")
    values = [post.lesson_value(price, 8, i) for i in range(1, 9)]
    assert [format_minor(v, "KWD") for v in values] == ["5.687"] * 7 + ["5.691"]
    txs = sold_and_used(price, 8, 5, currency="KWD")
    actual = post.actual_value(price, 8, 3)
    assert format_minor(actual, "KWD") == "17.063"
    assert format_minor(post.unearned_value(price, 8, 5), "KWD") == "17.065"
    recalc = post.recalculation(new_id(), LATER, "KWD", client_id=CLIENT, city=CITY, old_lesson_type="group",
                                old_unearned=post.unearned_value(price, 8, 5), actual=actual,
                                new_lesson_type="individual", new_price=m("60.000", "KWD"))
    assert recalc is not None
    assert {p.account: format_minor(p.amount, "KWD") for p in recalc.postings} == {
        GROUP: "17.065", RECEIVABLE: "42.937", GROUP_INCOME: "-0.002", INDIVIDUAL: "-60.000"}
    assert books([*txs, recalc], "KWD") == {acc.cash(BRANCH): "45.500", RECEIVABLE: "42.937",
                                            INDIVIDUAL: "-60.000", GROUP_INCOME: "-28.437"}


def test_a_four_decimal_unit_of_account() -> None:
    """CLF, 4 decimals: amounts, lesson values and their sum stay exact."""
    price = m("2.5000", "CLF")
    values = [post.lesson_value(price, 3, i) for i in (1, 2, 3)]
    assert [format_minor(v, "CLF") for v in values] == ["0.8333", "0.8333", "0.8334"]
    txs = sold_and_used(price, 3, 3, currency="CLF")
    assert books(txs, "CLF") == {acc.cash(BRANCH): "2.5000", GROUP_INCOME: "-2.5000"}
    assert balances(txs).get(GROUP, 0) == 0
