"""Journal transactions: facts of money movement (DOMAIN §6.2, §6.4).

A transaction is a set of signed postings (debit positive, credit negative) in one
currency that sum to zero; it is never edited. A mistake is undone by a reversal (the
exact negation, referencing the original) or compensated by a further transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, model_validator

from classledger.ledger.accounts import parse


class TransactionKind(StrEnum):
    SALE = "sale"
    PAYMENT = "payment"
    REVENUE = "revenue"
    VISIT_CHARGE = "visit_charge"
    REFUND = "refund"
    RECALCULATION = "recalculation"
    REVERSAL = "reversal"
    CORRECTION = "correction"
    WRITE_OFF = "write_off"
    DISCOUNT = "discount"
    TRANSFER = "transfer"


class UnbalancedError(ValueError):
    pass


class ReversalError(ValueError):
    pass


class Posting(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str
    amount: int  # minor units; debit positive, credit negative


class JournalTransaction(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID
    at: datetime
    kind: TransactionKind
    currency: str
    postings: tuple[Posting, ...]
    reverses: UUID | None = None
    related: tuple[UUID, ...] = ()
    client_id: UUID | None = None
    memo: str | None = None

    @model_validator(mode="after")
    def _balanced(self) -> JournalTransaction:
        # DOMAIN §6.2: every transaction sums to zero; a zero posting says nothing.
        if len(self.postings) < 2:
            raise UnbalancedError("a transaction has at least two postings")
        if any(p.amount == 0 for p in self.postings):
            raise UnbalancedError("a posting of zero moves nothing; leave it out")
        total = sum(p.amount for p in self.postings)
        if total != 0:
            raise UnbalancedError(f"postings sum to {total}, not zero")
        if self.at.tzinfo is None:
            raise ValueError("a transaction's instant carries a UTC offset")
        for p in self.postings:
            parse(p.account)
        if (self.kind == TransactionKind.REVERSAL) != (self.reverses is not None):
            raise ReversalError("a reversal, and only a reversal, names the transaction it reverses")
        return self


def transaction(
    id: UUID, at: datetime, kind: TransactionKind, currency: str, postings: Iterable[tuple[str, int]], **links: object
) -> JournalTransaction:
    """Build a transaction from (account, amount) pairs, merging repeats and dropping zeros."""
    merged: dict[str, int] = defaultdict(int)
    order: list[str] = []
    for account, amount in postings:
        if account not in merged:
            order.append(account)
        merged[account] += amount
    return JournalTransaction(
        id=id, at=at, kind=kind, currency=currency,
        postings=tuple(Posting(account=a, amount=merged[a]) for a in order if merged[a] != 0),
        **links,
    )


def reversal_of(original: JournalTransaction, id: UUID, at: datetime, memo: str | None = None) -> JournalTransaction:
    """The exact negation of ``original`` (DOMAIN §6.4); a reversal is never reversed."""
    if original.kind == TransactionKind.REVERSAL:
        raise ReversalError("a reversal cannot itself be reversed; post a correction instead")
    return JournalTransaction(
        id=id, at=at, kind=TransactionKind.REVERSAL, currency=original.currency,
        postings=tuple(Posting(account=p.account, amount=-p.amount) for p in original.postings),
        reverses=original.id, related=(original.id,), client_id=original.client_id, memo=memo,
    )


def balances(transactions: Iterable[JournalTransaction]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for t in transactions:
        for p in t.postings:
            out[p.account] += p.amount
    return {a: v for a, v in sorted(out.items()) if v != 0}


def trial_balance(transactions: Iterable[JournalTransaction]) -> tuple[dict[str, int], int]:
    """Every account's balance and their sum, which is zero for any set of transactions."""
    accounts = balances(transactions)
    return accounts, sum(accounts.values())
