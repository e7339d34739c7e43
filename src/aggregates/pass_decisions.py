"""The decisions of the pass commands (DOMAIN §4, §7.1): a sale, a visit and its
cancellation, extension, breakage, recalculation, refund, void and lesson transfer.

Each takes the states its command loaded and plain values (the command's arguments, the
day, the tenant's currency and prices) and returns what to save: the pass events, the
journal transactions they post (§6) and the other events of the same write, or raises
the refusal. Nothing here loads or saves; fresh ids come from ``new_id``, called in the
order the journal transactions and passes are made, so a retry gets the same ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal
from uuid import UUID

from classledger.aggregates import books as b
from classledger.aggregates import client as c
from classledger.aggregates import lesson as ls
from classledger.aggregates import pass_terms as pt
from classledger.aggregates import passes as ps
from classledger.aggregates.base import Event, Meta
from classledger.aggregates.books import Discount, Transaction
from classledger.aggregates.client import Client
from classledger.aggregates.errors import Conflict, Invalid
from classledger.aggregates.lesson import Lesson
from classledger.aggregates.passes import ClientPasses, Pass, PassTemplate, Visit
from classledger.ledger import posting
from classledger.ledger.accounts import city_key
from classledger.ledger.journal import JournalTransaction, TransactionKind
from classledger.ledger.money import format_minor
from classledger.ledger.posting import RefundTerms

NewId = Callable[[], UUID]
Payment = Literal["paid", "on_credit", "no_payment"]
Method = Literal["cash", "card", "bank"]


def discount_on(discount: Discount | None, price: int) -> int:
    """§6.3: what the client's standing discount takes off a pass of ``price``."""
    if discount is None:
        return 0
    return posting.discount_amount(price, discount.kind, discount.value)


def paused_at_sale(holders: Sequence[Client], start: date, end: date) -> tuple[date, tuple[ps.Pause, ...]]:
    """DOMAIN §2.4, §4.6 at sale: a pass sold into freezes already recorded for its holders is
    paused by their distinct frozen days overlapping its validity, each day once however many
    holders are frozen that day (``ps.paused_at_sale``). Returns the end and the freezes that
    moved it, which the sale records so a later freeze of a sibling does not count them again."""
    return ps.paused_at_sale(start, end, [(f.start, f.end) for h in holders for f in h.freezes])


def check_overlap(client_id: UUID, index: ClientPasses | None, passes: Mapping[UUID, Pass], lesson_type: str,
                  start: date, end: date) -> None:
    """§4.1 ``allow_overlap = false``: no second valid pass with lessons of the type.
    ``passes``: the client's passes of the type still open, by id."""
    for e in index.overlapping(lesson_type, start, end) if index else []:
        other = passes[e.pass_id]
        if other.status == "active" and other.remaining > 0:
            raise Conflict("overlapping_pass", "the client already holds a valid pass of this lesson type",
                           client_id=str(client_id), pass_id=str(other.id), valid_from=other.valid_from.isoformat(),
                           valid_until=other.valid_until.isoformat())


# ---- sale (§4.2) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sale:
    sold: list[Event]  # the new pass
    transactions: list[JournalTransaction]  # the sale, and the payment when paid
    valid_until: date
    lessons: int
    price: int
    discount: int


