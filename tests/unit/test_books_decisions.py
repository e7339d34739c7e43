"""The money commands as pure decisions (DOMAIN §6): payments, cancellation, corrections,
write-offs and discounts, each refusal code pinned; with hypothesis, a write-off settles
the passes' debts oldest first and never more than it writes off or a pass owes, and a
cancelled payment or write-off leaves every pass as it was before."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classledger.aggregates import books as b
from classledger.aggregates import passes as ps
from classledger.aggregates.base import Event, Meta, project
from classledger.aggregates.books import ClientAccount, Transaction
from classledger.aggregates.errors import Conflict, Invalid, Refused
from classledger.aggregates.passes import Pass
from classledger.ledger.money import MAX_TOTAL

TENANT = uuid.UUID(int=7)
CLIENT = uuid.UUID(int=1)
BRANCH = uuid.UUID(int=8)
META = Meta(tenant_id=TENANT, at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), actor="Peter")
CUR = "EUR"
CITY = "Bratislava"


def refused(code: str, fn: Callable[[], object], kind: type[Refused] = Refused) -> None:
    with pytest.raises(kind) as e:
        fn()
    assert e.value.code == code, e.value.code


def a_pass(n: int = 1, price: int = 10_000, paid: int = 0, city: str = CITY) -> Pass:
    out: Pass = project(None, [ps.PassSold.make(
        META, uuid.UUID(int=500 + n), 1, template_id=None, client_ids=(CLIENT,), branch_id=BRANCH, city=city,
        lesson_type="dance", price=price, discount=0, paid=paid, unit=price // 10, value=price, payment="on_credit",
        remaining=10, lessons_total=10, valid_from=date(2026, 3, 1), valid_until=date(2026, 3, 31))])
    return out


def account(owes: int, city: str = CITY) -> ClientAccount | None:
    if owes == 0:
        return None
    out: ClientAccount = project(None, [b.ClientAccountMoved.make(META, b.account_id(CLIENT), 1, client_id=CLIENT,
                                                                  transaction_id=uuid.UUID(int=9),
                                                                  by_city={city.lower(): owes})])
    return out


def posted(p: b.Posted) -> Transaction:
    out: Transaction = project(None, b.post(p.transaction, META, None)[:1])
    return out


def pay(amount: int, paid_pass: Pass | None = None) -> b.Posted:
    return b.receive_payment(META, uuid.UUID(int=100), CUR, client_id=CLIENT, city=CITY, branch_id=BRANCH,
                             method="cash", amount=amount, note="at the desk", paid_pass=paid_pass)


# ---- payments and cancellation (§6.3, §6.4, §4.8) ---------------------------------------------


def test_a_payment_naming_a_pass_counts_as_paid_for_it() -> None:  # DOMAIN §6.3, §4.8
    p = a_pass()
    done = pay(4_000, p)
    assert done.transaction.memo == "at the desk"
    assert done.transaction.related == (p.id,)
    assert project(p, done.events).paid == 4_000
    assert pay(4_000).events == []


def test_refusals_of_a_payment() -> None:  # DOMAIN §6.1, §6.3
    refused("amount_not_positive", lambda: pay(0), Invalid)
    refused("paid_out_of_range", lambda: pay(2, a_pass(paid=MAX_TOTAL - 1)), Invalid)


def test_cancelling_a_payment_takes_it_back_from_the_pass_once() -> None:  # DOMAIN §6.4
    p = a_pass()
    payment = pay(4_000, p)
    p = project(p, payment.events)
    original = posted(payment)
    done = b.cancel(original, [p], META, uuid.UUID(int=101), "typed twice")
    assert done.transaction.kind.value == "reversal"
    assert sum(x.amount for x in done.transaction.postings) == 0
    assert project(p, [e for e in done.events if e.originator_id == p.id]).paid == 0
    again = project(original, [e for e in done.events if e.originator_id == original.id])
    refused("already_cancelled", lambda: b.cancel(again, [p], META, uuid.UUID(int=102), "again"), Conflict)
    reversal: Transaction = project(None, b.post(done.transaction, META, None)[:1])
    refused("cannot_cancel_reversal", lambda: b.cancel(reversal, [], META, uuid.UUID(int=103), "x"), Conflict)


def test_a_correction_of_zero_is_refused() -> None:  # DOMAIN §6.4
    refused("amount_zero", lambda: b.correct(META, uuid.UUID(int=1), CUR, client_id=CLIENT, city=CITY, amount=0,
                                             reason="x"), Invalid)
    done = b.correct(META, uuid.UUID(int=1), CUR, client_id=CLIENT, city=CITY, amount=-500, reason="overcharged")
    assert done.transaction.memo == "overcharged"


# ---- write-off (§6.3, §6.6) -------------------------------------------------------------------


def write_off(owes: int, passes: list[Pass], amount: int | None = None) -> b.Posted:
    return b.write_off(account(owes), passes, META, uuid.UUID(int=200), CUR, client_id=CLIENT, city=CITY,
                       amount=amount, reason="gone abroad")


def test_refusals_of_a_write_off() -> None:  # DOMAIN §6.3
    refused("no_debt", lambda: write_off(0, []), Conflict)
    refused("more_than_debt", lambda: write_off(1_000, [], 1_001), Conflict)
    refused("amount_not_positive", lambda: write_off(1_000, [], 0), Invalid)


def test_a_write_off_settles_only_the_passes_owing_in_its_city() -> None:  # DOMAIN §6.3, §6.6
    here, there = a_pass(1), a_pass(2, city="Košice")
    done = write_off(20_000, [there, here])
    assert [e.originator_id for e in done.events] == [here.id]
    assert done.transaction.related == (here.id,)


@given(owed=st.lists(st.integers(0, 50_000), min_size=1, max_size=5), extra=st.integers(0, 50_000),
       share=st.floats(0.01, 1.0))
def test_a_write_off_settles_oldest_first_never_more_than_it_takes_or_a_pass_owes(
        owed: list[int], extra: int, share: float) -> None:  # DOMAIN §6.3
    passes = [a_pass(i, price=max(o, 1), paid=max(o, 1) - o) for i, o in enumerate(owed)]
    debt = sum(owed) + extra
    if debt == 0:
        refused("no_debt", lambda: write_off(debt, passes), Conflict)
        return
    amount = max(1, int(debt * share))
    done = write_off(debt, passes, amount)
    shares = {e.originator_id: e.amount for e in done.events if isinstance(e, ps.PassWrittenOff)}
    assert sum(shares.values()) == min(amount, sum(owed))
    for p in passes:
        assert shares.get(p.id, 0) <= p.owed
    settled = [p.owed - shares.get(p.id, 0) for p in passes if p.owed]
    # oldest first: a pass keeps a debt only when every later one settled nothing
    for i, left in enumerate(settled):
        if left:
            assert all(s == o for s, o in zip(settled[i + 1:], [p.owed for p in passes if p.owed][i + 1:],
                                               strict=True))
    original = posted(done)
    after = [project(p, [e for e in done.events if e.originator_id == p.id]) for p in passes]
    undone = b.cancel(original, after, META, uuid.UUID(int=300), "in error")
    restored = [project(p, [e for e in undone.events if e.originator_id == p.id]) for p in after]
    assert [p.owed for p in restored] == [p.owed for p in passes]


# ---- discounts (§6.3) ----------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "value", "code"), [
    ("absolute", 0, "amount_not_positive"), ("percent", "ten", "invalid_percent"), ("percent", "0", "invalid_percent"),
    ("percent", "100.5", "invalid_percent"), ("percent", "12.345", "invalid_percent"),
    ("percent", "NaN", "invalid_percent"),
])
def test_refusals_of_a_discount(kind: Any, value: int | str, code: str) -> None:  # DOMAIN §6.3
    refused(code, lambda: b.give_discount(None, META, CLIENT, kind, value), Invalid)


def test_a_discount_is_given_and_removed() -> None:  # DOMAIN §6.3
    events: list[Event] = b.give_discount(None, META, CLIENT, "percent", "12.5")
    acc: ClientAccount = project(None, events)
    assert acc.discount == b.Discount(kind="percent", value=1250)
    acc = project(acc, b.give_discount(acc, META, CLIENT, "absolute", 500))
    assert (acc.discount, acc.version) == (b.Discount(kind="absolute", value=500), 2)
    acc = project(acc, b.remove_discount(acc, META))
    refused("no_discount", lambda: b.remove_discount(acc, META), Conflict)
    refused("no_discount", lambda: b.remove_discount(None, META), Conflict)
