"""Passes (DOMAIN §4). This module holds the templates of §4.1, the tenant's catalogue;
sales, visits and the rest of the pass lifecycle build on them."""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Literal
from uuid import UUID

from classledger.aggregates.base import Aggregate, Event, Immutable, Meta
from classledger.aggregates.errors import Conflict, Invalid


def months_later(start: date, months: int) -> date:
    """The last valid day of ``months`` calendar months from ``start`` (DOMAIN §4.1): the
    day before the same day ``months`` later, or that month's last day when it has no
    such day (from 31 January, one month runs to the end of February)."""
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    last = calendar.monthrange(year, month)[1]
    if start.day > last:
        return date(year, month, last)
    return date(year, month, start.day) - timedelta(days=1)


class PassTemplate(Aggregate):
    name: str
    description: str | None = None
    price: int  # minor units of the tenant's currency
    lessons: int
    validity_days: int | None = None  # exactly one of days and calendar months (DOMAIN §4.1)
    validity_months: int | None = None
    lesson_type: str
    freestyle: bool = False  # price, lessons and validity may change at sale
    allow_overlap: bool = False  # may a client hold two valid passes of this type at once
    multi_client: bool = False  # may one pass be shared, e.g. by siblings

    def valid_until(self, valid_from: date, validity_days: int | None = None) -> date:
        """The last valid day of a pass of this template starting ``valid_from``; a
        freestyle sale's ``validity_days`` replaces the template's validity."""
        if validity_days is None and self.validity_months is not None:
            return months_later(valid_from, self.validity_months)
        return valid_from + timedelta(days=(validity_days or self.validity_days or 1) - 1)


class PassTemplateCreated(Event):
    name: str
    description: str | None = None
    price: int
    lessons: int
    validity_days: int | None = None
    validity_months: int | None = None
    lesson_type: str
    freestyle: bool = False
    allow_overlap: bool = False
    multi_client: bool = False

    def apply(self, state: Any) -> PassTemplate:
        return self.birth(
            PassTemplate, name=self.name, description=self.description, price=self.price, lessons=self.lessons,
            validity_days=self.validity_days, validity_months=self.validity_months, lesson_type=self.lesson_type,
            freestyle=self.freestyle, allow_overlap=self.allow_overlap, multi_client=self.multi_client,
        )


def create_template(template_id: UUID, meta: Meta, *, name: str, description: str | None, price: int, lessons: int,
                    validity_days: int | None, lesson_type: str, freestyle: bool, allow_overlap: bool,
                    multi_client: bool, validity_months: int | None = None) -> list[Event]:
    if price < 0:
        raise Invalid("negative_price", "a pass cannot cost less than nothing")
    if lessons < 1:
        raise Invalid("invalid_lessons", "a pass holds at least one lesson")
    if (validity_days is None) == (validity_months is None):
        raise Invalid("validity_required", "a template's validity is given in days or in months: exactly one of them",
                      fields=["validity_days", "validity_months"])
    if validity_days is not None and validity_days < 1:
        raise Invalid("invalid_validity", "a pass is valid for at least one day")
    if validity_months is not None and validity_months < 1:
        raise Invalid("invalid_validity", "a pass is valid for at least one month")
    return [PassTemplateCreated.make(meta, template_id, 1, name=name, description=description, price=price, lessons=lessons,
                                     validity_days=validity_days, validity_months=validity_months,
                                     lesson_type=lesson_type, freestyle=freestyle,
                                     allow_overlap=allow_overlap, multi_client=multi_client)]


# ---- the pass (DOMAIN §4.2–§4.11) -------------------------------------------------------
#
# A pass carries its own money figures so that every rule decides from the pass alone:
# ``value`` is the deferred revenue the pass put into ``liabilities:deferred:<type>``
# (its list price at sale, less what left with transferred lessons), ``recognised`` how
# much of it has become income so far, ``unit`` the value of one lesson (price // lessons
# at sale). The next lesson consumed is worth ``min(unit, value − recognised)``, and the
# last remaining lesson takes everything still deferred (DOMAIN §6.3: the last lesson
# takes the rounding remainder), so a pass used up has recognised exactly its value.
# Bonus lessons (§4.5) carry no value: once the paid value is recognised they are worth 0.
#
# Every event that changes lessons or validity also carries the pass's figures after it
# (remaining, validity, holders), so read models never need the aggregate to follow it.