def sell(t: PassTemplate, client_ids: Sequence[UUID], holders: Mapping[UUID, Client], meta: Meta, new_id: NewId, *,
         currency: str, pass_id: UUID, branch_id: UUID, city: str, valid_from: date, payment: Payment,
         method: Method | None, price: int | None, lessons: int | None, validity_days: int | None,
         discount: Discount | None, indexes: Mapping[UUID, ClientPasses | None],
         passes: Mapping[UUID, Pass]) -> Sale:
    """Sell a pass from a template to one client, or several if it is multi-client (§4.2).
    ``discount`` is the payer's (the first client's), ``indexes`` and ``passes`` the holders'
    pass indexes and their open passes of the type, for the overlap rule (§4.1)."""
    freestyle_args = sorted(k for k, v in (("price", price), ("lessons", lessons),
                                           ("validity_days", validity_days)) if v is not None)
    if freestyle_args and not t.freestyle:
        raise Invalid("not_freestyle", "only a freestyle template's price, lessons and validity change at sale",
                      fields=freestyle_args)
    clients = tuple(dict.fromkeys(client_ids))
    if len(clients) != len(client_ids):
        raise Invalid("duplicate_clients", "a client is named twice")
    if len(clients) > 1 and not t.multi_client:
        raise Invalid("not_multi_client", "this template is sold to one client at a time", clients=len(clients))
    if payment == "paid" and method is None:
        raise Invalid("method_required", "a paid sale needs a method: cash, card or bank")
    if payment != "paid" and method is not None:
        raise Invalid("method_not_allowed", f"a sale {payment} takes no payment method")
    for cid in clients:
        c.writable(holders[cid])
    price = t.price if price is None else price
    if price < 0:
        raise Invalid("negative_price", "a pass cannot cost less than nothing")
    lessons = lessons or t.lessons
    valid_until, paused = paused_at_sale([holders[cid] for cid in clients], valid_from,
                                         t.valid_until(valid_from, validity_days))
    if not t.allow_overlap:
        for cid in clients:
            check_overlap(cid, indexes.get(cid), passes, t.lesson_type, valid_from, valid_until)
    payer = clients[0]
    discount_amount = discount_on(discount, price) if payment != "no_payment" else 0
    txs: list[JournalTransaction] = []
    if payment == "paid":
        assert method is not None
        txs = posting.paid_sale((new_id(), new_id()), meta.at, currency, client_id=payer, city=city,
                                branch_id=branch_id, method=method, lesson_type=t.lesson_type, price=price,
                                discount=discount_amount, pass_id=pass_id)
    elif payment == "on_credit":
        sale = posting.sale(new_id(), meta.at, currency, client_id=payer, city=city, lesson_type=t.lesson_type,
                            price=price, discount=discount_amount, pass_id=pass_id, branch_id=branch_id)
        txs = [sale] if sale else []
    # no_payment (§4.2, initial import): the lessons carry no deferred value, nothing posts.
    value = price if payment != "no_payment" else 0
    paid = price - discount_amount if payment == "paid" else 0
    sold: list[Event] = [ps.PassSold.make(
        meta, pass_id, 1, template_id=t.id, client_ids=clients, branch_id=branch_id, city=city,
        lesson_type=t.lesson_type, price=price, discount=discount_amount, paid=paid, unit=value // lessons,
        value=value, payment=payment, transactions=tuple(x.id for x in txs), remaining=lessons,
        lessons_total=lessons, valid_from=valid_from, valid_until=valid_until, paused=paused)]
    return Sale(sold, txs, valid_until, lessons, price, discount_amount)


# ---- visits (§4.3, §7.1) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subject:
    """What a visit is of: its lesson type, day and group, and the lesson's mark (§7.4)."""

    lesson_type: str
    day: date
    group_id: UUID | None
    marked: list[Event] = field(default_factory=list)


def visit_subject(meta: Meta, client_id: UUID, visit_id: UUID, status: Literal["attended", "absent"],
                  lesson: Lesson | None, lesson_type: str | None, day: date | None,
                  group_id: UUID | None) -> Subject:
    """A visit on a scheduled lesson marks a booked client once and takes the lesson's type,
    local date and group (DOMAIN §7.1, §7.4); a visit without one names its type and date."""
    if lesson is None:
        if lesson_type is None or day is None:
            raise Invalid("lesson_type_and_date_required", "a visit names its lesson_type and date, or a lesson_id")
        return Subject(lesson_type, day, group_id)
    for given, actual, name in ((lesson_type, lesson.lesson_type, "lesson_type"), (day, lesson.day, "date"),
                                (group_id, lesson.group_id, "group_id")):
        if given is not None and given != actual:
            raise Invalid("lesson_mismatch", f"{name} differs from the lesson's", field=name)
    return Subject(lesson.lesson_type, lesson.day, lesson.group_id,
                   ls.mark(lesson, meta, client_id, visit_id, status))


