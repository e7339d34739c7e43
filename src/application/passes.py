"""Pass commands (DOMAIN §4, §7.1): the template catalogue, sales, visits and the pass lifecycle.

Every money effect is a journal transaction emitted in the same command as the pass's
event, so the pipeline saves both in one atomic write (ARCHITECTURE: events and journal
transactions are facts). Each client has a small ``ClientPasses`` index aggregate; a
visit reads it and the few passes valid that day, never a long stream.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from classledger.aggregates import books as b
from classledger.aggregates import pass_decisions as pd
from classledger.aggregates import pass_terms as pt
from classledger.aggregates import passes as ps
from classledger.aggregates.base import Event
from classledger.aggregates.books import ClientAccount, Transaction
from classledger.aggregates.client import Client
from classledger.aggregates.course import Group
from classledger.aggregates.lesson import Lesson
from classledger.aggregates.passes import ClientPasses, Pass, PassTemplate, Visit
from classledger.application.books import in_city, record
from classledger.application.fields import Day, Label, MoneyText, Paragraph
from classledger.application.registry import Args, Ctx, command
from classledger.application.tenants import money
from classledger.ledger.journal import JournalTransaction
from classledger.ledger.money import format_minor


class CreatePassTemplate(Args):
    id: UUID | None = None
    name: Label = Field(min_length=1, max_length=200)
    description: Paragraph | None = Field(default=None, max_length=2000)
    price: MoneyText
    lessons: int = Field(ge=1, le=1000)
    validity_days: int | None = Field(default=None, ge=1, le=3660)
    validity_months: int | None = Field(default=None, ge=1, le=120)  # calendar months (DOMAIN §4.1)
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
                                validity_months=a.validity_months,
                                lesson_type=a.lesson_type, freestyle=a.freestyle, allow_overlap=a.allow_overlap,
                                multi_client=a.multi_client))
    return {"id": template_id, "version": 1}


# ---- loading and saving ------------------------------------------------------------------


def _index(ctx: Ctx, client_id: UUID) -> ClientPasses | None:
    return ctx.find(ClientPasses, ps.index_id(client_id))


def _emit_pass(ctx: Ctx, events: list[Event]) -> Pass:
    """Save pass events and bring every holder's index in line with the pass."""
    ctx.emit(events)
    p = ctx.state(events[-1].originator_id)
    assert isinstance(p, Pass)
    for cid in p.client_ids:
        idx = _index(ctx, cid)
        if idx is not None:
            ctx.emit(ps.index_sync(idx, ctx.meta, p))
    return p


def _new_pass(ctx: Ctx, pass_id: UUID, *, client_ids: tuple[UUID, ...], events: list[Event]) -> Pass:
    """Save a new pass and add it to each holder's index."""
    ctx.emit(events)
    p = ctx.state(pass_id)
    assert isinstance(p, Pass)
    for cid in client_ids:
        ctx.emit(ps.index_add(_index(ctx, cid), ctx.meta, cid, p))
    return p


def _client_city(ctx: Ctx, client: Client) -> str:
    return ctx.tenant.branch(client.branch_id).city


def _discount(ctx: Ctx, client_id: UUID) -> b.Discount | None:
    account = ctx.find(ClientAccount, b.account_id(client_id))
    return account.discount if account else None


def _open_of_type(ctx: Ctx, idx: ClientPasses | None, lesson_type: str, start: date) -> list[Pass]:
    """The client's open passes of a type running on or after ``start`` (§4.1 overlap)."""
    return [ctx.get(Pass, e.pass_id) for e in (idx.overlapping(lesson_type, start, date.max) if idx else [])]


def _ids(txs: list[JournalTransaction]) -> list[str]:
    return [str(t.id) for t in txs]


# ---- sale (§4.2) -------------------------------------------------------------------------


class SellPass(Args):
    id: UUID | None = None
    template_id: UUID
    client_ids: list[UUID] = Field(min_length=1, max_length=20)
    branch_id: UUID
    valid_from: Day
    payment: Literal["paid", "on_credit", "no_payment"]
    method: Literal["cash", "card", "bank"] | None = None
    price: MoneyText | None = None
    lessons: int | None = Field(default=None, ge=1, le=1000)
    validity_days: int | None = Field(default=None, ge=1, le=3660)


