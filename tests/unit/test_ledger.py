"""DOMAIN §6 as pure bookkeeping: balanced facts, reversals, posting rules with worked numbers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classledger.ledger import accounts as acc
from classledger.ledger import posting as post
from classledger.ledger.journal import (
    JournalTransaction,
    Posting,
    ReversalError,
    TransactionKind,
    balances,
    reversal_of,
    trial_balance,
)

AT = datetime(2026, 3, 1, 10, tzinfo=UTC)
CLIENT = uuid.UUID(int=1)
BRANCH = uuid.UUID(int=2)


def ids(n: int = 1) -> list[uuid.UUID]:
    return [uuid.uuid4() for _ in range(n)]


def test_unbalanced_or_empty_transactions_are_refused() -> None:
    """DOMAIN §6.2."""
    # pydantic reports a validator's error as a ValidationError (a ValueError)
    with pytest.raises(ValueError, match="sum to 1, not zero"):
        JournalTransaction(id=uuid.uuid4(), at=AT, kind=TransactionKind.PAYMENT, currency="EUR",
                           postings=(Posting(account="assets:cash:x", amount=100), Posting(account="income:lessons:group", amount=-99)))
    with pytest.raises(ValueError, match="at least two postings"):
        JournalTransaction(id=uuid.uuid4(), at=AT, kind=TransactionKind.PAYMENT, currency="EUR", postings=())
    with pytest.raises(ValueError, match="is not an account"):
        JournalTransaction(id=uuid.uuid4(), at=AT, kind=TransactionKind.PAYMENT, currency="EUR",
                           postings=(Posting(account="nowhere:x", amount=1), Posting(account="income:x", amount=-1)))


def test_reversal_negates_and_cannot_itself_be_reversed() -> None:
    """DOMAIN §6.4."""
    pay = post.payment(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city="Košice", branch_id=BRANCH, method="card", amount=5000)
    rev = reversal_of(pay, uuid.uuid4(), AT)
    assert rev.reverses == pay.id
    assert balances([pay, rev]) == {}
    with pytest.raises(ReversalError):
        reversal_of(rev, uuid.uuid4(), AT)


@given(st.integers(0, 10**9), st.integers(1, 200))
def test_lessons_add_up_to_the_price_exactly(price: int, lessons: int) -> None:
    """§6.3: the last lesson takes the rounding remainder."""
    values = [post.lesson_value(price, lessons, i) for i in range(1, lessons + 1)]
    assert sum(values) == price
    assert all(v >= 0 for v in values)
    assert max(values) - min(values) < lessons or lessons == 1


amounts = st.integers(1, 10**9)


@given(amounts, amounts, st.integers(0, 10**9), amounts, st.sampled_from(["cash", "card", "bank"]),
       st.sampled_from(["Bratislava", "Košice", "Nové Zámky", "Pärnu"]))
def test_every_rule_posts_a_balanced_transaction(price: int, amount: int, discount_raw: int, other: int, method: str, city: str) -> None:
    discount = discount_raw % (price + 1)
    txs = [
        post.sale(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city=city, lesson_type="group", price=price, discount=discount),
        post.payment(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH, method=method, amount=amount),
        post.visit_charge(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city=city, lesson_type="group", price=amount),
        post.write_off(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city=city, amount=amount),
        post.correction(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city=city, amount=-amount),
        *post.refund((uuid.uuid4(), uuid.uuid4()), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH, method=method,
                     amount=amount, lesson_type="group", unearned=other),
        post.recalculation(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city=city, old_lesson_type="group", old_unearned=other,
                           actual=amount, new_lesson_type="individual", new_price=price, discount=discount,
                           difference=amount - 1),
    ]
    for t in txs:
        assert sum(p.amount for p in t.postings) == 0
    accounts, total = trial_balance(txs)
    assert total == 0
    assert sum(accounts.values()) == 0


def test_recalculation_worked_example() -> None:
    """§4.7: a 10-lesson group pass at 120.00 EUR with 4 lessons left, switched to a
    10-lesson individual pass at 200.00: actual value 48.00, difference 152.00."""
    actual = post.actual_value(12000, 10, 4)
    assert actual == 4800
    tpl_cheap, tpl_ok = uuid.uuid4(), uuid.uuid4()
    assert post.offered(actual, {tpl_cheap: 4000, tpl_ok: 20000}) == [tpl_ok]
    # 6 lessons consumed at 12.00: 48.00 unearned left in deferred:group
    t = post.recalculation(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city="Bratislava", old_lesson_type="group",
                           old_unearned=4800, actual=actual, new_lesson_type="individual", new_price=20000)
    b = balances([t])
    assert b[acc.receivable(CLIENT, "Bratislava")] == 15200  # the client owes the difference
    assert b[acc.deferred("individual")] == -20000
    assert b[acc.deferred("group")] == 4800  # the old pass's deferred value is released
    assert acc.income_lessons("group") not in b
    # a rounding case: 100.00 / 3 lessons × 1 left = 33.333… → 33.33; 2 left → 66.67 (half up)
    assert post.actual_value(10000, 3, 1) == 3333
    assert post.actual_value(10000, 3, 2) == 6667
    # staff override the difference to 140.00: 12.00 conceded as a discount
    over = post.recalculation(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city="Bratislava", old_lesson_type="group",
                              old_unearned=4800, actual=actual, new_lesson_type="individual", new_price=20000, difference=14000)
    ob = balances([over])
    assert ob[acc.receivable(CLIENT, "Bratislava")] == 14000
    assert ob[acc.INCOME_DISCOUNTS] == 1200


def test_refund_worked_example() -> None:
    """§4.8: 10 lessons paid 100.00, 4 attended, single visit 12.00: consumed 48.00, refund 52.00."""
    amount = post.refund_amount(price_paid=10000, lessons_total=10, lessons_remaining=6, single_visit_price=1200)
    assert amount == 5200
    assert post.refund_amount(price_paid=3000, lessons_total=10, lessons_remaining=6, single_visit_price=1200) == 0
    sale = post.sale(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city="Trnava", lesson_type="group", price=10000)
    paid = post.payment(uuid.uuid4(), AT, "EUR", client_id=CLIENT, city="Trnava", branch_id=BRANCH, method="cash", amount=10000)
    lessons = [post.lesson_consumed(uuid.uuid4(), AT, "EUR", lesson_type="group", value=post.lesson_value(10000, 10, i)) for i in range(1, 5)]
    payout, release = post.refund((uuid.uuid4(), uuid.uuid4()), AT, "EUR", client_id=CLIENT, city="Trnava", branch_id=BRANCH,
                                  method="cash", amount=amount, lesson_type="group", unearned=6000)
    b = balances([sale, paid, *lessons, payout, release])
    assert acc.receivable(CLIENT, "Trnava") not in b  # the client is square
    assert acc.deferred("group") not in b  # nothing is owed in lessons any more
    assert b[acc.cash(BRANCH)] == 10000 - 5200
    assert b[acc.income_lessons("group")] == -(4000 + 800)  # 4 lessons, plus the unearned 8.00 kept


@pytest.mark.parametrize(("currency", "price", "lessons"), [("JPY", 10000, 3), ("KWD", 10001, 4)])
def test_minor_units_other_than_cents(currency: str, price: int, lessons: int) -> None:
    sale = post.sale(uuid.uuid4(), AT, currency, client_id=CLIENT, city="X", lesson_type="group", price=price)
    revs = [post.lesson_consumed(uuid.uuid4(), AT, currency, lesson_type="group", value=post.lesson_value(price, lessons, i))
            for i in range(1, lessons + 1)]
    assert acc.deferred("group") not in balances([sale, *revs])


def test_discounts_and_breakage() -> None:
    """§6.3: absolute discounts never exceed the price; percent in basis points, half up."""
    assert post.discount_amount(12000, "absolute", 1500) == 1500
    assert post.discount_amount(1000, "absolute", 1500) == 1000
    assert post.discount_amount(12000, "percent", 1250) == 1500  # 12.5 %
    assert post.discount_amount(999, "percent", 1000) == 100  # 99.9 → 100, half up
    with pytest.raises(ValueError, match="not negative"):
        post.discount_amount(100, "absolute", -1)
    t = post.breakage(uuid.uuid4(), AT, "EUR", lesson_type="group", remaining=3600)
    assert balances([t]) == {acc.deferred("group"): 3600, acc.income_lessons("group"): -3600}


def test_city_keys_are_stable_account_segments() -> None:
    assert acc.city_key("Nové Zámky") == "nove-zamky"
    assert acc.city_key("Pärnu") == "parnu"
    assert acc.receivable(CLIENT, "Košice").endswith(":kosice")
    assert acc.as_receivable(acc.receivable(CLIENT, "Košice")) == acc.Receivable(CLIENT, "kosice")
    assert acc.as_receivable(acc.cash(BRANCH)) is None
    assert acc.money_account("card", BRANCH) == acc.bank(BRANCH)
    with pytest.raises(acc.AccountError):
        acc.money_account("crypto", BRANCH)
