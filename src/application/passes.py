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
from classledger.aggregates import client as c
from classledger.aggregates import lesson as ls
from classledger.aggregates import pass_terms as pt
from classledger.aggregates import passes as ps
from classledger.aggregates.base import Event
from classledger.aggregates.books import ClientAccount, Transaction
from classledger.aggregates.client import Client
from classledger.aggregates.course import Group
from classledger.aggregates.errors import Conflict, Invalid
from classledger.aggregates.lesson import Lesson
from classledger.aggregates.passes import ClientPasses, Pass, PassTemplate, Visit
from classledger.application.books import in_city, record
from classledger.application.fields import Day, Label, MoneyText, Paragraph
from classledger.application.registry import Args, Ctx, command
from classledger.application.tenants import money
from classledger.ledger import posting
from classledger.ledger.accounts import city_key
from classledger.ledger.journal import JournalTransaction, TransactionKind, reversal_of
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


# ---- helpers -----------------------------------------------------------------------------



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


def _paused(ctx: Ctx, client_ids: tuple[UUID, ...], start: date, end: date) -> tuple[date, tuple[ps.Pause, ...]]:
    """DOMAIN §2.4, §4.6 at sale: a pass sold into freezes already recorded for its holders is
    paused by their distinct frozen days overlapping its validity, each day once however many
    holders are frozen that day (``ps.paused_at_sale``). Returns the end and the freezes that
    moved it, which the sale records so a later freeze of a sibling does not count them again."""
    freezes = [(f.start, f.end) for cid in client_ids for f in ctx.get(Client, cid).freezes]
    return ps.paused_at_sale(start, end, freezes)


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
    valid_until = t.valid_until(a.valid_from, a.validity_days)
    valid_until, paused = _paused(ctx, clients, a.valid_from, valid_until)
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
        valid_from=a.valid_from, valid_until=valid_until, paused=paused)])
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


def _consume(ctx: Ctx, p: Pass, count: int, *, client_id: UUID, visit_id: UUID | None,
             day: date | None = None) -> tuple[int, JournalTransaction | None]:
    """Take lessons from a pass and recognise their revenue (§6.3), in the same write."""
    value = p.first_value(count) if 0 < count <= p.remaining else 0
    tx = posting.lesson_consumed(ctx.new_id(), ctx.meta.at, ctx.tenant.currency, lesson_type=p.lesson_type,
                                 value=value, client_id=client_id,
                                 related=tuple(i for i in (p.id, visit_id) if i is not None))
    recognised, events = ps.use_lessons(p, ctx.meta, count, transaction_id=tx.id if tx else None,
                                        visit_id=visit_id, day=day)
    assert recognised == value
    _emit_pass(ctx, events)
    if tx is not None:
        # Revenue touches no client account (deferred → income): no account to load.
        ctx.emit(b.post(tx, ctx.meta, None))
    return value, tx