@dataclass(frozen=True, slots=True)
class Consumption:
    pass_id: UUID
    value: int  # the revenue recognised
    used: list[Event]  # the pass's
    transaction: JournalTransaction | None  # deferred → income (§6.3); touches no client account


def consume(p: Pass, meta: Meta, new_id: NewId, count: int, *, currency: str, client_id: UUID,
            visit_id: UUID | None, day: date | None = None) -> Consumption:
    """Take lessons from a pass and recognise their revenue (§6.3), in the same write."""
    value = p.first_value(count) if 0 < count <= p.remaining else 0
    tx = posting.lesson_consumed(new_id(), meta.at, currency, lesson_type=p.lesson_type, value=value,
                                 client_id=client_id, related=tuple(i for i in (p.id, visit_id) if i is not None))
    recognised, events = ps.use_lessons(p, meta, count, transaction_id=tx.id if tx else None,
                                        visit_id=visit_id, day=day)
    assert recognised == value
    return Consumption(p.id, value, events, tx)


@dataclass(frozen=True, slots=True)
class Attendance:
    recorded: list[Event]  # the visit's
    consumed: bool
    used: Consumption | None = None  # a lesson taken from a pass, and the revenue it recognised
    charge: JournalTransaction | None = None  # a single-visit charge (§4.3), in the client's city
    charged: bool = False
    amount: int = 0

    @property
    def pass_id(self) -> UUID | None:
        return self.used.pass_id if self.used else None

    @property
    def transaction(self) -> JournalTransaction | None:
        return self.used.transaction if self.used else self.charge


def record_visit(client: Client, subject: Subject, meta: Meta, new_id: NewId, *, visit_id: UUID,
                 status: Literal["attended", "absent"], lesson_id: UUID | None, usable: Pass | None,
                 no_show_consumes: bool, single_visit_price: int, currency: str, city: str | None) -> Attendance:
    """Mark attendance (DOMAIN §7.1): a lesson from ``usable``, the pass of the type expiring
    first (§4.3), or else a single-visit charge in the client's ``city`` (§6.6; needed only
    when there is no usable pass)."""
    c.writable(client)
    consumed = status == "attended" or no_show_consumes
    if not consumed:
        return Attendance(_visit(meta, client.id, subject, visit_id, status, lesson_id), consumed)
    if usable is not None:
        used = consume(usable, meta, new_id, 1, currency=currency, client_id=client.id, visit_id=visit_id,
                       day=subject.day)
        tx_id = used.transaction.id if used.transaction else None
        return Attendance(_visit(meta, client.id, subject, visit_id, status, lesson_id, pass_id=usable.id,
                                 value=used.value, transaction_id=tx_id),
                          consumed, used, amount=used.value)
    assert city is not None, "a single-visit charge is posted in the client's city"
    charge = posting.visit_charge(new_id(), meta.at, currency, client_id=client.id, city=city,
                                  lesson_type=subject.lesson_type, price=single_visit_price,
                                  branch_id=client.branch_id, related=(visit_id,))
    return Attendance(_visit(meta, client.id, subject, visit_id, status, lesson_id, charged=True,
                             transaction_id=charge.id if charge else None),
                      consumed, charge=charge, charged=True, amount=single_visit_price)


def _visit(meta: Meta, client_id: UUID, subject: Subject, visit_id: UUID, status: Literal["attended", "absent"],
           lesson_id: UUID | None, *, pass_id: UUID | None = None, value: int = 0,
           transaction_id: UUID | None = None, charged: bool = False) -> list[Event]:
    return [ps.VisitRecorded.make(meta, visit_id, 1, client_id=client_id, lesson_type=subject.lesson_type,
                                  day=subject.day, status=status, group_id=subject.group_id, lesson_id=lesson_id,
                                  pass_id=pass_id, value=value, transaction_id=transaction_id, charged=charged)]


def reverse(original: Transaction, meta: Meta, new_id: NewId, memo: str | None) -> b.Reversal | None:
    """Cancel one transaction by its reversal (§6.4); None when it is already cancelled."""
    if original.cancelled_by is not None or original.transaction.kind == TransactionKind.REVERSAL:
        return None
    return b.reverse(original, meta, new_id(), memo)