PassStatus = Literal["active", "voided", "refunded", "recalculated"]
PaymentMode = Literal["paid", "on_credit", "no_payment"]
Origin = Literal["sale", "recalculation", "transfer"]


class Pause(Immutable):
    """A holder's freeze period (DOMAIN §2.4) that moved this pass (§4.6), whole, as recorded
    for the client: the pass keeps them so that no calendar day moves it twice, whichever
    holder is frozen that day (see the freezes section below)."""

    start: date
    end: date


class WriteOffShare(Immutable):
    """The part of one write-off transaction (§6.3) that settled this pass's debt."""

    transaction_id: UUID
    amount: int


class Pass(Aggregate):
    template_id: UUID | None
    client_ids: tuple[UUID, ...]
    branch_id: UUID
    city: str
    lesson_type: str
    price: int  # list price at sale (minor units)
    discount: int  # the client's discount at sale
    paid: int  # paid for this pass (at sale, or payments naming it)
    lessons_total: int
    remaining: int
    unit: int
    value: int
    recognised: int = 0
    valid_from: date
    valid_until: date
    payment: PaymentMode
    origin: Origin = "sale"
    status: PassStatus = "active"
    transactions: tuple[UUID, ...] = ()  # every journal transaction this pass posted (§4.9)
    transferred_out: int = 0  # lessons given to other clients (§4.10)
    paused: tuple[Pause, ...] = ()  # the freezes that moved it (§4.6), at sale or later
    written_off: tuple[WriteOffShare, ...] = ()  # write-offs that settled its debt (§6.3)

    @property
    def billed(self) -> int:
        return self.price - self.discount

    @property
    def written_off_total(self) -> int:
        return sum(w.amount for w in self.written_off)

    @property
    def owed(self) -> int:
        """What the client still owes for this pass: its charge less what was paid for it and
        what write-offs settled (§6.3). Payments not naming a pass are not counted here."""
        if self.status != "active":
            return 0
        return max(0, self.billed - min(self.paid, self.billed) - self.written_off_total)

    @property
    def unearned(self) -> int:
        return self.value - self.recognised

    @property
    def payer_id(self) -> UUID:
        """Whose account a multi-client pass is charged to: the first client named at sale."""
        return self.client_ids[0]

    def valid_on(self, day: date) -> bool:
        return self.status == "active" and self.valid_from <= day <= self.valid_until

    def usable_on(self, day: date) -> bool:
        return self.valid_on(day) and self.remaining > 0

    def lesson_values(self) -> list[int]:
        """The values of the remaining lessons, in the order they will be consumed."""
        out, left = [], self.unearned
        for i in range(self.remaining):
            v = left if i == self.remaining - 1 else min(self.unit, left)
            out.append(v)
            left -= v
        return out

    def first_value(self, count: int) -> int:
        """What the next ``count`` lessons are worth together: ``sum(lesson_values()[:count])``
        without the list (each is ``unit`` while value is left, the last takes the rest)."""
        if count >= self.remaining:
            return self.unearned
        return min(count * self.unit, self.unearned)

    def last_value(self, count: int) -> int:
        """What the last ``count`` remaining lessons are worth (they leave in a transfer, §4.10)."""
        return self.unearned - self.first_value(self.remaining - count)

    def figures(self) -> dict[str, Any]:
        return {"remaining": self.remaining, "lessons_total": self.lessons_total, "valid_from": self.valid_from,
                "valid_until": self.valid_until, "client_ids": self.client_ids, "status": self.status}


class _PassEvent(Event):
    """Pass events carry the pass's figures after them (see the module comment)."""

    remaining: int
    lessons_total: int
    valid_from: date
    valid_until: date
    client_ids: tuple[UUID, ...]
    status: PassStatus = "active"


class PassSold(_PassEvent):
    template_id: UUID | None
    branch_id: UUID
    city: str
    lesson_type: str
    price: int
    discount: int
    paid: int
    unit: int
    value: int
    payment: PaymentMode
    origin: Origin = "sale"
    transactions: tuple[UUID, ...] = ()
    source_pass_id: UUID | None = None  # recalculation or lesson transfer: where it came from
    paused: tuple[Pause, ...] = ()  # holders' freezes recorded before the sale that moved valid_until (§2.4)

    # v2 adds ``paused``. Stored v1 sales were paused at sale without saying by what; they
    # load with none, which is all they can truthfully say (docs/accounting.md).
    class_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["paused"] = []

    def apply(self, state: Any) -> Pass:
        return self.birth(
            Pass, template_id=self.template_id, client_ids=self.client_ids, branch_id=self.branch_id, city=self.city,
            lesson_type=self.lesson_type, price=self.price, discount=self.discount, paid=self.paid,
            lessons_total=self.lessons_total, remaining=self.remaining, unit=self.unit, value=self.value,
            valid_from=self.valid_from, valid_until=self.valid_until, payment=self.payment, origin=self.origin,
            transactions=self.transactions, paused=self.paused,
        )