@command("record_visit", RecordVisit)
def record_visit(ctx: Ctx, a: RecordVisit) -> dict[str, Any]:
    """Mark attendance (DOMAIN §7.1): a lesson from the pass expiring first, or a single-visit charge (§4.3)."""
    client = ctx.get(Client, a.client_id)
    c.writable(client)
    visit_id = ctx.new_id(a.id)
    lesson_type, day, group_id = _on_lesson(ctx, a, visit_id)
    lt = ctx.tenant.lesson_type(lesson_type)
    if group_id is not None:
        ctx.get(Group, group_id)
    consumes = a.status == "attended" or ctx.tenant.settings.no_show_consumes
    fields: dict[str, Any] = {}
    if consumes:
        p = find_usable(ctx, a.client_id, lesson_type, day)
        if p is not None:
            value, tx = _consume(ctx, p, 1, client_id=a.client_id, visit_id=visit_id, day=day)
            fields = {"pass_id": p.id, "value": value, "transaction_id": tx.id if tx else None}
        else:
            city = _client_city(ctx, client)
            in_city(ctx, city)  # §6.6: the charge is a debt in the client's city, posted by its staff
            charge = posting.visit_charge(ctx.new_id(), ctx.meta.at, ctx.tenant.currency, client_id=a.client_id,
                                          city=city, lesson_type=lesson_type,
                                          price=lt.single_visit_price, branch_id=client.branch_id,
                                          related=(visit_id,))
            if charge is not None:
                record(ctx, charge)
            fields = {"charged": True, "transaction_id": charge.id if charge else None}
    ctx.emit([ps.VisitRecorded.make(ctx.meta, visit_id, 1, client_id=a.client_id, lesson_type=lesson_type,
                                    day=day, status=a.status, group_id=group_id, lesson_id=a.lesson_id,
                                    **fields)])
    cur = ctx.tenant.currency
    return {"id": visit_id, "version": 1, "consumed": consumes,
            "pass_id": str(fields["pass_id"]) if fields.get("pass_id") else None,
            "charged": bool(fields.get("charged")),
            "transaction_id": str(fields["transaction_id"]) if fields.get("transaction_id") else None,
            "amount": format_minor(fields.get("value", lt.single_visit_price if fields.get("charged") else 0), cur)}


def _on_lesson(ctx: Ctx, a: RecordVisit, visit_id: UUID) -> tuple[str, date, UUID | None]:
    """A visit on a scheduled lesson marks a booked client once and takes the lesson's type,
    local date and group (DOMAIN §7.1, §7.4); a visit without one names its type and date."""
    if a.lesson_id is None:
        if a.lesson_type is None or a.date is None:
            raise Invalid("lesson_type_and_date_required", "a visit names its lesson_type and date, or a lesson_id")
        return a.lesson_type, a.date, a.group_id
    lesson = ctx.get(Lesson, a.lesson_id)
    for given, actual, name in ((a.lesson_type, lesson.lesson_type, "lesson_type"), (a.date, lesson.day, "date"),
                                (a.group_id, lesson.group_id, "group_id")):
        if given is not None and given != actual:
            raise Invalid("lesson_mismatch", f"{name} differs from the lesson's", field=name)
    ctx.emit(ls.mark(lesson, ctx.meta, a.client_id, visit_id, a.status))
    return lesson.lesson_type, lesson.day, lesson.group_id


class CancelVisit(Args):
    visit_id: UUID
    reason: Label = Field(min_length=1, max_length=500)


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
        city = ctx.get(Transaction, v.transaction_id).transaction.city
        if v.charged and city is not None:  # §6.6: taking back a single-visit charge settles that city's debt
            in_city(ctx, city)
        reversal_id = _reverse(ctx, v.transaction_id, a.reason)
    if v.lesson_id is not None:
        ctx.emit(ls.unmark(ctx.get(Lesson, v.lesson_id), ctx.meta, v.client_id, v.id))
    ctx.emit([ps.VisitCancelled.next(v, ctx.meta, client_id=v.client_id, pass_id=v.pass_id,
                                     lesson_returned=returned, reversal_id=reversal_id)])
    return {"id": v.id, "version": v.version + 1, "lesson_returned": returned,
            "reversal_id": str(reversal_id) if reversal_id else None}


# ---- changes (§4.4–§4.6) ------------------------------------------------------------------


class ExtendPass(Args):
    pass_id: UUID
    valid_until: Day
    bonus_lessons: int = Field(default=0, ge=0, le=1000)


@command("extend_pass", ExtendPass)
def extend_pass(ctx: Ctx, a: ExtendPass) -> dict[str, Any]:
    """A new end of validity, maybe with bonus lessons: restores an expired or unused pass (DOMAIN §4.5)."""
    p = ctx.get(Pass, a.pass_id)
    if a.valid_until < p.valid_until:
        raise Invalid("not_an_extension", f"the pass already runs to {p.valid_until}; use correct_pass_validity",
                      valid_until=p.valid_until.isoformat())
    if a.valid_until == p.valid_until and a.bonus_lessons == 0:
        raise Invalid("nothing_to_extend", "the same end and no bonus lessons change nothing")
    p = _emit_pass(ctx, ps.change_validity(p, ctx.meta, "extend", valid_from=p.valid_from, valid_until=a.valid_until,
                                           bonus_lessons=a.bonus_lessons))
    return {"id": p.id, "version": p.version, "valid_until": p.valid_until.isoformat(), "remaining": p.remaining}


