"""Money commands (DOMAIN §6): payments, cancellation, compensation, write-off, discounts."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, PlainValidator, ValidationInfo, field_validator

from classledger.aggregates import books as b
from classledger.aggregates import passes as ps
from classledger.aggregates.books import ClientAccount, Transaction
from classledger.aggregates.client import Client
from classledger.aggregates.errors import Forbidden
from classledger.aggregates.passes import ClientPasses, Pass
from classledger.application.fields import (
    City,
    Label,
    MoneyText,
    Paragraph,
    check_money,
    check_percent,
    strict_text,
)
from classledger.application.registry import Args, Ctx, command
from classledger.application.tenants import money
from classledger.ledger.accounts import as_receivable
from classledger.ledger.journal import JournalTransaction


def in_city(ctx: Ctx, city: str) -> None:
    """DOMAIN §6.6: posting, settling and writing off a city's debt is for that city's staff."""
    if not ctx.principal.may_act_in_city(city):
        raise Forbidden("other_city", f"staff of {ctx.principal.city} cannot handle money of {city}", city=city)


def record(ctx: Ctx, *txs: JournalTransaction) -> None:
    for tx in txs:
        account = ctx.find(ClientAccount, b.account_id(tx.client_id)) if tx.client_id else None
        ctx.emit(b.post(tx, ctx.meta, account))


def save(ctx: Ctx, posted: b.Posted) -> None:
    record(ctx, posted.transaction)
    ctx.emit(posted.events)


class ReceivePayment(Args):
    id: UUID | None = None
    client_id: UUID
    amount: MoneyText
    method: Literal["cash", "card", "bank"]
    branch_id: UUID
    pass_id: UUID | None = None
    note: Paragraph | None = Field(default=None, max_length=1000)


@command("receive_payment", ReceivePayment)
def receive_payment(ctx: Ctx, a: ReceivePayment) -> dict[str, Any]:
    """Take a payment from a client into a branch's cash or bank (DOMAIN §6.3)."""
    ctx.get(Client, a.client_id)
    branch = ctx.tenant.branch(a.branch_id)
    in_city(ctx, branch.city)
    tx_id = ctx.new_id(a.id)
    amount = money(ctx, a.amount, "amount")
    paid_pass = ctx.get(Pass, a.pass_id) if a.pass_id else None
    save(ctx, b.receive_payment(ctx.meta, tx_id, ctx.tenant.currency, client_id=a.client_id, city=branch.city,
                                branch_id=a.branch_id, method=a.method, amount=amount, note=a.note,
                                paid_pass=paid_pass))
    return {"id": tx_id, "transaction_id": tx_id, "version": 1}


class CancelTransaction(Args):
    transaction_id: UUID
    reason: Label = Field(min_length=1, max_length=500)


@command("cancel_transaction", CancelTransaction, need="director")
def cancel_transaction(ctx: Ctx, a: CancelTransaction) -> dict[str, Any]:
    """Cancel a payment or charge entered in error by a reversing transaction (DOMAIN §6.4)."""
    original = ctx.get(Transaction, a.transaction_id)
    tx = original.transaction
    named = [p for p in (ctx.find(Pass, pid) for pid in tx.related) if p is not None]
    b.check_cancellable(original)  # refused before the city is asked
    for p in tx.postings:
        r = as_receivable(p.account)
        if r is not None:
            in_city(ctx, r.city)
    posted = b.cancel(original, named, ctx.meta, ctx.new_id(), a.reason)
    save(ctx, posted)
    reversal = posted.transaction
    return {"id": reversal.id, "transaction_id": reversal.id, "reverses": original.id, "version": 1}


class PostCorrection(Args):
    id: UUID | None = None
    client_id: UUID
    branch_id: UUID
    amount: MoneyText  # signed: + means the client owes more
    reason: Label = Field(min_length=1, max_length=500)


@command("post_correction", PostCorrection, need="director")
def post_correction(ctx: Ctx, a: PostCorrection) -> dict[str, Any]:
    """Compensate a wrong amount with a further transaction, never an edit (DOMAIN §6.4)."""
    ctx.get(Client, a.client_id)
    branch = ctx.tenant.branch(a.branch_id)
    in_city(ctx, branch.city)
    amount = money(ctx, a.amount, "amount")
    tx_id = ctx.new_id(a.id)
    save(ctx, b.correct(ctx.meta, tx_id, ctx.tenant.currency, client_id=a.client_id, city=branch.city, amount=amount,
                        reason=a.reason))
    return {"id": tx_id, "transaction_id": tx_id, "version": 1}


class WriteOffDebt(Args):
    client_id: UUID
    city: City = Field(min_length=1, max_length=120)
    amount: MoneyText | None = None
    reason: Label = Field(min_length=1, max_length=500)


@command("write_off_debt", WriteOffDebt, need="director")
def write_off_debt(ctx: Ctx, a: WriteOffDebt) -> dict[str, Any]:
    """Write off a client's debt in one city as bad debt (DOMAIN §6.3, §6.6)."""
    ctx.get(Client, a.client_id)
    in_city(ctx, ctx.tenant.city(a.city))
    account = ctx.find(ClientAccount, b.account_id(a.client_id))
    amount = None if a.amount is None else money(ctx, a.amount, "amount")
    tx_id = ctx.new_id()
    posted = b.write_off(account, _open_passes(ctx, a.client_id), ctx.meta, tx_id, ctx.tenant.currency,
                         client_id=a.client_id, city=a.city, amount=amount, reason=a.reason)
    ctx.emit(posted.events)  # the passes' shares, then the write-off that settles them
    record(ctx, posted.transaction)
    return {"id": tx_id, "transaction_id": tx_id, "version": 1}


def _open_passes(ctx: Ctx, client_id: UUID) -> list[Pass]:
    """The client's open passes, oldest sale first."""
    idx = ctx.find(ClientPasses, ps.index_id(client_id))
    entries = sorted(idx.entries if idx else (), key=lambda e: (e.sold_at, str(e.pass_id)))
    return [ctx.get(Pass, e.pass_id) for e in entries if e.open]


class GiveDiscount(Args):
    client_id: UUID
    kind: Literal["absolute", "percent"]
    value: Annotated[str, PlainValidator(strict_text, json_schema_input_type=str)]  # money, or a percent like "12.5"
    reason: Label = Field(min_length=1, max_length=500)

    @field_validator("value")
    @classmethod
    def _value_form(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind") == "percent":
            check_percent(value)
            return value
        return check_money(value)


@command("give_discount", GiveDiscount, need="director")
def give_discount(ctx: Ctx, a: GiveDiscount) -> dict[str, Any]:
    """A standing discount for a client, applied at each sale (DOMAIN §6.3)."""
    ctx.get(Client, a.client_id)
    value = money(ctx, a.value, "value") if a.kind == "absolute" else a.value
    account = ctx.find(ClientAccount, b.account_id(a.client_id))
    events = ctx.emit(b.give_discount(account, ctx.meta, a.client_id, a.kind, value))
    return {"id": a.client_id, "version": events[-1].originator_version}


class RemoveDiscount(Args):
    client_id: UUID


@command("remove_discount", RemoveDiscount, need="director")
def remove_discount(ctx: Ctx, a: RemoveDiscount) -> dict[str, Any]:
    """Remove a client's standing discount."""
    account = ctx.find(ClientAccount, b.account_id(a.client_id))
    ctx.emit(b.remove_discount(account, ctx.meta))
    assert account is not None
    return {"id": a.client_id, "version": account.version + 1}
