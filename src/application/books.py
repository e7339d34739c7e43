"""Money commands (DOMAIN §6): payments, cancellation, compensation, write-off, discounts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field, PlainValidator, ValidationInfo, field_validator

from classledger.aggregates import books as b
from classledger.aggregates import passes as ps
from classledger.aggregates.books import ClientAccount, Transaction
from classledger.aggregates.client import Client
from classledger.aggregates.errors import Conflict, Forbidden, Invalid
from classledger.aggregates.passes import ClientPasses, Pass, PassPaid
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
from classledger.ledger import posting
from classledger.ledger.accounts import as_receivable, city_key
from classledger.ledger.journal import JournalTransaction, TransactionKind, reversal_of
from classledger.ledger.money import MAX_TOTAL


def in_city(ctx: Ctx, city: str) -> None:
    """DOMAIN §6.6: posting, settling and writing off a city's debt is for that city's staff."""
    if not ctx.principal.may_act_in_city(city):
        raise Forbidden("other_city", f"staff of {ctx.principal.city} cannot handle money of {city}", city=city)


def record(ctx: Ctx, *txs: JournalTransaction) -> None:
    for tx in txs:
        account = ctx.find(ClientAccount, b.account_id(tx.client_id)) if tx.client_id else None
        ctx.emit(b.post(tx, ctx.meta, account))


def positive(ctx: Ctx, text: str, field: str) -> int:
    minor = money(ctx, text, field)
    if minor <= 0:
        raise Invalid("amount_not_positive", f"{field} must be more than zero", field=field)
    return minor


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
    tx = posting.payment(tx_id, ctx.meta.at, ctx.tenant.currency, client_id=a.client_id, city=branch.city,
                         branch_id=a.branch_id, method=a.method, amount=positive(ctx, a.amount, "amount"),
                         related=(a.pass_id,) if a.pass_id else ())
    paid_pass = ctx.get(Pass, a.pass_id) if a.pass_id else None
    if paid_pass is not None and abs(paid_pass.paid + tx.postings[0].amount) > MAX_TOTAL:
        raise Invalid("paid_out_of_range", "this would take what was paid for the pass beyond what the books can hold",
                      limit=MAX_TOTAL)
    record(ctx, tx.model_copy(update={"memo": a.note}))
    if paid_pass is not None:
        # DOMAIN §4.8: what was paid for a pass is what its refund starts from.
        ctx.emit([PassPaid.next(paid_pass, ctx.meta, amount=tx.postings[0].amount, transaction_id=tx_id,
                                **paid_pass.figures())])
    return {"id": tx_id, "transaction_id": tx_id, "version": 1}


class CancelTransaction(Args):
    transaction_id: UUID
    reason: Label = Field(min_length=1, max_length=500)


@command("cancel_transaction", CancelTransaction, need="director")
def cancel_transaction(ctx: Ctx, a: CancelTransaction) -> dict[str, Any]:
    """Cancel a payment or charge entered in error by a reversing transaction (DOMAIN §6.4)."""
    original = ctx.get(Transaction, a.transaction_id)
    b.check_cancellable(original)
    for p in original.transaction.postings:
        r = as_receivable(p.account)
        if r is not None:
            in_city(ctx, r.city)
    reversal = reversal_of(original.transaction, ctx.new_id(), ctx.meta.at, memo=a.reason)
    record(ctx, reversal)
    ctx.emit([b.TransactionCancelled.next(original, ctx.meta, reversal_id=reversal.id)])
    tx = original.transaction
    if tx.kind in (TransactionKind.WRITE_OFF, TransactionKind.PAYMENT):
        # §6.4 with §4.8: the passes whose debt it settled owe their shares again; the pass
        # a payment was for no longer counts it as paid.
        received = -sum(d for d in b.receivable_deltas(tx, tx.client_id).values()) if tx.client_id else 0
        for pid in tx.related:
            named = ctx.find(Pass, pid)
            if named is None:
                continue
            if tx.kind == TransactionKind.WRITE_OFF:
                ctx.emit(ps.cancel_write_off(named, ctx.meta, original.id, reversal.id))
            else:
                ctx.emit(ps.cancel_payment(named, ctx.meta, received, original.id, reversal.id))
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
    if amount == 0:
        raise Invalid("amount_zero", "a correction of zero corrects nothing")
    tx_id = ctx.new_id(a.id)
    record(ctx, posting.correction(tx_id, ctx.meta.at, ctx.tenant.currency, client_id=a.client_id, city=branch.city,
                                   amount=amount).model_copy(update={"memo": a.reason}))
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
    if city_key(a.city) not in {city_key(c) for c in ctx.tenant.cities()}:
        raise Invalid("unknown_city", f"the tenant has no branch in {a.city!r}", city=a.city)
    in_city(ctx, a.city)
    account = ctx.find(ClientAccount, b.account_id(a.client_id))
    debt = account.by_city.get(city_key(a.city), 0) if account else 0
    if debt <= 0:
        raise Conflict("no_debt", f"the client owes nothing in {a.city}", city=a.city)
    amount = debt if a.amount is None else positive(ctx, a.amount, "amount")
    if amount > debt:
        raise Conflict("more_than_debt", "a write-off cannot exceed the debt", debt=debt)
    tx_id = ctx.new_id()
    # §6.3: "the debt on the pass is settled": the passes still owing in the city take it first.
    settles = ps.settle_by_write_off(_owing_passes(ctx, a.client_id, a.city), ctx.meta, amount, tx_id)
    ctx.emit(settles)
    record(ctx, posting.write_off(tx_id, ctx.meta.at, ctx.tenant.currency, client_id=a.client_id, city=a.city,
                                  amount=amount, related=tuple(e.originator_id for e in settles))
           .model_copy(update={"memo": a.reason}))
    return {"id": tx_id, "transaction_id": tx_id, "version": 1}


def _owing_passes(ctx: Ctx, client_id: UUID, city: str) -> list[Pass]:
    """The client's passes charged to them in ``city`` that still owe something, oldest sale first."""
    idx = ctx.find(ClientPasses, ps.index_id(client_id))
    out = []
    for e in sorted(idx.entries if idx else (), key=lambda e: (e.sold_at, str(e.pass_id))):
        if not e.open:
            continue
        p = ctx.get(Pass, e.pass_id)
        if p.payer_id == client_id and city_key(p.city) == city_key(city) and p.owed > 0:
            out.append(p)
    return out


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
    if a.kind == "absolute":
        value = positive(ctx, a.value, "value")
    else:
        try:
            pct = Decimal(a.value)
        except InvalidOperation:
            raise Invalid("invalid_percent", "a percent is a decimal string like \"10\" or \"12.5\"") from None
        if not pct.is_finite() or not 0 < pct <= 100 or pct.as_tuple().exponent < -2:  # type: ignore[operator]
            raise Invalid("invalid_percent", "a percent is more than 0 and at most 100, to 2 decimals")
        value = int(pct * 100)
    account = ctx.find(ClientAccount, b.account_id(a.client_id))
    version = (account.version if account else 0) + 1
    ctx.emit([b.ClientDiscountGiven.make(ctx.meta, b.account_id(a.client_id), version, client_id=a.client_id,
                                         discount=b.Discount(kind=a.kind, value=value))])
    return {"id": a.client_id, "version": version}


class RemoveDiscount(Args):
    client_id: UUID


@command("remove_discount", RemoveDiscount, need="director")
def remove_discount(ctx: Ctx, a: RemoveDiscount) -> dict[str, Any]:
    """Remove a client's standing discount."""
    account = ctx.find(ClientAccount, b.account_id(a.client_id))
    if account is None or account.discount is None:
        raise Conflict("no_discount", "this client has no discount")
    ctx.emit([b.ClientDiscountRemoved.next(account, ctx.meta)])
    return {"id": a.client_id, "version": account.version + 1}
