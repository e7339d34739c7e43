"""Posting rules (DOMAIN §6.3, §4.3, §4.7, §4.8, §4.10) as properties over any amounts."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classledger.ledger import accounts as acc
from classledger.ledger import posting as post
from classledger.ledger.journal import (
    JournalTransaction,
    TransactionKind,
    balances,
    client_balance,
    reversal_of,
    trial_balance,
)
from classledger.ledger.money import split

from .support import AT, BRANCH, CLIENT, amounts, cities, methods, new_id, prices

K = TransactionKind

# ---- lesson values -------------------------------------------------------------------------

lesson_counts = st.integers(min_value=1, max_value=400)


@given(prices, lesson_counts)
def test_lessons_add_up_to_the_price_exactly(price: int, lessons: int) -> None:
    """DOMAIN §6.3: the last lesson takes the rounding remainder; none is negative."""
    values = [post.lesson_value(price, lessons, i) for i in range(1, lessons + 1)]
    assert sum(values) == price
    assert all(v >= 0 for v in values)
    assert len(set(values[:-1])) <= 1
    assert 0 <= values[-1] - values[0] < lessons
    assert values == split(price, lessons)


@given(prices, lesson_counts, st.data())
def test_unearned_value_is_what_the_lessons_left_are_worth(price: int, lessons: int, data: st.DataObject) -> None:
    consumed = data.draw(st.integers(min_value=0, max_value=lessons))
    left = sum(post.lesson_value(price, lessons, i) for i in range(consumed + 1, lessons + 1))
    assert post.unearned_value(price, lessons, consumed) == left


@given(prices, lesson_counts, st.data())
def test_transferred_lessons_carry_their_value_exactly(price: int, lessons: int, data: st.DataObject) -> None:
    """DOMAIN §4.10: no money moves, but the value travels with the lessons, so the giving
    pass keeps its earlier lessons' values and the two parts add up to the pass."""
    count = data.draw(st.integers(min_value=1, max_value=lessons))
    moved = post.transferred_value(price, lessons, count)
    kept_lessons = lessons - count
    assert sum(post.lesson_value(moved, count, j) for j in range(1, count + 1)) == moved
    if kept_lessons:
        for i in range(1, kept_lessons + 1):
            assert post.lesson_value(price - moved, kept_lessons, i) == post.lesson_value(price, lessons, i)
    else:
        assert moved == price


@pytest.mark.parametrize(
    "call",
    [lambda: post.lesson_value(100, 0, 1), lambda: post.lesson_value(100, 3, 0), lambda: post.lesson_value(100, 3, 4),
     lambda: post.lesson_value(-1, 3, 1), lambda: post.unearned_value(100, 3, 4),
     lambda: post.transferred_value(100, 3, 0), lambda: post.transferred_value(100, 3, 4),
     lambda: post.actual_value(100, 3, 4), lambda: post.actual_value(100, 0, 0)],
)
def test_values_refuse_impossible_lessons(call: object) -> None:
    with pytest.raises(ValueError, match=r"runs? from|can move|not negative"):
        call()  # type: ignore[operator]


def test_discount_amounts() -> None:
    """DOMAIN §6.3: absolute never above the price; percent in basis points, half up."""
    assert post.discount_amount(12000, "absolute", 1500) == 1500
    assert post.discount_amount(1000, "absolute", 1500) == 1000
    assert post.discount_amount(12000, "percent", 1250) == 1500
    assert post.discount_amount(999, "percent", 1000) == 100
    assert post.discount_amount(12000, "percent", 20000) == 12000
    with pytest.raises(ValueError, match="not negative"):
        post.discount_amount(100, "absolute", -1)


# ---- every rule balances ---------------------------------------------------------------------