@dataclass(frozen=True, slots=True)
class VisitCancellation:
    returned: list[Event]  # the pass's, when its lesson came back
    reversal: b.Reversal | None  # of the revenue or the single-visit charge
    unmarked: list[Event]  # the lesson's (§7.4)
    cancelled: list[Event]  # the visit's

    @property
    def lesson_returned(self) -> bool:
        return bool(self.returned)


def cancel_visit(v: Visit, p: Pass | None, transaction: Transaction | None, lesson: Lesson | None, meta: Meta,
                 new_id: NewId, reason: str) -> VisitCancellation:
    """Cancel an attendance mark (DOMAIN §7.1): the lesson goes back to its pass ``p``, or the
    charge is reversed; ``transaction`` is the visit's revenue or charge, ``lesson`` its lesson."""
    if v.cancelled:
        raise Conflict("visit_cancelled", "this visit is already cancelled", visit_id=str(v.id))
    returned: list[Event] = []
    if p is not None:
        if p.status in ("refunded", "recalculated"):
            raise Conflict("pass_closed", f"the visit's pass was {p.status}; its lessons were settled",
                           pass_id=str(p.id))
        if p.status == "active":
            returned = ps.return_lesson(p, meta, v.id, v.value)
        # a voided pass already reversed this lesson's revenue (§4.9)
    reversal = reverse(transaction, meta, new_id, reason) if transaction is not None else None
    unmarked = ls.unmark(lesson, meta, v.client_id, v.id) if lesson is not None else []
    cancelled: list[Event] = [ps.VisitCancelled.next(
        v, meta, client_id=v.client_id, pass_id=v.pass_id, lesson_returned=bool(returned),
        reversal_id=reversal.reversal.id if reversal else None)]
    return VisitCancellation(returned, reversal, unmarked, cancelled)


# ---- changes (§4.4–§4.6) ------------------------------------------------------------------


def extend(p: Pass, meta: Meta, valid_until: date, bonus_lessons: int) -> list[Event]:
    """A new end of validity, maybe with bonus lessons: restores an expired or unused pass (§4.5)."""
    if valid_until < p.valid_until:
        raise Invalid("not_an_extension", f"the pass already runs to {p.valid_until}; use correct_pass_validity",
                      valid_until=p.valid_until.isoformat())
    if valid_until == p.valid_until and bonus_lessons == 0:
        raise Invalid("nothing_to_extend", "the same end and no bonus lessons change nothing")
    return ps.change_validity(p, meta, "extend", valid_from=p.valid_from, valid_until=valid_until,
                              bonus_lessons=bonus_lessons)


def correct_validity(p: Pass, meta: Meta, valid_from: date | None, valid_until: date) -> list[Event]:
    """Correct a pass's validity; no money moves (§4.5). Nothing when it already runs so."""
    start = valid_from or p.valid_from
    if (start, valid_until) == (p.valid_from, p.valid_until):
        return []
    return ps.change_validity(p, meta, "correct", valid_from=start, valid_until=valid_until)


def freeze(p: Pass, holders: Sequence[Client], meta: Meta, start: date, end: date) -> list[Event]:
    """DOMAIN §2.4, §4.6: a holder frozen ``[start, end]`` moves the pass's end by the frozen
    days overlapping its validity that no earlier freeze of any of its ``holders`` moved
    it for (``ps.pause``): a day counts once per pass. Nothing once the pass is closed."""
    return ps.pause(p, meta, start, end, [(f.start, f.end) for h in holders for f in h.freezes])


@dataclass(frozen=True, slots=True)
class Breakage:
    broken: list[Event]  # the pass's; none when nothing was left unearned
    transaction: JournalTransaction | None
    value: int


def expire(p: Pass, meta: Meta, new_id: NewId, today: date, currency: str) -> Breakage:
    """Breakage (§6.3): after its last valid day, a pass's unused lessons become revenue."""
    ps.check_active(p)
    if today <= p.valid_until:
        raise Conflict("pass_not_expired", f"the pass is valid until {p.valid_until}",
                       valid_until=p.valid_until.isoformat())
    tx = posting.breakage(new_id(), meta.at, currency, lesson_type=p.lesson_type, remaining=p.unearned,
                          client_id=p.payer_id, related=(p.id,))
    if tx is None:
        return Breakage([], None, 0)
    return Breakage([ps.PassBroken.next(p, meta, value=p.unearned, transaction_id=tx.id, **ps.figures(p))],
                    tx, p.unearned)