@command("sell_pass", SellPass)
def sell_pass(ctx: Ctx, a: SellPass) -> dict[str, Any]:
    """Sell a pass from a template to one client, or several if it is multi-client (DOMAIN §4.2)."""
    t = ctx.get(PassTemplate, a.template_id)
    holders = {cid: ctx.get(Client, cid) for cid in a.client_ids}
    branch = ctx.tenant.branch(a.branch_id)
    in_city(ctx, branch.city)
    indexes = {cid: _index(ctx, cid) for cid in holders}
    held = {} if t.allow_overlap else {p.id: p for cid in holders
                                       for p in _open_of_type(ctx, indexes[cid], t.lesson_type, a.valid_from)}
    pass_id = ctx.new_id(a.id)
    sale = pd.sell(t, a.client_ids, holders, ctx.meta, ctx.new_id, currency=ctx.tenant.currency, pass_id=pass_id,
                   branch_id=a.branch_id, city=branch.city, valid_from=a.valid_from, payment=a.payment,
                   method=a.method, price=None if a.price is None else money(ctx, a.price, "price"),
                   lessons=a.lessons, validity_days=a.validity_days, discount=_discount(ctx, a.client_ids[0]),
                   indexes=indexes, passes=held)
    _new_pass(ctx, pass_id, client_ids=tuple(holders), events=sale.sold)
    record(ctx, *sale.transactions)
    txs, cur = sale.transactions, ctx.tenant.currency
    return {"id": pass_id, "version": 1, "transaction_ids": _ids(txs),
            "sale_transaction_id": str(txs[0].id) if txs else None,
            "payment_transaction_id": str(txs[1].id) if len(txs) > 1 else None,
            "valid_until": sale.valid_until.isoformat(), "lessons": sale.lessons,
            "price": format_minor(sale.price, cur), "discount": format_minor(sale.discount, cur)}


# ---- visits (§4.3, §7.1) ----------------------------------------------------------------


class RecordVisit(Args):
    id: UUID | None = None
    client_id: UUID
    lesson_type: str | None = None  # required unless lesson_id: then the lesson's
    date: Day | None = None  # required unless lesson_id: then the lesson's local date
    status: Literal["attended", "absent"]
    group_id: UUID | None = None
    lesson_id: UUID | None = None  # attendance on a scheduled lesson (DOMAIN §7.4)


def find_usable(ctx: Ctx, client_id: UUID, lesson_type: str, day: date) -> Pass | None:
    """§4.3: the valid pass of the type with lessons left that expires first (ties: oldest sale)."""
    idx = _index(ctx, client_id)
    for e in idx.candidates(lesson_type, day) if idx else []:
        p = ctx.get(Pass, e.pass_id)
        if p.usable_on(day):
            return p
    return None


def _save_consumption(ctx: Ctx, used: pd.Consumption) -> None:
    _emit_pass(ctx, used.used)
    if used.transaction is not None:
        # Revenue touches no client account (deferred → income): no account to load.
        ctx.emit(b.post(used.transaction, ctx.meta, None))


@command("record_visit", RecordVisit)
def record_visit(ctx: Ctx, a: RecordVisit) -> dict[str, Any]:
    """Mark attendance (DOMAIN §7.1): a lesson from the pass expiring first, or a single-visit charge (§4.3)."""
    client = ctx.get(Client, a.client_id)
    visit_id = ctx.new_id(a.id)
    lesson = ctx.get(Lesson, a.lesson_id) if a.lesson_id is not None else None
    subject = pd.visit_subject(ctx.meta, a.client_id, visit_id, a.status, lesson, a.lesson_type, a.date, a.group_id)
    lt = ctx.tenant.lesson_type(subject.lesson_type)
    if subject.group_id is not None:
        ctx.get(Group, subject.group_id)
    usable = find_usable(ctx, a.client_id, subject.lesson_type, subject.day)
    city = _client_city(ctx, client) if usable is None else None
    done = pd.record_visit(client, subject, ctx.meta, ctx.new_id, visit_id=visit_id, status=a.status,
                           lesson_id=a.lesson_id, usable=usable,
                           no_show_consumes=ctx.tenant.settings.no_show_consumes,
                           single_visit_price=lt.single_visit_price, currency=ctx.tenant.currency, city=city)
    if done.charged and city is not None:
        in_city(ctx, city)  # §6.6: the charge is a debt in the client's city, posted by its staff
    ctx.emit(subject.marked)
    if done.used is not None:
        _save_consumption(ctx, done.used)
    if done.charge is not None:
        record(ctx, done.charge)
    ctx.emit(done.recorded)
    tx = done.transaction
    return {"id": visit_id, "version": 1, "consumed": done.consumed,
            "pass_id": str(done.pass_id) if done.pass_id else None, "charged": done.charged,
            "transaction_id": str(tx.id) if tx else None, "amount": format_minor(done.amount, ctx.tenant.currency)}