class PassLessonsUsed(_PassEvent):
    """Lessons consumed: by a visit (``visit_id``) or virtually (§4.4)."""

    count: int
    value: int  # revenue recognised for them
    transaction_id: UUID | None = None
    visit_id: UUID | None = None

    def apply(self, state: Pass) -> Pass:
        txs = (*state.transactions, self.transaction_id) if self.transaction_id else state.transactions
        return self.evolve(state, remaining=self.remaining, recognised=state.recognised + self.value, transactions=txs)


class PassLessonReturned(_PassEvent):
    """A cancelled visit gives its lesson back (§4.3); its revenue is reversed."""

    visit_id: UUID
    value: int

    def apply(self, state: Pass) -> Pass:
        return self.evolve(state, remaining=self.remaining, recognised=state.recognised - self.value)


class PassValidityChanged(_PassEvent):
    """Extended (§4.5, maybe with bonus lessons), corrected (§4.5), or moved by a freeze (§4.6)."""

    change: Literal["extend", "correct", "freeze"]
    bonus_lessons: int = 0
    frozen_days: int = 0
    paused: tuple[Pause, ...] = ()  # change "freeze": the holder's freeze period that moved it

    # v2 adds ``paused``. A stored v1 freeze says how many days it moved the pass, not which
    # period: it loads with none (docs/accounting.md: passes moved before v2).
    class_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["paused"] = []

    def apply(self, state: Pass) -> Pass:
        return self.evolve(state, valid_from=self.valid_from, valid_until=self.valid_until,
                           remaining=self.remaining, lessons_total=self.lessons_total,
                           paused=(*state.paused, *self.paused))


class PassBroken(_PassEvent):
    """Breakage (§6.3): at expiry the value of the lessons never taken becomes revenue."""

    value: int
    transaction_id: UUID

    def apply(self, state: Pass) -> Pass:
        return self.evolve(state, recognised=state.recognised + self.value,
                           transactions=(*state.transactions, self.transaction_id))


class PassPaid(_PassEvent):
    """A payment naming this pass (API receive_payment ``pass_id``): counts as paid for §4.8."""

    amount: int
    transaction_id: UUID

    def apply(self, state: Pass) -> Pass:
        return self.evolve(state, paid=state.paid + self.amount)


class PassPaymentCancelled(_PassEvent):
    """§6.4: a payment for this pass (at sale, or naming it) was cancelled in error: it no
    longer counts as paid, so a refund (§4.8) does not pay it out."""

    amount: int
    transaction_id: UUID
    reversal_id: UUID

    def apply(self, state: Pass) -> Pass:
        return self.evolve(state, paid=max(0, state.paid - self.amount))


def cancel_payment(p: Pass, meta: Meta, amount: int, transaction_id: UUID, reversal_id: UUID) -> list[Event]:
    """§6.4 with §4.8: the pass counts ``amount`` less as paid (nothing when it counted none)."""
    if p.paid == 0 or amount <= 0:
        return []
    return [PassPaymentCancelled.next(p, meta, amount=amount, transaction_id=transaction_id, reversal_id=reversal_id,
                                      **p.figures())]


class PassWrittenOff(_PassEvent):
    """§6.3 "the debt on the pass is settled": a write-off of the client's debt in the pass's
    city took ``amount`` of what the pass still owed; a refund (§4.8) no longer settles it."""

    amount: int
    transaction_id: UUID

    def apply(self, state: Pass) -> Pass:
        return self.evolve(state, written_off=(*state.written_off,
                                               WriteOffShare(transaction_id=self.transaction_id, amount=self.amount)))


class PassWriteOffCancelled(_PassEvent):
    """§6.4: the write-off was cancelled in error; the pass owes its share again."""

    transaction_id: UUID
    reversal_id: UUID

    def apply(self, state: Pass) -> Pass:
        return self.evolve(state, written_off=tuple(w for w in state.written_off
                                                    if w.transaction_id != self.transaction_id))