# ---- recalculation (§4.7) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recalculation:
    ended: list[Event]  # the old pass's
    sold: list[Event]  # the new pass
    transaction: JournalTransaction | None
    actual: int
    agreed: int
    computed: int


def recalculate(old: Pass, t: PassTemplate, holders: Sequence[Client], meta: Meta, new_id: NewId, *,
                new_pass_id: UUID, branch_id: UUID, city: str, today: date, currency: str,
                discount: Discount | None, difference: int | None) -> Recalculation:
    """Switch a pass to another template at its actual value (§4.7), in one journal
    transaction, sold from ``today`` in ``branch_id`` (in ``city``): the old pass's city only.
    ``discount``: the payer's; ``difference``: a hand-set one, signed."""
    ps.check_active(old)
    if city_key(city) != city_key(old.city):
        raise Conflict("different_city", f"a pass sold in {old.city} is recalculated only into a pass sold there",
                       old_city=old.city, new_city=city)
    actual = pt.actual_value(old)
    offers = pt.recalculation_offers(old, [pt.TemplatePrice(t.id, t.price, t.multi_client)],
                                     lambda price: discount_on(discount, price))
    if not offers and not posting.offered_templates(actual, {t.id: t.price}):
        raise Conflict("template_not_offered", "a pass switches only to a template priced at least its actual value",
                       actual_value=format_minor(actual, currency), price=format_minor(t.price, currency))
    if not offers:
        raise Invalid("not_multi_client", "a shared pass switches only to a multi-client template")
    discount_amount = discount_on(discount, t.price)
    computed = offers[0].difference
    agreed = computed if difference is None else difference
    tx = posting.recalculation(new_id(), meta.at, currency, client_id=old.payer_id, city=old.city,
                               old_lesson_type=old.lesson_type, old_unearned=old.unearned, actual=actual,
                               new_lesson_type=t.lesson_type, new_price=t.price, discount=discount_amount,
                               difference=agreed, branch_id=old.branch_id, related=(old.id, new_pass_id))
    txs = (tx.id,) if tx else ()
    ended: list[Event] = [ps.PassEnded.next(old, meta, transaction_ids=txs, successor_id=new_pass_id,
                                            **ps.figures(old, status="recalculated", remaining=0))]
    # Like a sale (§2.4, §4.6): the new pass is paused by the holders' recorded freezes.
    valid_until, paused = paused_at_sale(holders, today, t.valid_until(today))
    # The client's old value counts as paid towards the new pass (for a later refund, §4.8).
    carried = actual + min(0, agreed)
    sold: list[Event] = [ps.PassSold.make(
        meta, new_pass_id, 1, template_id=t.id, client_ids=old.client_ids, branch_id=branch_id, city=old.city,
        lesson_type=t.lesson_type, price=t.price, discount=discount_amount, paid=max(0, carried),
        unit=t.price // t.lessons, value=t.price, payment="on_credit", origin="recalculation", transactions=txs,
        source_pass_id=old.id, remaining=t.lessons, lessons_total=t.lessons, valid_from=today,
        valid_until=valid_until, paused=paused)]
    return Recalculation(ended, sold, tx, actual, agreed, computed)


# ---- refund (§4.8) and void (§4.9) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refund:
    ended: list[Event]  # the pass's
    transactions: list[JournalTransaction]
    terms: RefundTerms


