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
from typing import Any, Literal
from uuid import UUID

from classledger.aggregates.base import Aggregate, Event, Immutable, Meta
from classledger.aggregates.errors import Conflict, Invalid
from classledger.ledger.accounts import as_receivable
from classledger.ledger.journal import JournalTransaction, TransactionKind
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
