"""Journal transactions (DOMAIN §6.2, §6.4, §6.5): balanced, immutable, reversible once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from classledger.ledger import accounts as acc
from classledger.ledger import posting as post
from classledger.ledger.journal import (
    JournalTransaction,
    Posting,
    ReversalError,
    TransactionKind,
    balances,
    client_balance,
    merge_postings,
    reversal_of,
    transaction,
    trial_balance,
)
from classledger.ledger.money import CurrencyMismatchError

from .support import AT, BRANCH, CLIENT, LATER, OTHER_CLIENT, new_id

CASH = acc.cash(BRANCH)
KE = acc.receivable(CLIENT, "Košice")


def make(postings: list[tuple[str, Any]], **fields: Any) -> JournalTransaction:
    base: dict[str, Any] = {"id": new_id(), "at": AT, "kind": TransactionKind.PAYMENT, "currency": "EUR",
                            "client_id": CLIENT}
    base.update(fields)
    return JournalTransaction(postings=tuple(Posting(account=a, amount=v) for a, v in postings), **base)


def test_the_kinds_are_the_api_list() -> None:
    """API §3: the journal's kind is one of exactly these."""
    assert {k.value for k in TransactionKind} == {
        "sale", "payment", "revenue", "visit_charge", "refund", "recalculation", "reversal", "correction",
        "write_off", "discount", "transfer"}


def test_a_balanced_transaction_is_a_frozen_fact() -> None:
    tx = make([(CASH, 5000), (KE, -5000)], city="Košice", branch_id=BRANCH)
    assert tx.amount_on(CASH) == 5000
    assert tx.amount_on(acc.BAD_DEBT) == 0
    with pytest.raises(ValidationError):
        tx.memo = "edited"  # type: ignore[misc]
    assert JournalTransaction.model_validate_json(tx.model_dump_json()) == tx  # read back from a stored event


@pytest.mark.parametrize(
    ("postings", "fields", "message"),
    [
        ([], {}, "at least two postings"),
        ([(CASH, 100)], {}, "at least two postings"),
        ([(CASH, 100), (KE, -100), (acc.BAD_DEBT, 0)], {}, "posting of zero"),
        ([(CASH, 100), (CASH, -100)], {}, "appears twice"),
        ([(CASH, 100), (KE, -99)], {}, "sum to 1, not zero"),
        ([(CASH, 100), ("nowhere:x", -100)], {}, "not an account"),
        ([(CASH, 100.0), (KE, -100)], {}, "valid integer"),  # DOMAIN §6.1: never floats
        ([(CASH, True), (KE, -1)], {}, "valid integer"),
        ([(CASH, 2**63), (KE, -(2**63))], {}, "less than or equal"),
        ([(CASH, 100), (KE, -100)], {"at": datetime(2026, 3, 2, 9, 30)}, "UTC offset"),  # noqa: DTZ001
        ([(CASH, 100), (KE, -100)], {"currency": "XAU"}, "not an ISO 4217"),
        ([(CASH, 100), (KE, -100)], {"client_id": None}, "names the client"),
        ([(CASH, 100), (KE, -100)], {"client_id": OTHER_CLIENT}, "moves in a transaction of client"),
        ([(CASH, 100), (KE, -100)], {"city": "Bratislava"}, "in city 'kosice'"),
        ([(CASH, 100), (KE, -100)], {"kind": TransactionKind.REVERSAL}, "names the transaction"),
        ([(CASH, 100), (KE, -100)], {"reverses": uuid.uuid4()}, "names the transaction"),
    ],
)
def test_what_is_not_a_transaction_is_refused(postings: list[tuple[str, Any]], fields: dict[str, Any],
                                               message: str) -> None:
    """DOMAIN §6.2: refused at construction, and so also when a stored event is read."""
    with pytest.raises(ValidationError, match=message):
        make(postings, **fields)


def test_a_transaction_cannot_reverse_itself() -> None:
    tid = new_id()
    with pytest.raises(ValidationError, match="cannot reverse itself"):
        make([(CASH, 1), (KE, -1)], id=tid, kind=TransactionKind.REVERSAL, reverses=tid)


def test_transactions_without_a_client_account_need_no_client() -> None:
    tx = make([(acc.deferred("group"), 1200), (acc.income_lessons("group"), -1200)], client_id=None,
              kind=TransactionKind.REVENUE)
    assert tx.client_id is None


def test_the_helper_merges_repeats_and_drops_zeros() -> None:
    assert merge_postings([(KE, -4800), (CASH, 0), (KE, 20000), (acc.deferred("x"), -15200)]) == (
        Posting(account=KE, amount=15200), Posting(account=acc.deferred("x"), amount=-15200))
    tx = transaction(new_id(), AT, TransactionKind.CORRECTION, "EUR",
                     [(KE, 10), (acc.INCOME_CORRECTIONS, -10), (KE, 5), (acc.INCOME_CORRECTIONS, -5)], client_id=CLIENT)
    assert [(p.account, p.amount) for p in tx.postings] == [(KE, 15), (acc.INCOME_CORRECTIONS, -15)]