def refund(p: Pass, meta: Meta, new_id: NewId, *, currency: str, single_visit_price: int, method: Method,
           comment: str, amount: int | None) -> Refund:
    """Refund a pass by the formula of §4.8, or a hand-set ``amount``, in cash or cashless."""
    terms = pt.refund_terms(p, single_visit_price, amount)
    if terms.settled < 0:
        raise Conflict("refund_too_small", "a hand-set refund cannot leave the client owing more than the pass")
    txs = posting.refund((new_id(), new_id()), meta.at, currency, client_id=p.payer_id, city=p.city,
                         branch_id=p.branch_id, method=method, amount=terms.amount, lesson_type=p.lesson_type,
                         unearned=p.unearned, settled=terms.settled, pass_id=p.id)
    ended: list[Event] = [ps.PassEnded.next(p, meta, transaction_ids=tuple(t.id for t in txs),
                                            refund_amount=terms.amount,
                                            **ps.figures(p, status="refunded", remaining=0))]
    return Refund(ended, [t.model_copy(update={"memo": comment}) for t in txs], terms)


def check_voidable(p: Pass) -> None:
    """§4.9: only a sale still standing whole is voided; anything else is refunded."""
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


@dataclass(frozen=True, slots=True)
class Void:
    reversals: list[b.Reversal]  # one per journal transaction of the pass not already cancelled
    ended: list[Event]  # the pass's


def void(p: Pass, transactions: Sequence[Transaction], meta: Meta, new_id: NewId, reason: str) -> Void:
    """An erroneous sale reversed completely (§4.9): every journal transaction of the pass,
    ``transactions`` in the pass's order, compensated."""
    check_voidable(p)
    reversals = [r for r in (reverse(t, meta, new_id, reason) for t in transactions) if r is not None]
    ended: list[Event] = [ps.PassEnded.next(p, meta, transaction_ids=tuple(r.reversal.id for r in reversals),
                                            **ps.figures(p, status="voided", remaining=0))]
    return Void(reversals, ended)


# ---- lesson transfer (§4.10) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Moved:
    given: list[Event]  # the giving pass's
    sold: list[Event]  # the receiver's new pass
    pass_id: UUID


@dataclass(frozen=True, slots=True)
class Transfer:
    moved: list[Moved]
    warnings: list[dict[str, str]]


def check_transfer(from_client_id: UUID, to_client_id: UUID) -> None:
    if from_client_id == to_client_id:
        raise Invalid("same_client", "lessons move between two different clients")


def transfer(giver: Client, taker: Client, sources: Sequence[Pass], meta: Meta, new_id: NewId, *,
             lesson_type: str, count: int, from_city: str, to_city: str) -> Transfer:
    """Move ``count`` remaining lessons of a type from the giver's valid passes (``sources``, in
    the order visits would use them) to the taker (§4.10); each taking its deferred value with
    it, the taker gets one pass per giving pass with the same validity. No money moves
    (deferred revenue is kept per lesson type), so there is no journal transaction. The
    clients' cities (``from_city``, ``to_city``) only warn when they differ."""
    check_transfer(giver.id, taker.id)
    c.writable(giver)
    c.writable(taker)
    available = sum(p.remaining for p in sources)
    if count > available:
        raise Conflict("not_enough_lessons", f"the client has {available} {lesson_type} lessons left",
                       remaining=available)
    left, moved = count, []
    for p in sources:
        if left == 0:
            break
        n = min(left, p.remaining)
        value = p.last_value(n)
        new_id_ = new_id()
        given: list[Event] = [ps.LessonsTransferredOut.next(
            p, meta, count=n, value=value, to_client_id=taker.id, to_pass_id=new_id_,
            **ps.figures(p, remaining=p.remaining - n, lessons_total=p.lessons_total - n))]
        sold: list[Event] = [ps.PassSold.make(
            meta, new_id_, 1, template_id=p.template_id, client_ids=(taker.id,), branch_id=p.branch_id,
            city=p.city, lesson_type=p.lesson_type, price=value, discount=0, paid=0, unit=value // n,
            value=value, payment="no_payment", origin="transfer", source_pass_id=p.id, remaining=n,
            lessons_total=n, valid_from=p.valid_from, valid_until=p.valid_until)]
        moved.append(Moved(given, sold, new_id_))
        left -= n
    warnings = []
    if from_city != to_city:
        warnings.append({"code": "different_cities", "message": f"lessons move from {from_city} to {to_city}",
                         "from_city": from_city, "to_city": to_city})
    return Transfer(moved, warnings)
