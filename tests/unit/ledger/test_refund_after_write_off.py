"""DOMAIN §4.8 with §6.3: a refund after a write-off of part or all of the pass's debt. The
written-off part is off the client's account already and was never paid: the refund
neither cancels it again nor pays it out, and nobody owes anybody more than the lessons
taken and not paid or forgiven."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from classledger.ledger import accounts as acc
from classledger.ledger import posting as post
from classledger.ledger.journal import balances, trial_balance

from .support import AT, BRANCH, CLIENT, cities, new_id


def test_the_reported_case() -> None:
    """120.00 on credit, never paid, written off whole, no lesson taken: nothing to pay out,
    nothing to settle (before: settled 120.00, the client credited 120.00)."""
    terms = post.refund_terms(billed=12000, price_paid=0, lessons_total=10, lessons_remaining=10,
                              single_visit_price=1500, written_off=12000)
    assert (terms.amount, terms.settled, terms.owed_after) == (0, 0, 0)


def test_without_a_write_off_the_terms_are_unchanged() -> None:
    """The worked example of §4.8 (100.00 paid, 4 of 10 taken at 12.00): refund 52.00."""
    terms = post.refund_terms(billed=10000, price_paid=10000, lessons_total=10, lessons_remaining=6,
                              single_visit_price=1200)
    assert (terms.amount, terms.settled, terms.owed_after) == (5200, 5200, 0)


@settings(deadline=None)
@given(st.integers(1, 10**6), st.integers(1, 40), st.integers(0, 10**5), cities, st.data())
def test_a_refund_after_a_write_off_leaves_the_client_owing_only_what_was_taken_unpaid_unforgiven(
        price: int, lessons: int, single: int, city: str, data: st.DataObject) -> None:
    paid = data.draw(st.integers(0, price))
    written_off = data.draw(st.integers(0, price - paid))
    remaining = data.draw(st.integers(0, lessons))
    terms = post.refund_terms(billed=price, price_paid=paid, lessons_total=lessons, lessons_remaining=remaining,
                              single_visit_price=single, written_off=written_off)
    sale = post.sale(new_id(), AT, "EUR", client_id=CLIENT, city=city, lesson_type="group", price=price)
    assert sale is not None
    txs = [sale]
    if paid:
        txs.append(post.payment(new_id(), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH,
                                method="cash", amount=paid))
    if written_off:
        txs.append(post.write_off(new_id(), AT, "EUR", client_id=CLIENT, city=city, amount=written_off))
    taken = lessons - remaining
    for i in range(1, taken + 1):
        t = post.lesson_consumed(new_id(), AT, "EUR", lesson_type="group", value=post.lesson_value(price, lessons, i))
        txs += [t] if t else []
    txs += post.refund((new_id(), new_id()), AT, "EUR", client_id=CLIENT, city=city, branch_id=BRANCH,
                       method="cash", amount=terms.amount, lesson_type="group",
                       unearned=post.unearned_value(price, lessons, taken), settled=terms.settled)
    b = balances(txs)
    owed = b.get(acc.receivable(CLIENT, city), 0)
    assert owed == terms.owed_after == max(0, min(price, terms.consumed_value) - paid - written_off)
    assert owed >= 0  # the school never ends owing the client for a pass it was not paid for
    assert terms.amount == max(0, paid - terms.consumed_value)  # only what was paid and not consumed
    assert acc.deferred("group") not in b
    assert trial_balance(txs).total == 0
