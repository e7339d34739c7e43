"""Pass commands (DOMAIN §4, §7.1): the template catalogue, sales, visits and the pass lifecycle.

Every money effect is a journal transaction emitted in the same command as the pass's
event, so the pipeline saves both in one atomic write (ARCHITECTURE: events and journal
transactions are facts). Each client has a small ``ClientPasses`` index aggregate; a
visit reads it and the few passes valid that day, never a long stream.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from classledger.aggregates import books as b
from classledger.aggregates import client as c
from classledger.aggregates import passes as ps
from classledger.aggregates.base import Event
from classledger.aggregates.books import ClientAccount, Transaction
from classledger.aggregates.client import Client
from classledger.aggregates.course import Group
from classledger.aggregates.errors import Conflict, Invalid
from classledger.aggregates.passes import ClientPasses, Pass, PassTemplate, Visit
from classledger.application.books import in_city, record
from classledger.application.registry import Args, Ctx, command
from classledger.application.tenants import money
from classledger.ledger import posting
from classledger.ledger.journal import JournalTransaction, TransactionKind, reversal_of
from classledger.ledger.money import format_minor


class CreatePassTemplate(Args):
    id: UUID | None = None
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    price: str
    lessons: int = Field(ge=1, le=1000)
    validity_days: int = Field(ge=1, le=3660)
    lesson_type: str
    freestyle: bool = False
    allow_overlap: bool = False
    multi_client: bool = False


@command("create_pass_template", CreatePassTemplate, need="director")
def create_pass_template(ctx: Ctx, a: CreatePassTemplate) -> dict[str, Any]:
    """Add a pass to the tenant's catalogue (DOMAIN §4.1)."""
    ctx.tenant.lesson_type(a.lesson_type)
    template_id = ctx.new_id(a.id)
    ctx.emit(ps.create_template(template_id, ctx.meta, name=a.name, description=a.description,
                                price=money(ctx, a.price, "price"), lessons=a.lessons, validity_days=a.validity_days,
                                lesson_type=a.lesson_type, freestyle=a.freestyle, allow_overlap=a.allow_overlap,
                                multi_client=a.multi_client))
    return {"id": template_id, "version": 1}


# ---- helpers -----------------------------------------------------------------------------


def today(ctx: Ctx) -> date:
    """The command's day in the tenant's calendar (DOMAIN §1.2)."""
    return ctx.meta.at.astimezone(ctx.tenant.zone).date()


def _index(ctx: Ctx, client_id: UUID) -> ClientPasses | None:
    return ctx.find(ClientPasses, ps.index_id(client_id))


def _emit_pass(ctx: Ctx, events: list[Event]) -> Pass:
    """Emit pass events and bring every holder's index in line with the pass."""
    ctx.emit(events)
    p = ctx.state(events[-1].originator_id)
    assert isinstance(p, Pass)
    for cid in p.client_ids:
        idx = _index(ctx, cid)
        if idx is not None:
            ctx.emit(ps.index_sync(idx, ctx.meta, p))
    return p


def _client_city(ctx: Ctx, client: Client) -> str:
    return ctx.tenant.branch(client.branch_id).city


def _discount(ctx: Ctx, client_id: UUID, price: int) -> int:
    account = ctx.find(ClientAccount, b.account_id(client_id))
    if account is None or account.discount is None:
        return 0
    return posting.discount_amount(price, account.discount.kind, account.discount.value)


def _check_overlap(ctx: Ctx, client_id: UUID, lesson_type: str, start: date, end: date) -> None:
    """§4.1 ``allow_overlap = false``: no second valid pass with lessons of the type."""
    idx = _index(ctx, client_id)
    for e in idx.overlapping(lesson_type, start, end) if idx else []:
        other = ctx.get(Pass, e.pass_id)
        if other.status == "active" and other.remaining > 0:
            raise Conflict("overlapping_pass", "the client already holds a valid pass of this lesson type",
                           client_id=str(client_id), pass_id=str(other.id), valid_from=other.valid_from.isoformat(),
                           valid_until=other.valid_until.isoformat())


def _new_pass(ctx: Ctx, pass_id: UUID, *, client_ids: tuple[UUID, ...], events: list[Event]) -> Pass:
    ctx.emit(events)
    p = ctx.state(pass_id)
    assert isinstance(p, Pass)
    for cid in client_ids:
        ctx.emit(ps.index_add(_index(ctx, cid), ctx.meta, cid, p))
    return p


def _ids(txs: list[JournalTransaction]) -> list[str]:
    return [str(t.id) for t in txs]


# ---- sale (§4.2) -------------------------------------------------------------------------


class SellPass(Args):
    id: UUID | None = None
    template_id: UUID
    client_ids: list[UUID] = Field(min_length=1, max_length=20)
    branch_id: UUID
    valid_from: date
    payment: Literal["paid", "on_credit", "no_payment"]
    method: Literal["cash", "card", "bank"] | None = None
    price: str | None = None
    lessons: int | None = Field(default=None, ge=1, le=1000)
    validity_days: int | None = Field(default=None, ge=1, le=3660)