class CancelVisit(Args):
    visit_id: UUID
    reason: Label = Field(min_length=1, max_length=500)


def _save_reversal(ctx: Ctx, r: b.Reversal | None) -> None:
    if r is not None:
        record(ctx, r.reversal)
        ctx.emit(r.cancelled)


@command("cancel_visit", CancelVisit)
def cancel_visit(ctx: Ctx, a: CancelVisit) -> dict[str, Any]:
    """Cancel an attendance mark (DOMAIN §7.1): the lesson goes back to its pass, or the charge is reversed."""
    v = ctx.get(Visit, a.visit_id)
    p = ctx.get(Pass, v.pass_id) if v.pass_id is not None else None
    original = ctx.get(Transaction, v.transaction_id) if v.transaction_id is not None else None
    lesson = ctx.get(Lesson, v.lesson_id) if v.lesson_id is not None else None
    done = pd.cancel_visit(v, p, original, lesson, ctx.meta, ctx.new_id, a.reason)
    city = original.transaction.city if original is not None else None
    if v.charged and city is not None:  # §6.6: taking back a single-visit charge settles that city's debt
        in_city(ctx, city)
    if done.returned:
        _emit_pass(ctx, done.returned)
    _save_reversal(ctx, done.reversal)
    ctx.emit(done.unmarked)
    ctx.emit(done.cancelled)
    return {"id": v.id, "version": v.version + 1, "lesson_returned": done.lesson_returned,
            "reversal_id": str(done.reversal.reversal.id) if done.reversal else None}


# ---- changes (§4.4–§4.6) ------------------------------------------------------------------


class ExtendPass(Args):
    pass_id: UUID
    valid_until: Day
    bonus_lessons: int = Field(default=0, ge=0, le=1000)


@command("extend_pass", ExtendPass)
def extend_pass(ctx: Ctx, a: ExtendPass) -> dict[str, Any]:
    """A new end of validity, maybe with bonus lessons: restores an expired or unused pass (DOMAIN §4.5)."""
    p = _emit_pass(ctx, pd.extend(ctx.get(Pass, a.pass_id), ctx.meta, a.valid_until, a.bonus_lessons))
    return {"id": p.id, "version": p.version, "valid_until": p.valid_until.isoformat(), "remaining": p.remaining}


class CorrectPassValidity(Args):
    pass_id: UUID
    valid_from: Day | None = None
    valid_until: Day


@command("correct_pass_validity", CorrectPassValidity)
def correct_pass_validity(ctx: Ctx, a: CorrectPassValidity) -> dict[str, Any]:
    """Correct a pass's validity; no money moves (DOMAIN §4.5)."""
    p = ctx.get(Pass, a.pass_id)
    events = pd.correct_validity(p, ctx.meta, a.valid_from, a.valid_until)
    if events:
        p = _emit_pass(ctx, events)
    return {"id": p.id, "version": p.version, "valid_from": p.valid_from.isoformat(),
            "valid_until": p.valid_until.isoformat()}


class AddVirtualVisits(Args):
    pass_id: UUID
    count: int = Field(ge=1, le=1000)


