"""Money facts as aggregates (DOMAIN §6): each journal transaction, and each client's account.

A journal transaction is stored once, as posted (``TransactionPosted``), and never
changes; a cancellation is a new reversing transaction plus ``TransactionCancelled`` on
the original, so cancelling twice meets the original's version and is refused (§6.4).
``ClientAccount`` keeps the client's balance per city and their standing discount, so a
write-off or a sale can decide from current figures without reading a projection.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import UUID

from classledger.aggregates import passes as ps
from classledger.aggregates.base import Aggregate, Event, Immutable, Meta
from classledger.aggregates.errors import Conflict, Invalid
from classledger.aggregates.passes import Pass
from classledger.ledger import posting
from classledger.ledger.accounts import as_receivable, city_key
from classledger.ledger.journal import JournalTransaction, TransactionKind, reversal_of
from classledger.ledger.money import MAX_TOTAL


class Transaction(Aggregate):
    transaction: JournalTransaction
    cancelled_by: UUID | None = None

    @property
    def status(self) -> str:
        return "cancelled" if self.cancelled_by else "posted"


class TransactionPosted(Event):
    transaction: JournalTransaction

    def apply(self, state: Any) -> Transaction:
        return self.birth(Transaction, transaction=self.transaction)


class TransactionCancelled(Event):
    reversal_id: UUID

    def apply(self, state: Transaction) -> Transaction:
        return self.evolve(state, cancelled_by=self.reversal_id)


class Discount(Immutable):
    kind: Literal["absolute", "percent"]
    value: int  # minor units, or basis points for percent


class ClientAccount(Aggregate):
    client_id: UUID
    by_city: dict[str, int] = {}  # city key -> minor units; positive: the client owes (§6.5)
    discount: Discount | None = None


class ClientAccountMoved(Event):
    client_id: UUID
    transaction_id: UUID
    by_city: dict[str, int]

    def apply(self, state: ClientAccount | None) -> ClientAccount:
        if state is None:
            state = ClientAccount(id=self.originator_id, version=0, tenant_id=self.tenant_id, created_on=self.timestamp,
                                  modified_on=self.timestamp, client_id=self.client_id)
        merged = dict(state.by_city)
        for city, delta in self.by_city.items():
            merged[city] = merged.get(city, 0) + delta
        return self.evolve(state, by_city={c: v for c, v in sorted(merged.items()) if v != 0})


class ClientDiscountGiven(Event):
    client_id: UUID
    discount: Discount

    def apply(self, state: ClientAccount | None) -> ClientAccount:
        if state is None:
            state = ClientAccount(id=self.originator_id, version=0, tenant_id=self.tenant_id, created_on=self.timestamp,
                                  modified_on=self.timestamp, client_id=self.client_id)
        return self.evolve(state, discount=self.discount)


class ClientDiscountRemoved(Event):
    def apply(self, state: ClientAccount) -> ClientAccount:
        return self.evolve(state, discount=None)


@functools.lru_cache(maxsize=65_536)
def account_id(client_id: UUID) -> UUID:
    return uuid.uuid5(client_id, "account")


def receivable_deltas(tx: JournalTransaction, client_id: UUID) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in tx.postings:
        r = as_receivable(p.account)
        if r is not None and r.client_id == client_id:
            out[r.city] = out.get(r.city, 0) + p.amount
    return out


def post(tx: JournalTransaction, meta: Meta, account: ClientAccount | None) -> list[Event]:
    """The transaction, and the move of each client account it touches (one write)."""
    events: list[Event] = [TransactionPosted.make(meta, tx.id, 1, transaction=tx)]
    if tx.client_id is not None:
        deltas = receivable_deltas(tx, tx.client_id)
        check_balances(account, deltas)
        if deltas:
            version = (account.version if account else 0) + 1
            events.append(ClientAccountMoved.make(meta, account_id(tx.client_id), version, client_id=tx.client_id,
                                                  transaction_id=tx.id, by_city=deltas))
    return events


def check_balances(account: ClientAccount | None, deltas: dict[str, int]) -> None:
    """A client's balance in a city stays within ±MAX_TOTAL (ledger.money): beyond it the
    figures would leave the 64 bits the stores and the snapshots keep (DOMAIN §6.1)."""
    for city, delta in deltas.items():
        balance = (account.by_city.get(city, 0) if account else 0) + delta
        if abs(balance) > MAX_TOTAL:
            raise Invalid("balance_out_of_range", "this would take the client's balance beyond what the books can hold",
                          city=city, limit=MAX_TOTAL)


def check_cancellable(t: Transaction) -> None:
    if t.transaction.kind == TransactionKind.REVERSAL:
        raise Conflict("cannot_cancel_reversal", "a reversal cannot be cancelled; post a correction instead")
    if t.cancelled_by is not None:
        raise Conflict("already_cancelled", "this transaction is already cancelled", reversal_id=str(t.cancelled_by))


# ---- the money commands' decisions (DOMAIN §6) ---------------------------------------------
#
# Each takes what its command loaded and plain values, and returns the journal transaction
# to post (``post`` moves the client's account with it) and the other events of the same
# write, or raises the refusal.

Method = Literal["cash", "card", "bank"]


@dataclass(frozen=True, slots=True)
class Posted:
    transaction: JournalTransaction
    events: list[Event] = field(default_factory=list)  # of other aggregates: the passes it names


def check_positive(minor: int, field: str) -> int:
    if minor <= 0:
        raise Invalid("amount_not_positive", f"{field} must be more than zero", field=field)
    return minor


def receive_payment(meta: Meta, tx_id: UUID, currency: str, *, client_id: UUID, city: str, branch_id: UUID,
                    method: Method, amount: int, note: str | None, paid_pass: Pass | None) -> Posted:
    """A payment from a client into a branch's cash or bank (§6.3); naming a pass, it counts
    as paid for it (§4.8: what was paid for a pass is what its refund starts from)."""
    tx = posting.payment(tx_id, meta.at, currency, client_id=client_id, city=city, branch_id=branch_id,
                         method=method, amount=check_positive(amount, "amount"),
                         related=(paid_pass.id,) if paid_pass else ())
    if paid_pass is None:
        return Posted(tx.model_copy(update={"memo": note}))
    if abs(paid_pass.paid + tx.postings[0].amount) > MAX_TOTAL:
        raise Invalid("paid_out_of_range", "this would take what was paid for the pass beyond what the books can hold",
                      limit=MAX_TOTAL)
    return Posted(tx.model_copy(update={"memo": note}),
                  [ps.PassPaid.next(paid_pass, meta, amount=tx.postings[0].amount, transaction_id=tx_id,
                                    **paid_pass.figures())])


@dataclass(frozen=True, slots=True)
class Reversal:
    reversal: JournalTransaction
    cancelled: list[Event]  # the original transaction's


def reverse(original: Transaction, meta: Meta, reversal_id: UUID, memo: str | None) -> Reversal:
    """Cancel one transaction by its exact reversal (§6.4)."""
    reversal = reversal_of(original.transaction, reversal_id, meta.at, memo=memo)
    return Reversal(reversal, [TransactionCancelled.next(original, meta, reversal_id=reversal.id)])


def cancel(original: Transaction, named: Sequence[Pass], meta: Meta, reversal_id: UUID, reason: str) -> Posted:
    """Cancel a payment or charge entered in error by a reversing transaction (§6.4). With
    §4.8: the passes ``named`` by a write-off owe their shares again; the pass a payment
    was for no longer counts it as paid."""
    check_cancellable(original)
    r = reverse(original, meta, reversal_id, reason)
    events = list(r.cancelled)
    tx = original.transaction
    if tx.kind in (TransactionKind.WRITE_OFF, TransactionKind.PAYMENT):
        received = -sum(d for d in receivable_deltas(tx, tx.client_id).values()) if tx.client_id else 0
        for p in named:
            if tx.kind == TransactionKind.WRITE_OFF:
                events += ps.cancel_write_off(p, meta, original.id, r.reversal.id)
            else:
                events += ps.cancel_payment(p, meta, received, original.id, r.reversal.id)
    return Posted(r.reversal, events)


def correct(meta: Meta, tx_id: UUID, currency: str, *, client_id: UUID, city: str, amount: int,
            reason: str) -> Posted:
    """Compensate a wrong amount with a further transaction, never an edit (§6.4); signed:
    more than zero, the client owes more."""
    if amount == 0:
        raise Invalid("amount_zero", "a correction of zero corrects nothing")
    return Posted(posting.correction(tx_id, meta.at, currency, client_id=client_id, city=city, amount=amount)
                  .model_copy(update={"memo": reason}))


def check_debt(account: ClientAccount | None, city: str, amount: int | None) -> int:
    """§6.3: what a write-off of the client's debt in ``city`` takes: all of it, or a
    hand-set ``amount`` up to it."""
    debt = account.by_city.get(city_key(city), 0) if account else 0
    if debt <= 0:
        raise Conflict("no_debt", f"the client owes nothing in {city}", city=city)
    taken = debt if amount is None else check_positive(amount, "amount")
    if taken > debt:
        raise Conflict("more_than_debt", "a write-off cannot exceed the debt", debt=debt)
    return taken


def write_off(account: ClientAccount | None, passes: Sequence[Pass], meta: Meta, tx_id: UUID, currency: str, *,
              client_id: UUID, city: str, amount: int | None, reason: str) -> Posted:
    """Write off a client's debt in one city as bad debt (§6.3, §6.6). "The debt on the pass
    is settled": of the client's open ``passes`` (oldest sale first), those charged to them
    in the city that still owe take it first."""
    taken = check_debt(account, city, amount)
    owing = [p for p in passes if p.payer_id == client_id and city_key(p.city) == city_key(city) and p.owed > 0]
    settles = ps.settle_by_write_off(owing, meta, taken, tx_id)
    tx = posting.write_off(tx_id, meta.at, currency, client_id=client_id, city=city, amount=taken,
                           related=tuple(e.originator_id for e in settles))
    return Posted(tx.model_copy(update={"memo": reason}), settles)


def give_discount(account: ClientAccount | None, meta: Meta, client_id: UUID, kind: Literal["absolute", "percent"],
                  value: int | str) -> list[Event]:
    """A standing discount for a client, applied at each sale (§6.3): an amount in minor
    units, or a percent as a decimal string (more than 0, at most 100, to 2 decimals)."""
    if kind == "absolute":
        if not isinstance(value, int):
            raise TypeError("an absolute discount is an amount in minor units")
        minor = check_positive(value, "value")
    else:
        try:
            pct = Decimal(str(value))
        except InvalidOperation:
            raise Invalid("invalid_percent", "a percent is a decimal string like \"10\" or \"12.5\"") from None
        if not pct.is_finite() or not 0 < pct <= 100 or pct.as_tuple().exponent < -2:  # type: ignore[operator]
            raise Invalid("invalid_percent", "a percent is more than 0 and at most 100, to 2 decimals")
        minor = int(pct * 100)
    version = (account.version if account else 0) + 1
    return [ClientDiscountGiven.make(meta, account_id(client_id), version, client_id=client_id,
                                     discount=Discount(kind=kind, value=minor))]


def remove_discount(account: ClientAccount | None, meta: Meta) -> list[Event]:
    if account is None or account.discount is None:
        raise Conflict("no_discount", "this client has no discount")
    return [ClientDiscountRemoved.next(account, meta)]