def settle_by_write_off(passes: Iterable[Pass], meta: Meta, amount: int,
                        transaction_id: UUID) -> list[Event]:
    """§6.3: a write-off of ``amount`` settles the debt of the ``passes`` (the client's, in the
    write-off's city, oldest sale first) up to what each still owes; the rest of the amount
    was other debt (charged visits, corrections) and settles no pass."""
    events: list[Event] = []
    left = amount
    for p in passes:
        share = min(left, p.owed)
        if share <= 0:
            continue
        events.append(PassWrittenOff.next(p, meta, amount=share, transaction_id=transaction_id, **p.figures()))
        left -= share
        if left == 0:
            break
    return events


def cancel_write_off(p: Pass, meta: Meta, transaction_id: UUID, reversal_id: UUID) -> list[Event]:
    """§6.4: the pass's share of a cancelled write-off is owed again (nothing when it had none)."""
    if not any(w.transaction_id == transaction_id for w in p.written_off):
        return []
    return [PassWriteOffCancelled.next(p, meta, transaction_id=transaction_id, reversal_id=reversal_id,
                                       **p.figures())]


class LessonsTransferredOut(_PassEvent):
    """§4.10: lessons leave for another client's pass, with their deferred value."""

    count: int
    value: int
    to_client_id: UUID
    to_pass_id: UUID

    def apply(self, state: Pass) -> Pass:
        return self.evolve(state, remaining=self.remaining, lessons_total=self.lessons_total,
                           value=state.value - self.value, transferred_out=state.transferred_out + self.count)


class PassEnded(_PassEvent):
    """Voided (§4.9), refunded (§4.8) or recalculated into another pass (§4.7): no lessons left."""

    transaction_ids: tuple[UUID, ...] = ()
    successor_id: UUID | None = None
    refund_amount: int | None = None

    def apply(self, state: Pass) -> Pass:
        released = state.unearned if self.status in ("refunded", "recalculated") else 0
        return self.evolve(state, status=self.status, remaining=0, recognised=state.recognised + released,
                           transactions=(*state.transactions, *self.transaction_ids))


def figures(p: Pass, **changes: Any) -> dict[str, Any]:
    out = p.figures()
    out.update(changes)
    return out


def check_active(p: Pass) -> None:
    if p.status != "active":
        raise Conflict(f"pass_{p.status}", f"this pass is {p.status}", pass_id=str(p.id), status=p.status)


def use_lessons(p: Pass, meta: Meta, count: int, *, transaction_id: UUID | None, visit_id: UUID | None,
                day: date | None = None) -> tuple[int, list[Event]]:
    """Consume ``count`` lessons; returns the revenue they recognise and the event."""
    check_active(p)
    if count < 1:
        raise Invalid("invalid_count", "at least one lesson")
    if count > p.remaining:
        raise Conflict("not_enough_lessons", f"the pass has {p.remaining} lessons left", remaining=p.remaining)
    if day is not None and not p.valid_on(day):
        raise Conflict("pass_not_valid", f"the pass is valid {p.valid_from}..{p.valid_until}")
    value = p.first_value(count)
    return value, [PassLessonsUsed.next(p, meta, count=count, value=value, transaction_id=transaction_id,
                                        visit_id=visit_id, **figures(p, remaining=p.remaining - count))]


def return_lesson(p: Pass, meta: Meta, visit_id: UUID, value: int) -> list[Event]:
    check_active(p)
    return [PassLessonReturned.next(p, meta, visit_id=visit_id, value=value, **figures(p, remaining=p.remaining + 1))]


def change_validity(p: Pass, meta: Meta, change: Literal["extend", "correct", "freeze"], *, valid_from: date,
                    valid_until: date, bonus_lessons: int = 0, frozen_days: int = 0,
                    paused: tuple[Pause, ...] = ()) -> list[Event]:
    check_active(p)
    if valid_until < valid_from:
        raise Invalid("invalid_period", "a pass ends on or after the day it starts",
                      valid_from=valid_from.isoformat(), valid_until=valid_until.isoformat())
    if bonus_lessons < 0:
        raise Invalid("invalid_bonus", "bonus lessons cannot be negative")
    return [PassValidityChanged.next(p, meta, change=change, bonus_lessons=bonus_lessons, frozen_days=frozen_days,
                                     paused=paused, **figures(p, valid_from=valid_from, valid_until=valid_until,
                                               remaining=p.remaining + bonus_lessons,
                                               lessons_total=p.lessons_total + bonus_lessons))]