@command("sell_pass", SellPass)
def sell_pass(ctx: Ctx, a: SellPass) -> dict[str, Any]:
    """Sell a pass from a template to one client, or several if it is multi-client (DOMAIN §4.2)."""
    t = ctx.get(PassTemplate, a.template_id)
    freestyle_args = {k: v for k, v in (("price", a.price), ("lessons", a.lessons),
                                         ("validity_days", a.validity_days)) if v is not None}
    if freestyle_args and not t.freestyle:
        raise Invalid("not_freestyle", "only a freestyle template's price, lessons and validity change at sale",
                      fields=sorted(freestyle_args))
    clients = tuple(dict.fromkeys(a.client_ids))
    if len(clients) != len(a.client_ids):
        raise Invalid("duplicate_clients", "a client is named twice")
    if len(clients) > 1 and not t.multi_client:
        raise Invalid("not_multi_client", "this template is sold to one client at a time", clients=len(clients))
    if a.payment == "paid" and a.method is None:
        raise Invalid("method_required", "a paid sale needs a method: cash, card or bank")
    if a.payment != "paid" and a.method is not None:
        raise Invalid("method_not_allowed", f"a sale {a.payment} takes no payment method")
    for cid in clients:
        c.writable(ctx.get(Client, cid))
    branch = ctx.tenant.branch(a.branch_id)
    in_city(ctx, branch.city)
    price = t.price if a.price is None else money(ctx, a.price, "price")
    if price < 0:
        raise Invalid("negative_price", "a pass cannot cost less than nothing")
    lessons = a.lessons or t.lessons
    valid_until = a.valid_from + timedelta(days=(a.validity_days or t.validity_days) - 1)
    if not t.allow_overlap:
        for cid in clients:
            _check_overlap(ctx, cid, t.lesson_type, a.valid_from, valid_until)
    pass_id = ctx.new_id(a.id)
    payer = clients[0]
    discount = _discount(ctx, payer, price) if a.payment != "no_payment" else 0
    cur = ctx.tenant.currency
    txs: list[JournalTransaction] = []
    if a.payment == "paid":
        assert a.method is not None
        txs = posting.paid_sale((ctx.new_id(), ctx.new_id()), ctx.meta.at, cur, client_id=payer, city=branch.city,
                                branch_id=a.branch_id, method=a.method, lesson_type=t.lesson_type, price=price,
                                discount=discount, pass_id=pass_id)
    elif a.payment == "on_credit":
        sale = posting.sale(ctx.new_id(), ctx.meta.at, cur, client_id=payer, city=branch.city,
                            lesson_type=t.lesson_type, price=price, discount=discount, pass_id=pass_id,
                            branch_id=a.branch_id)
        txs = [sale] if sale else []
    # no_payment (§4.2, initial import): the lessons carry no deferred value, nothing posts.
    value = price if a.payment != "no_payment" else 0
    paid = price - discount if a.payment == "paid" else 0
    _new_pass(ctx, pass_id, client_ids=clients, events=[ps.PassSold.make(
        ctx.meta, pass_id, 1, template_id=t.id, client_ids=clients, branch_id=a.branch_id, city=branch.city,
        lesson_type=t.lesson_type, price=price, discount=discount, paid=paid, unit=value // lessons, value=value,
        payment=a.payment, transactions=tuple(x.id for x in txs), remaining=lessons, lessons_total=lessons,
        valid_from=a.valid_from, valid_until=valid_until)])
    record(ctx, *txs)
    return {"id": pass_id, "version": 1, "transaction_ids": _ids(txs),
            "sale_transaction_id": str(txs[0].id) if txs else None,
            "payment_transaction_id": str(txs[1].id) if len(txs) > 1 else None,
            "valid_until": valid_until.isoformat(), "lessons": lessons, "price": format_minor(price, cur),
            "discount": format_minor(discount, cur)}


# ---- visits (§4.3, §7.1) ----------------------------------------------------------------


class RecordVisit(Args):
    id: UUID | None = None
    client_id: UUID
    lesson_type: str
    date: date
    status: Literal["attended", "absent"]
    group_id: UUID | None = None


def find_usable(ctx: Ctx, client_id: UUID, lesson_type: str, day: date) -> Pass | None:
    """§4.3: the valid pass of the type with lessons left that expires first (ties: oldest sale)."""
    idx = _index(ctx, client_id)
    for e in idx.candidates(lesson_type, day) if idx else []:
        p = ctx.get(Pass, e.pass_id)
        if p.usable_on(day):
            return p
    return None