@command("add_virtual_visits", AddVirtualVisits)
def add_virtual_visits(ctx: Ctx, a: AddVirtualVisits) -> dict[str, Any]:
    """Lessons consumed without an attendance record, e.g. migrated data (DOMAIN §4.4)."""
    p = ctx.get(Pass, a.pass_id)
    used = pd.consume(p, ctx.meta, ctx.new_id, a.count, currency=ctx.tenant.currency, client_id=p.payer_id,
                      visit_id=None)
    _save_consumption(ctx, used)
    tx = used.transaction
    return {"id": p.id, "version": p.version + 1, "remaining": p.remaining - a.count,
            "transaction_id": str(tx.id) if tx else None, "amount": format_minor(used.value, ctx.tenant.currency)}


def move_passes_for_freeze(ctx: Ctx, client_id: UUID, start: date, end: date) -> None:
    """DOMAIN §2.4, §4.6: each of the client's passes moves its end by the frozen days
    overlapping its validity. A pass shared by siblings (§4.2) is paused when any one holder
    is frozen (the seeds are silent on shared passes, so the per-client rule stays), but it
    moves only for days no earlier freeze of any holder already moved it for (``ps.pause``):
    a day counts once per pass (docs/accounting.md, pass lifecycle)."""
    idx = _index(ctx, client_id)
    for e in idx.entries if idx else ():
        if not e.open:
            continue
        p = ctx.get(Pass, e.pass_id)
        events = pd.freeze(p, [ctx.get(Client, cid) for cid in p.client_ids], ctx.meta, start, end)
        if events:
            _emit_pass(ctx, events)


class ExpirePass(Args):
    pass_id: UUID


@command("expire_pass", ExpirePass)
def expire_pass(ctx: Ctx, a: ExpirePass) -> dict[str, Any]:
    """Breakage (DOMAIN §6.3): after its last valid day, a pass's unused lessons become revenue."""
    p = ctx.get(Pass, a.pass_id)
    broken = pd.expire(p, ctx.meta, ctx.new_id, ctx.today, ctx.tenant.currency)
    if broken.transaction is None:
        return {"id": p.id, "version": p.version, "transaction_id": None,
                "amount": format_minor(0, ctx.tenant.currency)}
    _emit_pass(ctx, broken.broken)
    record(ctx, broken.transaction)
    return {"id": p.id, "version": p.version + 1, "transaction_id": str(broken.transaction.id),
            "amount": format_minor(broken.value, ctx.tenant.currency)}


# ---- recalculation (§4.7) -----------------------------------------------------------------


class RecalculatePass(Args):
    pass_id: UUID
    template_id: UUID
    difference: MoneyText | None = None  # a hand-set difference, signed
    id: UUID | None = None  # of the new pass
    branch_id: UUID | None = None  # where the new pass is sold (default: the old pass's branch)


@command("recalculate_pass", RecalculatePass)
def recalculate_pass(ctx: Ctx, a: RecalculatePass) -> dict[str, Any]:
    """Switch a pass to another template at its actual value (DOMAIN §4.7), in one journal transaction."""
    old = ctx.get(Pass, a.pass_id)
    t = ctx.get(PassTemplate, a.template_id)
    in_city(ctx, old.city)
    branch_id = a.branch_id or old.branch_id
    city = ctx.tenant.branch(branch_id).city
    cur = ctx.tenant.currency
    new_id = ctx.new_id(a.id)
    done = pd.recalculate(old, t, [ctx.get(Client, cid) for cid in old.client_ids], ctx.meta, ctx.new_id,
                          new_pass_id=new_id, branch_id=branch_id, city=city, today=ctx.today, currency=cur,
                          discount=_discount(ctx, old.payer_id),
                          difference=None if a.difference is None else money(ctx, a.difference, "difference"))
    _emit_pass(ctx, done.ended)
    _new_pass(ctx, new_id, client_ids=old.client_ids, events=done.sold)
    if done.transaction is not None:
        record(ctx, done.transaction)
    return {"id": new_id, "version": 1, "old_pass_id": old.id, "actual_value": format_minor(done.actual, cur),
            "difference": format_minor(done.agreed, cur), "computed_difference": format_minor(done.computed, cur),
            "transaction_id": str(done.transaction.id) if done.transaction else None}


# ---- refund (§4.8) and void (§4.9) --------------------------------------------------------