def _all_rules(price: int, amount: int, other: int, discount: int, method: str, city: str) -> list[JournalTransaction]:
    made: list[JournalTransaction | None] = [
        post.sale(new_id(), AT, "EUR", client_id=CLIENT, city=city, lesson_type="group", price=price,
                  discount=discount),
        *post.paid_sale((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH,
                        method=method, lesson_type="group", price=price, discount=discount),
        post.payment(new_id(), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH, method=method,
                     amount=amount),
        post.lesson_consumed(new_id(), AT, "EUR", lesson_type="group", value=other),
        post.breakage(new_id(), AT, "EUR", lesson_type="group", remaining=other),
        post.visit_charge(new_id(), AT, "EUR", client_id=CLIENT, city=city, lesson_type="group", price=other),
        post.write_off(new_id(), AT, "EUR", client_id=CLIENT, city=city, amount=amount),
        post.correction(new_id(), AT, "EUR", client_id=CLIENT, city=city, amount=-amount),
        post.correction(new_id(), AT, "EUR", client_id=CLIENT, city=city, amount=amount),
        post.discount(new_id(), AT, "EUR", client_id=CLIENT, city=city, amount=amount),
        *post.refund((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH, method=method,
                     amount=amount, lesson_type="group", unearned=other),
        *post.refund((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH, method=method,
                     amount=other, lesson_type="group", unearned=amount, settled=price),
        post.recalculation(new_id(), AT, "EUR", client_id=CLIENT, city=city, old_lesson_type="group",
                           old_unearned=other, actual=amount, new_lesson_type="individual", new_price=price + 1,
                           discount=discount),
        post.recalculation(new_id(), AT, "EUR", client_id=CLIENT, city=city, old_lesson_type="group",
                           old_unearned=other, actual=amount, new_lesson_type="group", new_price=price + 1,
                           discount=discount, difference=amount - other),
    ]
    return [t for t in made if t is not None]


@given(prices, amounts, st.integers(0, 10**12), st.integers(0, 10**12), methods, cities)
def test_every_rule_posts_balanced_transactions(price: int, amount: int, other: int, discount_raw: int,
                                                method: str, city: str) -> None:
    """DOMAIN §6.2 for every rule of §6.3, §4.7, §4.8, over any amounts."""
    discount = discount_raw % (price + 1)
    txs = _all_rules(price, amount, other, discount, method, city)
    for t in txs:
        assert sum(p.amount for p in t.postings) == 0
        assert len({p.account for p in t.postings}) == len(t.postings) >= 2
        assert all(p.amount != 0 for p in t.postings)
    assert trial_balance(txs).total == 0
    for t in txs:
        assert trial_balance([t, reversal_of(t, new_id(), AT)]).accounts == {}


def test_each_rule_has_its_kind_and_sides() -> None:
    """Debit positive, credit negative (DOMAIN §6.3)."""
    ke = acc.receivable(CLIENT, "Košice")
    sale = post.sale(new_id(), AT, "EUR", client_id=CLIENT, city="Košice", lesson_type="group", price=12000,
                     discount=1200)
    assert sale is not None
    assert sale.kind is K.SALE
    assert balances([sale]) == {ke: 10800, acc.INCOME_DISCOUNTS: 1200, acc.deferred("group"): -12000}
    pay = post.payment(new_id(), AT, "EUR", client_id=CLIENT, city="Košice", branch_id=BRANCH, method="cash",
                       amount=10800)
    assert pay.kind is K.PAYMENT
    assert balances([pay]) == {acc.cash(BRANCH): 10800, ke: -10800}
    lesson = post.lesson_consumed(new_id(), AT, "EUR", lesson_type="group", value=1200)
    assert lesson is not None
    assert lesson.kind is K.REVENUE
    assert balances([lesson]) == {acc.deferred("group"): 1200, acc.income_lessons("group"): -1200}
    visit = post.visit_charge(new_id(), AT, "EUR", client_id=CLIENT, city="Košice", lesson_type="group", price=1500)
    assert visit is not None
    assert visit.kind is K.VISIT_CHARGE
    assert balances([visit]) == {ke: 1500, acc.income_lessons("group"): -1500}
    off = post.write_off(new_id(), AT, "EUR", client_id=CLIENT, city="Košice", amount=3000)
    assert off.kind is K.WRITE_OFF
    assert balances([off]) == {acc.BAD_DEBT: 3000, ke: -3000}
    fix = post.correction(new_id(), AT, "EUR", client_id=CLIENT, city="Košice", amount=500)
    assert fix.kind is K.CORRECTION
    assert balances([fix]) == {ke: 500, acc.INCOME_CORRECTIONS: -500}
    less = post.discount(new_id(), AT, "EUR", client_id=CLIENT, city="Košice", amount=1000)
    assert less.kind is K.DISCOUNT
    assert balances([less]) == {acc.INCOME_DISCOUNTS: 1000, ke: -1000}


def test_paid_sale_is_two_linked_transactions() -> None:
    """DOMAIN §6.3: `paid` = the sale and its payment, linked; the client is square."""
    sale_id, pay_id = new_id(), new_id()
    pass_id = uuid.uuid4()
    sale, pay = post.paid_sale((sale_id, pay_id), AT, "EUR", client_id=CLIENT, city="Košice", branch_id=BRANCH,
                               method="card", lesson_type="group", price=12000, discount=1200, pass_id=pass_id)
    assert (sale.kind, pay.kind) == (K.SALE, K.PAYMENT)
    assert pay_id in sale.related
    assert sale_id in pay.related
    assert pass_id in sale.related
    assert pass_id in pay.related
    assert balances([sale, pay]) == {acc.bank(BRANCH): 10800, acc.INCOME_DISCOUNTS: 1200,
                                     acc.deferred("group"): -12000}
    free = post.paid_sale((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city="Košice", branch_id=BRANCH,
                          method="cash", lesson_type="group", price=12000, discount=12000)
    assert [t.kind for t in free] == [K.SALE]
    assert free[0].related == ()
    assert post.paid_sale((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city="Košice", branch_id=BRANCH,
                          method="cash", lesson_type="group", price=0) == []


def test_zero_business_values_post_nothing() -> None:
    assert post.sale(new_id(), AT, "EUR", client_id=CLIENT, city="X", lesson_type="trial", price=0) is None
    assert post.lesson_consumed(new_id(), AT, "EUR", lesson_type="group", value=0) is None
    assert post.breakage(new_id(), AT, "EUR", lesson_type="group", remaining=0) is None
    assert post.visit_charge(new_id(), AT, "EUR", client_id=CLIENT, city="X", lesson_type="trial", price=0) is None
    assert post.refund((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city="X", branch_id=BRANCH,
                       method="cash", amount=0, lesson_type="group", unearned=0) == []


@pytest.mark.parametrize(
    "call",
    [
        lambda: post.payment(new_id(), AT, "EUR", client_id=CLIENT, city="X", branch_id=BRANCH, method="cash", amount=0),
        lambda: post.payment(new_id(), AT, "EUR", client_id=CLIENT, city="X", branch_id=BRANCH, method="cash", amount=-5),
        lambda: post.write_off(new_id(), AT, "EUR", client_id=CLIENT, city="X", amount=0),
        lambda: post.correction(new_id(), AT, "EUR", client_id=CLIENT, city="X", amount=0),
        lambda: post.discount(new_id(), AT, "EUR", client_id=CLIENT, city="X", amount=0),
        lambda: post.sale(new_id(), AT, "EUR", client_id=CLIENT, city="X", lesson_type="g", price=100, discount=101),
        lambda: post.sale(new_id(), AT, "EUR", client_id=CLIENT, city="X", lesson_type="g", price=-100),
        lambda: post.lesson_consumed(new_id(), AT, "EUR", lesson_type="group", value=-1),
        lambda: post.refund((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city="X", branch_id=BRANCH,
                            method="cash", amount=-1, lesson_type="group", unearned=0),
        lambda: post.refund((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city="X", branch_id=BRANCH,
                            method="cash", amount=1, lesson_type="group", unearned=0, settled=-1),
        lambda: post.recalculation(new_id(), AT, "EUR", client_id=CLIENT, city="X", old_lesson_type="g",
                                   old_unearned=0, actual=0, new_lesson_type="i", new_price=100, discount=200),
        lambda: post.refund_amount(price_paid=100, lessons_total=5, lessons_remaining=6, single_visit_price=10),
    ],
)
def test_amounts_a_command_must_refuse_raise(call: object) -> None:
    with pytest.raises(ValueError, match=r"more than zero|not negative|runs? from|corrects nothing"):
        call()  # type: ignore[operator]


def test_a_payment_method_must_be_known() -> None:
    with pytest.raises(acc.AccountError, match="cash, card or bank"):
        post.payment(new_id(), AT, "EUR", client_id=CLIENT, city="X", branch_id=BRANCH, method="voucher", amount=1)


# ---- whole passes: the books end where they should ------------------------------------------


@settings(deadline=None)
@given(st.integers(1, 10**8), st.integers(1, 60), methods, cities, st.data())
def test_a_pass_consumed_to_the_end_or_broken_leaves_no_deferred_revenue(
        price: int, lessons: int, method: str, city: str, data: st.DataObject) -> None:
    """DOMAIN §6.3: sale, payment, lessons, then breakage at expiry: deferred returns to zero,
    the client is square, income is the price less the discount."""
    discount = data.draw(st.integers(0, price))
    taken = data.draw(st.integers(0, lessons))
    txs = post.paid_sale((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH,
                         method=method, lesson_type="group", price=price, discount=discount)
    for i in range(1, taken + 1):
        t = post.lesson_consumed(new_id(), AT, "EUR", lesson_type="group", value=post.lesson_value(price, lessons, i))
        txs += [t] if t else []
    end = post.breakage(new_id(), AT, "EUR", lesson_type="group",
                        remaining=post.unearned_value(price, lessons, taken))
    txs += [end] if end else []
    b = balances(txs)
    assert acc.deferred("group") not in b
    assert acc.receivable(CLIENT, city) not in b
    assert b.get(acc.income_lessons("group"), 0) + b.get(acc.INCOME_DISCOUNTS, 0) == -(price - discount)
    assert b.get(acc.money_account(method, BRANCH), 0) == price - discount


@settings(deadline=None)
@given(st.integers(1, 10**7), st.integers(1, 40), st.integers(0, 10**6), cities, st.data())
def test_refund_ends_the_pass_and_the_client_owes_only_what_was_taken_unpaid(
        price: int, lessons: int, single: int, city: str, data: st.DataObject) -> None:
    """DOMAIN §4.8 in the books, for any payment state and any hand-set refund: deferred is
    empty, cash is paid less refunded, the client owes max(0, final charge − paid)."""
    discount = data.draw(st.integers(0, price))
    billed = price - discount
    paid = data.draw(st.integers(0, billed))
    remaining = data.draw(st.integers(0, lessons))
    terms = post.refund_terms(billed=billed, price_paid=paid, lessons_total=lessons, lessons_remaining=remaining,
                              single_visit_price=single)
    override = data.draw(st.none() | st.integers(0, terms.computed + 10**4))
    if override is not None:
        terms = post.refund_terms(billed=billed, price_paid=paid, lessons_total=lessons,
                                  lessons_remaining=remaining, single_visit_price=single, amount=override)
    assert terms.computed == post.refund_amount(price_paid=paid, lessons_total=lessons,
                                                lessons_remaining=remaining, single_visit_price=single)
    sale = post.sale(new_id(), AT, "EUR", client_id=CLIENT, city=city, lesson_type="group", price=price,
                     discount=discount)
    assert sale is not None
    txs = [sale]
    if paid:
        txs.append(post.payment(new_id(), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH,
                                method="cash", amount=paid))
    taken = lessons - remaining
    for i in range(1, taken + 1):
        t = post.lesson_consumed(new_id(), AT, "EUR", lesson_type="group", value=post.lesson_value(price, lessons, i))
        txs += [t] if t else []
    txs += post.refund((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH,
                       method="cash", amount=terms.amount, lesson_type="group",
                       unearned=post.unearned_value(price, lessons, taken), settled=terms.settled)
    b = balances(txs)
    assert acc.deferred("group") not in b
    assert b.get(acc.cash(BRANCH), 0) == paid - terms.amount
    assert b.get(acc.receivable(CLIENT, city), 0) == terms.owed_after == max(0, min(billed, terms.consumed_value) - paid)
    assert trial_balance(txs).total == 0


@settings(deadline=None)
@given(st.integers(1, 10**7), st.integers(1, 40), st.integers(0, 10**7), cities, st.data())
def test_recalculation_moves_the_client_by_the_difference_and_empties_the_old_pass(
        price: int, lessons: int, new_price: int, city: str, data: st.DataObject) -> None:
    """DOMAIN §4.7: one atomic transaction; the old type's deferred ends at zero, the new
    type's holds the new price, the client's account moves by the (agreed) difference."""
    remaining = data.draw(st.integers(0, lessons))
    discount = data.draw(st.integers(0, new_price))
    override = data.draw(st.none() | st.integers(-(10**7), 10**7))
    sale = post.sale(new_id(), AT, "EUR", client_id=CLIENT, city=city, lesson_type="group", price=price)
    assert sale is not None
    txs = [sale]
    for i in range(1, lessons - remaining + 1):
        t = post.lesson_consumed(new_id(), AT, "EUR", lesson_type="group", value=post.lesson_value(price, lessons, i))
        txs += [t] if t else []
    actual = post.actual_value(price, lessons, remaining)
    before = balances(txs).get(acc.receivable(CLIENT, city), 0)
    recalc = post.recalculation(new_id(), AT, "EUR", client_id=CLIENT, city=city, old_lesson_type="group",
                                old_unearned=post.unearned_value(price, lessons, lessons - remaining), actual=actual,
                                new_lesson_type="individual", new_price=new_price, discount=discount,
                                difference=override)
    if recalc is None:  # an exhausted pass switched to a free one, at no difference: nothing moves
        assert actual == new_price == 0
        assert override in (None, 0)
        return
    assert recalc.kind is K.RECALCULATION
    b = balances([*txs, recalc])
    agreed = post.recalculation_difference(actual=actual, new_price=new_price, discount=discount) \
        if override is None else override
    assert acc.deferred("group") not in b
    assert b.get(acc.deferred("individual"), 0) == -new_price
    assert b.get(acc.receivable(CLIENT, city), 0) - before == agreed
    assert abs(actual - post.unearned_value(price, lessons, lessons - remaining)) < lessons
    assert trial_balance([*txs, recalc]).total == 0


def test_a_recalculation_where_everything_cancels_posts_nothing() -> None:
    """4 group lessons left worth 48.00, switched to a 48.00 group template: nothing moves."""
    assert post.recalculation(new_id(), AT, "EUR", client_id=CLIENT, city="X", old_lesson_type="group",
                              old_unearned=4800, actual=4800, new_lesson_type="group", new_price=4800) is None


def test_offered_templates_are_those_priced_at_least_the_actual_value() -> None:
    """DOMAIN §4.7: price ≥ actual_value, cheapest first, ties by id."""
    a, b, c, d = (uuid.UUID(int=i) for i in (1, 2, 3, 4))
    assert post.offered_templates(4800, {a: 20000, b: 4000, c: 4800, d: 4800}) == [c, d, a]
    assert post.offered_templates(0, {}) == []
    assert post.offered is post.offered_templates


# ---- any sequence of facts --------------------------------------------------------------------

_TYPES = ["group", "individual"]


@settings(deadline=None, max_examples=60)
@given(st.data())
def test_the_trial_balance_of_any_sequence_of_facts_is_zero(data: st.DataObject) -> None:
    """DOMAIN §6.2: whatever happens, in whatever order, including reversals of anything
    but reversals, the books balance and client balances are the sum of their accounts."""
    clients = [uuid.UUID(int=i) for i in range(1, 4)]
    txs: list[JournalTransaction] = []
    for _ in range(data.draw(st.integers(0, 25))):
        client, city = data.draw(st.sampled_from(clients)), data.draw(cities)
        lt = data.draw(st.sampled_from(_TYPES))
        amount = data.draw(amounts)
        kind = data.draw(st.sampled_from(["sale", "pay", "lesson", "visit", "write_off", "correction", "refund",
                                          "recalc", "discount", "reverse"]))
        made: list[JournalTransaction | None] = []
        if kind == "sale":
            made = [post.sale(new_id(), AT, "EUR", client_id=client, city=city, lesson_type=lt, price=amount,
                              discount=data.draw(st.integers(0, amount)))]
        elif kind == "pay":
            made = [post.payment(new_id(), AT, "EUR", client_id=client, city=city, branch_id=BRANCH,
                                 method=data.draw(methods), amount=amount)]
        elif kind == "lesson":
            made = [post.lesson_consumed(new_id(), AT, "EUR", lesson_type=lt, value=amount, client_id=client)]
        elif kind == "visit":
            made = [post.visit_charge(new_id(), AT, "EUR", client_id=client, city=city, lesson_type=lt, price=amount)]
        elif kind == "write_off":
            made = [post.write_off(new_id(), AT, "EUR", client_id=client, city=city, amount=amount)]
        elif kind == "correction":
            made = [post.correction(new_id(), AT, "EUR", client_id=client, city=city,
                                    amount=data.draw(st.sampled_from([amount, -amount])))]
        elif kind == "discount":
            made = [post.discount(new_id(), AT, "EUR", client_id=client, city=city, amount=amount)]
        elif kind == "refund":
            made = list(post.refund((new_id(), new_id()), AT, "EUR", client_id=client, city=city, branch_id=BRANCH,
                                    method=data.draw(methods), amount=amount, lesson_type=lt,
                                    unearned=data.draw(st.integers(0, 10**9))))
        elif kind == "recalc":
            made = [post.recalculation(new_id(), AT, "EUR", client_id=client, city=city, old_lesson_type=lt,
                                       old_unearned=data.draw(st.integers(0, 10**9)), actual=amount,
                                       new_lesson_type=data.draw(st.sampled_from(_TYPES)), new_price=amount)]
        elif txs:
            target = data.draw(st.sampled_from(txs))
            if target.kind is not K.REVERSAL:
                made = [reversal_of(target, new_id(), AT)]
        txs += [t for t in made if t is not None]
    result = trial_balance(txs)
    assert result.total == 0
    for client in clients:
        from_accounts = sum(v for a, v in result.accounts.items()
                            if (r := acc.as_receivable(a)) is not None and r.client_id == client)
        from_history = sum(p.amount for t in txs if t.client_id == client for p in t.postings
                           if acc.is_receivable(p.account))
        assert from_accounts == from_history == sum(client_balance(txs, client).values())