# ---- freezes (DOMAIN §2.4, §4.6) ----------------------------------------------------------
#
# The rule, where the specification and the seeds are silent (docs/accounting.md, pass
# lifecycle): a pass is paused on a day when any of its holders is frozen that day, and
# each calendar day moves it at most once, however many holders are frozen then.
#
# Validity is paused, not merely lengthened: a freeze counts its days that lie inside the
# validity as it stands when the freeze is recorded (already moved by earlier freezes) and
# that no freeze which moved the pass before covered; those days resume after the end,
# on days when no holder is frozen. So a pass valid 1–30 December frozen 25 December –
# 10 January had 6 days left at the freeze's start: they run 11–16 January, not to
# 5 January inside the freeze. A freeze that moved the pass, or that the end moved over,
# is kept on it whole (``Pass.paused``), days beyond the end included: a sibling frozen
# later on those days adds nothing. A freeze that moves nothing (all its days outside the
# validity, or already paused) is not kept, so it emits no event.


def unpaused_days(paused: Iterable[Pause], lo: date, hi: date) -> int:
    """The days of ``[lo, hi]`` (0 when empty) that lie in none of the ``paused`` periods."""
    if hi < lo:
        return 0
    covered: list[tuple[date, date]] = sorted((max(lo, q.start), min(hi, q.end)) for q in paused
                                              if q.start <= hi and lo <= q.end)
    count, upto = (hi - lo).days + 1, lo - timedelta(days=1)  # ``upto``: last day already subtracted
    for a, b in covered:
        a = max(a, upto + timedelta(days=1))
        if a <= b:
            count -= (b - a).days + 1
            upto = b
    return count


def resume_after(end: date, days: int, frozen: Iterable[Pause]) -> tuple[date, tuple[Pause, ...]]:
    """The end moved by ``days`` days on which none of the ``frozen`` periods runs: the days
    a freeze took from the validity resume after it. Returns the new end and the periods
    it moved over."""
    periods = sorted(set(frozen), key=lambda q: (q.start, q.end))
    skipped: list[Pause] = []
    day = end
    while days > 0:
        day += timedelta(days=1)
        covering = [q for q in periods if q.start <= day <= q.end]
        if covering:
            skipped += [q for q in covering if q not in skipped]
            day = max(q.end for q in covering)
            continue
        days -= 1
    return day, tuple(skipped)


def frozen_overlap(p: Pass, start: date, end: date) -> int:
    """§4.6: the days of the freeze ``[start, end]`` that overlap the pass's validity (as
    already moved) and for which it was not paused yet by another holder's freeze."""
    return unpaused_days(p.paused, max(p.valid_from, start), min(p.valid_until, end))


def pause(p: Pass, meta: Meta, start: date, end: date, recorded: Iterable[tuple[date, date]] = ()) -> list[Event]:
    """§2.4, §4.6: a holder frozen ``[start, end]`` pauses the pass for its new frozen days
    overlapping the validity; they resume after the end on days no holder is frozen
    (``recorded``: every holder's freezes, which the end may move over). Nothing when
    there are none (or the pass is no longer active). ``frozen_days`` is the whole move."""
    days = frozen_overlap(p, start, end)
    if p.status != "active" or days == 0:
        return []
    this = Pause(start=start, end=end)
    until, skipped = resume_after(p.valid_until, days,
                                  (*p.paused, this, *(Pause(start=a, end=b) for a, b in recorded)))
    kept = tuple(q for q in dict.fromkeys((this, *skipped)) if q not in p.paused)
    return change_validity(p, meta, "freeze", valid_from=p.valid_from, valid_until=until,
                           frozen_days=(until - p.valid_until).days, paused=kept)


def paused_at_sale(valid_from: date, valid_until: date,
                   freezes: Iterable[tuple[date, date]]) -> tuple[date, tuple[Pause, ...]]:
    """§2.4 at sale: the holders' freezes already recorded, met in date order as the end
    moves, each by the rule of ``pause``. Returns the moved end and the freezes that moved it."""
    met: list[Pause] = []
    paused: tuple[Pause, ...] = ()
    for start, end in sorted(set(freezes)):
        this = Pause(start=start, end=end)
        met.append(this)
        days = unpaused_days(paused, max(valid_from, start), min(valid_until, end))
        if days:
            valid_until, skipped = resume_after(valid_until, days, met)
            paused = tuple(dict.fromkeys((*paused, this, *skipped)))
    return valid_until, paused


