"""Journal transactions: the facts of money movement (DOMAIN §6.2, §6.4).

A transaction is a set of signed postings (debit positive, credit negative, integer
minor units of one currency) that sum to zero; it is never edited. A mistake is undone
by a reversal (the exact negation, naming the original in ``reverses``) or compensated
by a further transaction. The invariants are checked whenever a transaction is built,
including when a stored event is read back, so a transaction that exists is balanced.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StrictInt,
    field_validator,
    model_validator,
)

from classledger.ledger.accounts import AccountError, as_receivable, city_key, parse_account
from classledger.ledger.currency import is_currency
from classledger.ledger.money import CurrencyMismatchError


class TransactionKind(StrEnum):
    """The journal's ``kind`` (API §3); the list is fixed by the contract."""

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
    """Postings that do not make a transaction: fewer than two, a zero, or a non-zero sum."""


class ReversalError(ValueError):
    """A reversal that cannot be: of a reversal, or one not naming what it reverses."""


# A posting larger than this does not fit the signed 64-bit integer every store and
# export reads amounts into; money.MAX_MINOR_DIGITS keeps parsed amounts far below it.
MAX_POSTING = 2**63 - 1


class Posting(BaseModel):
    """One line of a transaction: ``amount`` minor units on ``account``, debit positive."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str
    # strict: a float or bool amount would be a silent conversion (DOMAIN §6.1)
    amount: StrictInt = Field(ge=-MAX_POSTING, le=MAX_POSTING)

    @field_validator("account")
    @classmethod
    def _in_chart(cls, account: str) -> str:
        parse_account(account)
        return account


class JournalTransaction(BaseModel):
    """A balanced, immutable money fact (DOMAIN §6.2).

    Invariants: at least two postings, none of them zero (a zero posting moves nothing
    and would show as a blank line in every export), each account at most once (a
    repeated account says nothing two lines can say that one cannot, and one line per
    account keeps a transaction's reading unique), summing to zero. Every client account
    it touches is ``client_id``'s: a transaction belongs to at most one client's history
    (§6.5), so money between two clients is two linked transactions. ``at`` is an
    instant with its UTC offset, because balances are asked as of instants (§6.5).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID
    at: datetime
    kind: TransactionKind
    currency: str
    postings: tuple[Posting, ...]
    reverses: UUID | None = None
    related: tuple[UUID, ...] = ()  # linked transactions and facts: payment <-> sale, pass
    client_id: UUID | None = None
    branch_id: UUID | None = None
    city: str | None = None  # the human city name, as the branch spells it (§6.6)
    memo: str | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _checked(cls, data: Any, handler: ModelWrapValidatorHandler[JournalTransaction]) -> JournalTransaction:
        # A transaction handed in as it is (a field of an event, of an aggregate's state) was
        # checked when it was built; pydantic would otherwise check it again at every step.
        if type(data) is cls:
            return data
        return handler(data)._check()

    def _check(self) -> JournalTransaction:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("a transaction's instant needs a UTC offset (DOMAIN §6.5: balances as of instants)")
        if not is_currency(self.currency):
            raise ValueError(f"{self.currency!r} is not an ISO 4217 currency")
        check_postings(self.postings)
        self._check_client_accounts()
        if (self.kind == TransactionKind.REVERSAL) != (self.reverses is not None):
            raise ReversalError("a reversal, and only a reversal, names the transaction it reverses")
        if self.reverses == self.id:
            raise ReversalError("a transaction cannot reverse itself")
        return self

    def _check_client_accounts(self) -> None:
        receivables = [r for r in (as_receivable(p.account) for p in self.postings) if r is not None]
        if receivables and self.client_id is None:
            raise ValueError("a transaction that moves a client's account names the client (client_id)")
        for r in receivables:
            if r.client_id != self.client_id:
                raise ValueError(f"client {r.client_id}'s account moves in a transaction of client {self.client_id}")
        if self.city is not None:
            try:
                key = city_key(self.city)
            except AccountError as e:
                raise ValueError(str(e)) from None
            for r in receivables:
                if r.city != key:
                    raise ValueError(f"a posting in city {r.city!r} in a transaction of {self.city!r}")

    def amount_on(self, account: str) -> int:
        """The transaction's posting to ``account``, 0 if it has none."""
        return next((p.amount for p in self.postings if p.account == account), 0)


def check_postings(postings: Iterable[Posting]) -> None:
    """DOMAIN §6.2: at least two non-zero postings, one per account, summing to zero."""
    items = list(postings)
    if len(items) < 2:
        raise UnbalancedError(f"a transaction has at least two postings, not {len(items)}")
    zeros = [p.account for p in items if p.amount == 0]
    if zeros:
        raise UnbalancedError(f"a posting of zero moves nothing; leave out {', '.join(zeros)}")
    seen: set[str] = set()
    for p in items:
        if p.account in seen:
            raise UnbalancedError(f"{p.account} appears twice; merge its postings")
        seen.add(p.account)
    total = sum(p.amount for p in items)
    if total != 0:
        raise UnbalancedError(f"postings sum to {total}, not zero: debits and credits must balance")


def merge_postings(postings: Iterable[tuple[str, int]]) -> tuple[Posting, ...]:
    """(account, amount) pairs as postings: repeats merged in first-seen order, zeros dropped."""
    merged: dict[str, int] = {}
    for account, amount in postings:
        merged[account] = merged.get(account, 0) + amount
    return tuple(Posting(account=a, amount=v) for a, v in merged.items() if v != 0)


def transaction(
    id: UUID,
    at: datetime,
    kind: TransactionKind,
    currency: str,
    postings: Iterable[tuple[str, int]],
    **links: Any,
) -> JournalTransaction:
    """A transaction from (account, amount) pairs, repeats merged and zeros dropped.

    The posting rules write one pair per effect (the old pass refunded, the new one
    sold), which reads like the rule; merging turns that into the one-line-per-account
    form the transaction requires.
    """
    return JournalTransaction(
        id=id, at=at, kind=kind, currency=currency, postings=merge_postings(postings), **links
    )


def reversal_of(
    original: JournalTransaction, id: UUID, at: datetime, memo: str | None = None
) -> JournalTransaction:
    """The exact negation of ``original`` (DOMAIN §6.4), of kind ``reversal``.

    A reversal is never itself reversed: undoing a cancellation would make the
    original's status ambiguous, so a cancelled amount is re-entered as a new fact (or
    compensated by a correction). A reversal cannot predate what it reverses, or an
    as-of balance between the two instants would show only half of the story.
    """
    if original.kind == TransactionKind.REVERSAL:
        raise ReversalError(
            f"transaction {original.id} is a reversal and cannot itself be reversed; post a correction instead"
        )
    if at < original.at:
        raise ReversalError(f"a reversal at {at.isoformat()} would precede its original at {original.at.isoformat()}")
    return JournalTransaction(
        id=id,
        at=at,
        kind=TransactionKind.REVERSAL,
        currency=original.currency,
        postings=tuple(Posting(account=p.account, amount=-p.amount) for p in original.postings),
        reverses=original.id,
        related=(original.id,),
        client_id=original.client_id,
        branch_id=original.branch_id,
        city=original.city,
        memo=memo,
    )


def _one_currency(transactions: Iterable[JournalTransaction]) -> Iterable[JournalTransaction]:
    currency: str | None = None
    for t in transactions:
        if currency is None:
            currency = t.currency
        elif t.currency != currency:
            # DOMAIN §1.2: a tenant keeps its books in one currency; sums across two mean nothing.
            raise CurrencyMismatchError(f"transactions in {currency} and {t.currency} in one set of books")
        yield t


def balances(
    transactions: Iterable[JournalTransaction], as_of: datetime | None = None
) -> dict[str, int]:
    """Each account's balance in minor units (non-zero ones, by name), as of an instant if given."""
    out: dict[str, int] = defaultdict(int)
    for t in _one_currency(transactions):
        if as_of is not None and t.at > as_of:
            continue
        for p in t.postings:
            out[p.account] += p.amount
    return {a: v for a, v in sorted(out.items()) if v != 0}


class TrialBalance(NamedTuple):
    """Every account's balance and their sum (zero for any set of valid transactions)."""

    accounts: dict[str, int]
    total: int


def trial_balance(
    transactions: Iterable[JournalTransaction], as_of: datetime | None = None
) -> TrialBalance:
    """DOMAIN §6.2: the books of any set of transactions balance; a non-zero total is a bug."""
    accounts = balances(transactions, as_of)
    total = sum(accounts.values())
    if total != 0:
        raise UnbalancedError(f"the trial balance is off by {total}: a transaction escaped validation")
    return TrialBalance(accounts, total)


def client_balance(
    transactions: Iterable[JournalTransaction], client_id: UUID, as_of: datetime | None = None
) -> dict[str, int]:
    """DOMAIN §6.5: a client's balance per city key; positive, the client owes the centre."""
    out: dict[str, int] = defaultdict(int)
    for account, amount in balances(transactions, as_of).items():
        r = as_receivable(account)
        if r is not None and r.client_id == client_id:
            out[r.city] += amount
    return dict(out)