class CorrectPassValidity(Args):
    pass_id: UUID
    valid_from: Day | None = None
    valid_until: Day


@command("correct_pass_validity", CorrectPassValidity)
def correct_pass_validity(ctx: Ctx, a: CorrectPassValidity) -> dict[str, Any]:
    """Correct a pass's validity; no money moves (DOMAIN §4.5)."""
    p = ctx.get(Pass, a.pass_id)
    start = a.valid_from or p.valid_from
    if (start, a.valid_until) == (p.valid_from, p.valid_until):
        return {"id": p.id, "version": p.version, "valid_from": start.isoformat(),
                "valid_until": a.valid_until.isoformat()}
    p = _emit_pass(ctx, ps.change_validity(p, ctx.meta, "correct", valid_from=start, valid_until=a.valid_until))
    return {"id": p.id, "version": p.version, "valid_from": p.valid_from.isoformat(),
            "valid_until": p.valid_until.isoformat()}


class AddVirtualVisits(Args):
    pass_id: UUID
    count: int = Field(ge=1, le=1000)


@command("add_virtual_visits", AddVirtualVisits)
def add_virtual_visits(ctx: Ctx, a: AddVirtualVisits) -> dict[str, Any]:
    """Lessons consumed without an attendance record, e.g. migrated data (DOMAIN §4.4)."""
    p = ctx.get(Pass, a.pass_id)
    value, tx = _consume(ctx, p, a.count, client_id=p.payer_id, visit_id=None)
    return {"id": p.id, "version": p.version + 1, "remaining": p.remaining - a.count,
            "transaction_id": str(tx.id) if tx else None, "amount": format_minor(value, ctx.tenant.currency)}


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
        recorded = [(f.start, f.end) for cid in p.client_ids for f in ctx.get(Client, cid).freezes]
        events = ps.pause(p, ctx.meta, start, end, recorded)
        if events:
            _emit_pass(ctx, events)


class ExpirePass(Args):
    pass_id: UUID