class RefundPass(Args):
    pass_id: UUID
    method: Literal["cash", "card", "bank"]
    comment: Label = Field(min_length=1, max_length=1000)
    amount: MoneyText | None = None  # a hand-set refund


@command("refund_pass", RefundPass, need="director")
def refund_pass(ctx: Ctx, a: RefundPass) -> dict[str, Any]:
    """Refund a pass by the formula of DOMAIN §4.8 (or a hand-set amount), in cash or cashless."""
    p = ctx.get(Pass, a.pass_id)
    pt.refund_terms(p, 0)  # refused before anything else when the pass cannot be refunded
    in_city(ctx, p.city)
    cur = ctx.tenant.currency
    done = pd.refund(p, ctx.meta, ctx.new_id, currency=cur,
                     single_visit_price=ctx.tenant.lesson_type(p.lesson_type).single_visit_price, method=a.method,
                     comment=a.comment, amount=None if a.amount is None else money(ctx, a.amount, "amount"))
    _emit_pass(ctx, done.ended)
    record(ctx, *done.transactions)
    terms = done.terms
    return {"id": p.id, "version": p.version + 1, "amount": format_minor(terms.amount, cur),
            "computed": format_minor(terms.computed, cur), "consumed_value": format_minor(terms.consumed_value, cur),
            "owed_after": format_minor(terms.owed_after, cur), "settled": format_minor(terms.settled, cur),
            "transaction_ids": _ids(done.transactions)}


class VoidPass(Args):
    pass_id: UUID
    reason: Label = Field(min_length=1, max_length=500)


@command("void_pass", VoidPass, need="director")
def void_pass(ctx: Ctx, a: VoidPass) -> dict[str, Any]:
    """An erroneous sale reversed completely: every journal transaction of the pass compensated (DOMAIN §4.9)."""
    p = ctx.get(Pass, a.pass_id)
    pd.check_voidable(p)  # refused before the city is asked, as a closed or changed pass is never voided
    in_city(ctx, p.city)
    done = pd.void(p, [ctx.get(Transaction, t) for t in p.transactions], ctx.meta, ctx.new_id, a.reason)
    for r in done.reversals:
        _save_reversal(ctx, r)
    _emit_pass(ctx, done.ended)
    return {"id": p.id, "version": p.version + 1, "reversal_ids": [str(r.reversal.id) for r in done.reversals]}


# ---- lesson transfer (§4.10) --------------------------------------------------------------


class TransferLessons(Args):
    from_client_id: UUID
    to_client_id: UUID
    lesson_type: str
    count: int = Field(ge=1, le=1000)


@command("transfer_lessons", TransferLessons, need="regional_director")
def transfer_lessons(ctx: Ctx, a: TransferLessons) -> dict[str, Any]:
    """Move remaining lessons of a type from one client's passes to another client (DOMAIN §4.10).

    Lessons leave the giving client's valid passes in the order visits would use them,
    each taking its deferred value with it (``posting.transferred_value``); the receiver
    gets one pass per giving pass with the same validity. No money moves (deferred
    revenue is kept per lesson type), so there is no journal transaction.
    """
    giver, taker = ctx.get(Client, a.from_client_id), ctx.get(Client, a.to_client_id)
    ctx.tenant.lesson_type(a.lesson_type)
    day = ctx.today
    idx = _index(ctx, a.from_client_id)
    sources = [p for e in (idx.candidates(a.lesson_type, day) if idx else [])
               if (p := ctx.get(Pass, e.pass_id)).usable_on(day)]
    done = pd.transfer(giver, taker, sources, ctx.meta, ctx.new_id, lesson_type=a.lesson_type, count=a.count,
                       from_city=_client_city(ctx, giver), to_city=_client_city(ctx, taker))
    for moved in done.moved:
        _emit_pass(ctx, moved.given)
        _new_pass(ctx, moved.pass_id, client_ids=(taker.id,), events=moved.sold)
    moved_ids = [str(m.pass_id) for m in done.moved]
    return {"id": moved_ids[0], "version": 1, "pass_ids": moved_ids, "count": a.count, "warnings": done.warnings}