# ---- the client's pass index -------------------------------------------------------------
#
# A small aggregate per client listing their passes with the figures that choose one
# (type, validity, sale order). A visit reads it and the few passes valid that day, so no
# long stream is replayed on the hot path, however many passes and visits a client has.


class PassEntry(Immutable):
    pass_id: UUID
    lesson_type: str
    valid_from: date
    valid_until: date
    sold_at: datetime
    open: bool = True  # False once voided, refunded or recalculated
    used_up: bool = False  # no lessons left (until one comes back): never a visit's candidate


class ClientPasses(Aggregate):
    client_id: UUID
    entries: tuple[PassEntry, ...] = ()

    def candidates(self, lesson_type: str, day: date) -> list[PassEntry]:
        """§4.3: valid passes of the type that day, the one expiring first first, ties by oldest sale."""
        found = [e for e in self.entries if e.open and not e.used_up and e.lesson_type == lesson_type
                 and e.valid_from <= day <= e.valid_until]
        return sorted(found, key=lambda e: (e.valid_until, e.sold_at, str(e.pass_id)))

    def overlapping(self, lesson_type: str, start: date, end: date) -> list[PassEntry]:
        return [e for e in self.entries if e.open and not e.used_up and e.lesson_type == lesson_type
                and e.valid_from <= end and start <= e.valid_until]


class ClientPassAdded(Event):
    client_id: UUID
    entry: PassEntry

    def apply(self, state: ClientPasses | None) -> ClientPasses:
        if state is None:
            state = ClientPasses(id=self.originator_id, version=0, tenant_id=self.tenant_id,
                                 created_on=self.timestamp, modified_on=self.timestamp, client_id=self.client_id)
        return self.evolve(state, entries=(*state.entries, self.entry))


class ClientPassChanged(Event):
    entry: PassEntry

    def apply(self, state: ClientPasses) -> ClientPasses:
        return self.evolve(state, entries=tuple(self.entry if e.pass_id == self.entry.pass_id else e
                                                for e in state.entries))


def index_id(client_id: UUID) -> UUID:
    return uuid.uuid5(client_id, "passes")


def entry_of(p: Pass) -> PassEntry:
    return PassEntry(pass_id=p.id, lesson_type=p.lesson_type, valid_from=p.valid_from, valid_until=p.valid_until,
                     sold_at=p.created_on, open=p.status == "active", used_up=p.remaining == 0)


def index_add(idx: ClientPasses | None, meta: Meta, client_id: UUID, p: Pass) -> list[Event]:
    version = (idx.version if idx else 0) + 1
    return [ClientPassAdded.make(meta, index_id(client_id), version, client_id=client_id, entry=entry_of(p))]


def index_sync(idx: ClientPasses, meta: Meta, p: Pass) -> list[Event]:
    entry = entry_of(p)
    old = next((e for e in idx.entries if e.pass_id == p.id), None)
    if old is None or old.model_copy(update={"sold_at": entry.sold_at}) == entry:
        return []
    return [ClientPassChanged.next(idx, meta, entry=entry.model_copy(update={"sold_at": old.sold_at}))]


# ---- visits (DOMAIN §7.1, §4.3) ------------------------------------------------------------


class Visit(Aggregate):
    client_id: UUID
    lesson_type: str
    day: date
    status: Literal["attended", "absent"]
    group_id: UUID | None = None
    lesson_id: UUID | None = None  # marked on a scheduled lesson (DOMAIN §7.4)
    pass_id: UUID | None = None
    value: int = 0  # revenue recognised from the pass
    transaction_id: UUID | None = None  # the revenue or the single-visit charge
    charged: bool = False
    cancelled: bool = False


class VisitRecorded(Event):
    client_id: UUID
    lesson_type: str
    day: date
    status: Literal["attended", "absent"]
    group_id: UUID | None = None
    lesson_id: UUID | None = None
    pass_id: UUID | None = None
    value: int = 0
    transaction_id: UUID | None = None
    charged: bool = False

    def apply(self, state: Any) -> Visit:
        return self.birth(Visit, client_id=self.client_id, lesson_type=self.lesson_type, day=self.day,
                          status=self.status, group_id=self.group_id, lesson_id=self.lesson_id,
                          pass_id=self.pass_id, value=self.value,
                          transaction_id=self.transaction_id, charged=self.charged)


class VisitCancelled(Event):
    client_id: UUID
    pass_id: UUID | None = None
    lesson_returned: bool = False
    reversal_id: UUID | None = None

    def apply(self, state: Visit) -> Visit:
        return self.evolve(state, cancelled=True)