# ---- reversal (§6.4) -----------------------------------------------------------------------


def test_a_reversal_is_the_exact_negation_and_names_the_original() -> None:
    pay = post.payment(new_id(), AT, "EUR", client_id=CLIENT, city="Košice", branch_id=BRANCH, method="card",
                       amount=5000)
    rev = reversal_of(pay, new_id(), LATER, memo="entered twice")
    assert rev.kind is TransactionKind.REVERSAL
    assert rev.reverses == pay.id
    assert pay.id in rev.related
    assert [(p.account, -p.amount) for p in rev.postings] == [(p.account, p.amount) for p in pay.postings]
    assert (rev.client_id, rev.branch_id, rev.city, rev.currency) == (CLIENT, BRANCH, "Košice", "EUR")
    assert balances([pay, rev]) == {}
    assert balances([pay, rev], as_of=AT) == {acc.bank(BRANCH): 5000, KE: -5000}


def test_a_reversal_is_never_reversed() -> None:
    pay = post.payment(new_id(), AT, "EUR", client_id=CLIENT, city="Košice", branch_id=BRANCH, method="cash",
                       amount=5000)
    rev = reversal_of(pay, new_id(), AT)
    with pytest.raises(ReversalError, match="cannot itself be reversed"):
        reversal_of(rev, new_id(), LATER)


def test_a_reversal_does_not_precede_its_original() -> None:
    pay = post.payment(new_id(), LATER, "EUR", client_id=CLIENT, city="Košice", branch_id=BRANCH, method="cash",
                       amount=5000)
    with pytest.raises(ReversalError, match="would precede"):
        reversal_of(pay, new_id(), AT)
    # the same instant in another offset is not earlier
    same = LATER.astimezone(timezone(timedelta(hours=2)))
    assert reversal_of(pay, new_id(), same).at == same


# ---- balances (§6.5) and the trial balance ----------------------------------------------------


def test_balances_as_of_an_instant_and_per_client_city() -> None:
    """DOMAIN §6.5: positive, the client owes; per city; as of any past instant."""
    ba = acc.receivable(CLIENT, "Bratislava")
    charge = post.visit_charge(new_id(), AT, "EUR", client_id=CLIENT, city="Bratislava", lesson_type="group",
                               price=1250)
    charge_ke = post.visit_charge(new_id(), AT, "EUR", client_id=CLIENT, city="Košice", lesson_type="group",
                                  price=3000)
    paid = post.payment(new_id(), LATER, "EUR", client_id=CLIENT, city="Bratislava", branch_id=BRANCH,
                        method="cash", amount=1250)
    assert charge is not None
    assert charge_ke is not None
    txs = [charge, charge_ke, paid]
    assert client_balance(txs, CLIENT, as_of=AT) == {"bratislava": 1250, "kosice": 3000}
    assert client_balance(txs, CLIENT) == {"kosice": 3000}
    assert client_balance(txs, OTHER_CLIENT) == {}
    assert balances(txs)[acc.income_lessons("group")] == -4250
    assert ba not in balances(txs)
    assert trial_balance(txs).total == 0


def test_books_keep_one_currency() -> None:
    eur = make([(CASH, 100), (KE, -100)])
    czk = make([(CASH, 100), (KE, -100)], currency="CZK")
    with pytest.raises(CurrencyMismatchError):
        balances([eur, czk])


@given(st.lists(st.lists(st.integers(-(10**12), 10**12).filter(bool), min_size=1, max_size=6), max_size=30))
def test_any_set_of_transactions_has_a_zero_trial_balance(lines: list[list[int]]) -> None:
    """DOMAIN §6.2: each transaction balances, so the books do, and each account is the sum of its postings."""
    pool = [CASH, acc.bank(BRANCH), acc.deferred("group"), acc.income_lessons("group"), acc.INCOME_DISCOUNTS,
            acc.BAD_DEBT, acc.INCOME_CORRECTIONS, "equity:opening"]
    real = [
        # distinct accounts, all non-zero, the last balancing: always a valid transaction
        transaction(new_id(), AT, TransactionKind.CORRECTION, "EUR",
                    [*zip(pool, amounts, strict=False), (pool[len(amounts)], -sum(amounts))])
        for amounts in lines
    ]
    result = trial_balance(real)
    assert result.total == 0
    assert sum(result.accounts.values()) == 0
    for account, value in result.accounts.items():
        assert value == sum(t.amount_on(account) for t in real)