def _consume(ctx: Ctx, p: Pass, count: int, *, client_id: UUID, visit_id: UUID | None,
             day: date | None = None) -> tuple[int, JournalTransaction | None]:
    """Take lessons from a pass and recognise their revenue (§6.3), in the same write."""
    value = sum(p.lesson_values()[:count]) if 0 < count <= p.remaining else 0
    tx = posting.lesson_consumed(ctx.new_id(), ctx.meta.at, ctx.tenant.currency, lesson_type=p.lesson_type,
                                 value=value, client_id=client_id,
                                 related=tuple(i for i in (p.id, visit_id) if i is not None))
    recognised, events = ps.use_lessons(p, ctx.meta, count, transaction_id=tx.id if tx else None,
                                        visit_id=visit_id, day=day)
    assert recognised == value
    _emit_pass(ctx, events)
    if tx is not None:
        record(ctx, tx)
    return value, tx


@command("record_visit", RecordVisit)
def record_visit(ctx: Ctx, a: RecordVisit) -> dict[str, Any]:
    """Mark attendance (DOMAIN §7.1): a lesson from the pass expiring first, or a single-visit charge (§4.3)."""
    client = ctx.get(Client, a.client_id)
    c.writable(client)
    lt = ctx.tenant.lesson_type(a.lesson_type)
    if a.group_id is not None:
        ctx.get(Group, a.group_id)
    visit_id = ctx.new_id(a.id)
    consumes = a.status == "attended" or ctx.tenant.settings.no_show_consumes
    fields: dict[str, Any] = {}
    if consumes:
        p = find_usable(ctx, a.client_id, a.lesson_type, a.date)
        if p is not None:
            value, tx = _consume(ctx, p, 1, client_id=a.client_id, visit_id=visit_id, day=a.date)
            fields = {"pass_id": p.id, "value": value, "transaction_id": tx.id if tx else None}
        else:
            charge = posting.visit_charge(ctx.new_id(), ctx.meta.at, ctx.tenant.currency, client_id=a.client_id,
                                          city=_client_city(ctx, client), lesson_type=a.lesson_type,
                                          price=lt.single_visit_price, branch_id=client.branch_id,
                                          related=(visit_id,))
            if charge is not None:
                record(ctx, charge)
            fields = {"charged": True, "transaction_id": charge.id if charge else None}
    ctx.emit([ps.VisitRecorded.make(ctx.meta, visit_id, 1, client_id=a.client_id, lesson_type=a.lesson_type,
                                    day=a.date, status=a.status, group_id=a.group_id, **fields)])
    cur = ctx.tenant.currency
    return {"id": visit_id, "version": 1, "consumed": consumes,
            "pass_id": str(fields["pass_id"]) if fields.get("pass_id") else None,
            "charged": bool(fields.get("charged")),
            "transaction_id": str(fields["transaction_id"]) if fields.get("transaction_id") else None,
            "amount": format_minor(fields.get("value", lt.single_visit_price if fields.get("charged") else 0), cur)}


class CancelVisit(Args):
    visit_id: UUID
    reason: str = Field(min_length=1, max_length=500)


def _reverse(ctx: Ctx, transaction_id: UUID, memo: str | None) -> UUID | None:
    """Cancel one transaction by its reversal (§6.4); None when it is already cancelled."""
    original = ctx.get(Transaction, transaction_id)
    if original.cancelled_by is not None or original.transaction.kind == TransactionKind.REVERSAL:
        return None
    reversal = reversal_of(original.transaction, ctx.new_id(), ctx.meta.at, memo=memo)
    record(ctx, reversal)
    ctx.emit([b.TransactionCancelled.next(original, ctx.meta, reversal_id=reversal.id)])
    return reversal.id


@command("cancel_visit", CancelVisit)
def cancel_visit(ctx: Ctx, a: CancelVisit) -> dict[str, Any]:
    """Cancel an attendance mark (DOMAIN §7.1): the lesson goes back to its pass, or the charge is reversed."""
    v = ctx.get(Visit, a.visit_id)
    if v.cancelled:
        raise Conflict("visit_cancelled", "this visit is already cancelled", visit_id=str(v.id))
    returned = False
    if v.pass_id is not None:
        p = ctx.get(Pass, v.pass_id)
        if p.status in ("refunded", "recalculated"):
            raise Conflict("pass_closed", f"the visit's pass was {p.status}; its lessons were settled",
                           pass_id=str(p.id))
        if p.status == "active":
            _emit_pass(ctx, ps.return_lesson(p, ctx.meta, v.id, v.value))
            returned = True
        # a voided pass already reversed this lesson's revenue (§4.9)
    reversal_id = None
    if v.transaction_id is not None:
        reversal_id = _reverse(ctx, v.transaction_id, a.reason)
    ctx.emit([ps.VisitCancelled.next(v, ctx.meta, client_id=v.client_id, pass_id=v.pass_id,
                                     lesson_returned=returned, reversal_id=reversal_id)])
    return {"id": v.id, "version": v.version + 1, "lesson_returned": returned,
            "reversal_id": str(reversal_id) if reversal_id else None}