@command("expire_pass", ExpirePass)
def expire_pass(ctx: Ctx, a: ExpirePass) -> dict[str, Any]:
    """Breakage (DOMAIN §6.3): after its last valid day, a pass's unused lessons become revenue."""
    p = ctx.get(Pass, a.pass_id)
    ps.check_active(p)
    if ctx.today <= p.valid_until:
        raise Conflict("pass_not_expired", f"the pass is valid until {p.valid_until}",
                       valid_until=p.valid_until.isoformat())
    tx = posting.breakage(ctx.new_id(), ctx.meta.at, ctx.tenant.currency, lesson_type=p.lesson_type,
                          remaining=p.unearned, client_id=p.payer_id, related=(p.id,))
    if tx is None:
        return {"id": p.id, "version": p.version, "transaction_id": None,
                "amount": format_minor(0, ctx.tenant.currency)}
    _emit_pass(ctx, [ps.PassBroken.next(p, ctx.meta, value=p.unearned, transaction_id=tx.id, **ps.figures(p))])
    record(ctx, tx)
    return {"id": p.id, "version": p.version + 1, "transaction_id": str(tx.id),
            "amount": format_minor(p.unearned, ctx.tenant.currency)}


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
    ps.check_active(old)
    t = ctx.get(PassTemplate, a.template_id)
    in_city(ctx, old.city)
    branch_id = a.branch_id or old.branch_id
    city = ctx.tenant.branch(branch_id).city
    if city_key(city) != city_key(old.city):
        raise Conflict("different_city", f"a pass sold in {old.city} is recalculated only into a pass sold there",
                       old_city=old.city, new_city=city)
    cur = ctx.tenant.currency
    actual = pt.actual_value(old)
    offers = pt.recalculation_offers(old, [pt.TemplatePrice(t.id, t.price, t.multi_client)],
                                     lambda price: _discount(ctx, old.payer_id, price))
    if not offers and not posting.offered_templates(actual, {t.id: t.price}):
        raise Conflict("template_not_offered", "a pass switches only to a template priced at least its actual value",
                       actual_value=format_minor(actual, cur), price=format_minor(t.price, cur))
    if not offers:
        raise Invalid("not_multi_client", "a shared pass switches only to a multi-client template")
    discount = _discount(ctx, old.payer_id, t.price)
    computed = offers[0].difference
    agreed = computed if a.difference is None else money(ctx, a.difference, "difference")
    new_id = ctx.new_id(a.id)
    tx = posting.recalculation(ctx.new_id(), ctx.meta.at, cur, client_id=old.payer_id, city=old.city,
                               old_lesson_type=old.lesson_type, old_unearned=old.unearned, actual=actual,
                               new_lesson_type=t.lesson_type, new_price=t.price, discount=discount,
                               difference=agreed, branch_id=old.branch_id, related=(old.id, new_id))
    txs = (tx.id,) if tx else ()
    _emit_pass(ctx, [ps.PassEnded.next(old, ctx.meta, transaction_ids=txs, successor_id=new_id,
                                       **ps.figures(old, status="recalculated", remaining=0))])
    start = ctx.today
    # Like a sale (§2.4, §4.6): the new pass is paused by the holders' recorded freezes.
    valid_until, paused = _paused(ctx, old.client_ids, start, t.valid_until(start))
    # The client's old value counts as paid towards the new pass (for a later refund, §4.8).
    carried = actual + min(0, agreed)
    _new_pass(ctx, new_id, client_ids=old.client_ids, events=[ps.PassSold.make(
        ctx.meta, new_id, 1, template_id=t.id, client_ids=old.client_ids, branch_id=branch_id, city=old.city,
        lesson_type=t.lesson_type, price=t.price, discount=discount, paid=max(0, carried), unit=t.price // t.lessons,
        value=t.price, payment="on_credit", origin="recalculation", transactions=txs, source_pass_id=old.id,
        remaining=t.lessons, lessons_total=t.lessons, valid_from=start, valid_until=valid_until, paused=paused)])
    if tx is not None:
        record(ctx, tx)
    return {"id": new_id, "version": 1, "old_pass_id": old.id, "actual_value": format_minor(actual, cur),
            "difference": format_minor(agreed, cur), "computed_difference": format_minor(computed, cur),
            "transaction_id": str(tx.id) if tx else None}


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
    svp = ctx.tenant.lesson_type(p.lesson_type).single_visit_price
    amount = None if a.amount is None else money(ctx, a.amount, "amount")
    terms = pt.refund_terms(p, svp, amount)
    if terms.settled < 0:
        raise Conflict("refund_too_small", "a hand-set refund cannot leave the client owing more than the pass")
    txs = posting.refund((ctx.new_id(), ctx.new_id()), ctx.meta.at, cur, client_id=p.payer_id, city=p.city,
                         branch_id=p.branch_id, method=a.method, amount=terms.amount, lesson_type=p.lesson_type,
                         unearned=p.unearned, settled=terms.settled, pass_id=p.id)
    _emit_pass(ctx, [ps.PassEnded.next(p, ctx.meta, transaction_ids=tuple(t.id for t in txs),
                                       refund_amount=terms.amount, **ps.figures(p, status="refunded", remaining=0))])
    record(ctx, *(t.model_copy(update={"memo": a.comment}) for t in txs))
    return {"id": p.id, "version": p.version + 1, "amount": format_minor(terms.amount, cur),
            "computed": format_minor(terms.computed, cur), "consumed_value": format_minor(terms.consumed_value, cur),
            "owed_after": format_minor(terms.owed_after, cur), "settled": format_minor(terms.settled, cur),
            "transaction_ids": _ids(txs)}


class VoidPass(Args):
    pass_id: UUID
    reason: Label = Field(min_length=1, max_length=500)


@command("void_pass", VoidPass, need="director")
def void_pass(ctx: Ctx, a: VoidPass) -> dict[str, Any]:
    """An erroneous sale reversed completely: every journal transaction of the pass compensated (DOMAIN §4.9)."""
    p = ctx.get(Pass, a.pass_id)
    ps.check_active(p)
    if p.origin != "sale":
        raise Conflict("not_a_sale", f"this pass came from a {p.origin}, not a sale; refund it instead",
                       origin=p.origin)
    if p.transferred_out:
        raise Conflict("lessons_transferred", f"{p.transferred_out} lessons of this pass went to another client; "
                       "refund it instead", transferred=p.transferred_out)
    if p.written_off:
        # §6.3: a write-off settled its debt; reversing the sale under it would leave the
        # client owed the written-off sum.
        raise Conflict("written_off", "a write-off settled this pass's debt: cancel the write-off first, or "
                       "refund the pass", written_off=[str(w.transaction_id) for w in p.written_off])
    in_city(ctx, p.city)
    reversals = [r for r in (_reverse(ctx, t, a.reason) for t in p.transactions) if r is not None]
    _emit_pass(ctx, [ps.PassEnded.next(p, ctx.meta, transaction_ids=tuple(reversals),
                                       **ps.figures(p, status="voided", remaining=0))])
    return {"id": p.id, "version": p.version + 1, "reversal_ids": [str(r) for r in reversals]}


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
    if a.from_client_id == a.to_client_id:
        raise Invalid("same_client", "lessons move between two different clients")
    giver, taker = ctx.get(Client, a.from_client_id), ctx.get(Client, a.to_client_id)
    c.writable(giver)
    c.writable(taker)
    ctx.tenant.lesson_type(a.lesson_type)
    day = ctx.today
    idx = _index(ctx, a.from_client_id)
    sources = [p for e in (idx.candidates(a.lesson_type, day) if idx else [])
               if (p := ctx.get(Pass, e.pass_id)).usable_on(day)]
    available = sum(p.remaining for p in sources)
    if a.count > available:
        raise Conflict("not_enough_lessons", f"the client has {available} {a.lesson_type} lessons left",
                       remaining=available)
    left, moved_ids = a.count, []
    for p in sources:
        if left == 0:
            break
        n = min(left, p.remaining)
        value = p.last_value(n)
        new_id = ctx.new_id()
        _emit_pass(ctx, [ps.LessonsTransferredOut.next(
            p, ctx.meta, count=n, value=value, to_client_id=a.to_client_id, to_pass_id=new_id,
            **ps.figures(p, remaining=p.remaining - n, lessons_total=p.lessons_total - n))])
        _new_pass(ctx, new_id, client_ids=(a.to_client_id,), events=[ps.PassSold.make(
            ctx.meta, new_id, 1, template_id=p.template_id, client_ids=(a.to_client_id,), branch_id=p.branch_id,
            city=p.city, lesson_type=p.lesson_type, price=value, discount=0, paid=0, unit=value // n,
            value=value, payment="no_payment", origin="transfer", source_pass_id=p.id, remaining=n,
            lessons_total=n, valid_from=p.valid_from, valid_until=p.valid_until)])
        moved_ids.append(str(new_id))
        left -= n
    warnings = []
    from_city, to_city = _client_city(ctx, giver), _client_city(ctx, taker)
    if from_city != to_city:
        warnings.append({"code": "different_cities", "message": f"lessons move from {from_city} to {to_city}",
                         "from_city": from_city, "to_city": to_city})
    return {"id": moved_ids[0], "version": 1, "pass_ids": moved_ids, "count": a.count, "warnings": warnings}
