"""Posting rules (DOMAIN §6.3, §4.3, §4.7, §4.8): what each money fact posts, decided once.

Every rule takes the ids and the instant of the transactions it makes (nothing here
reads a clock or invents an id) and returns balanced ``JournalTransaction``s in integer
minor units of one currency. Debit is positive, credit negative. Worked numbers, EUR,
a 10-lesson group pass at 120.00 with a 12.00 family discount, paid in cash:

  sale (sale)            receivable +108.00, income:discounts +12.00, deferred:group −120.00
  payment (payment)      cash +108.00, receivable −108.00
  a lesson (revenue)     deferred:group +12.00, income:lessons:group −12.00   (120.00 / 10)
  breakage (revenue)     deferred:group +value left, income:lessons:group −value left
  visit, no pass         receivable +single-visit price, income:lessons:<type> −same
  (visit_charge)
  discount after a sale  income:discounts +d, receivable −d
  (discount)
  write-off (write_off)  expenses:bad_debt +a, receivable −a
  correction             receivable +a, income:corrections −a  (a signed; + the client owes more)
  (correction)

The sale is posted at the list price: deferred revenue holds the full value of the
lessons and the discount is a contra-income, so income:lessons shows what lessons are
worth and income:discounts what was given away (§6.3). Refund and recalculation are
explained at their functions. A void (§4.9) is ``journal.reversal_of`` applied to every
transaction of the sale (and of any lesson already recognised from it).

A rule whose amounts come out as zero because of the business figures (a free pass, a
lesson worth less than a cent) returns None or leaves the transaction out: nothing
moved, and a transaction of zeros is refused. A rule given an amount the command layer
must refuse (a payment of zero, a negative price) raises ValueError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from classledger.ledger import accounts as acc
from classledger.ledger.journal import (
    JournalTransaction,
    TransactionKind,
    merge_postings,
    transaction,
)
from classledger.ledger.money import round_half_up

K = TransactionKind
CORRECTIONS = acc.INCOME_CORRECTIONS


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be more than zero, not {value}")


def _not_negative(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must be zero or more (not negative), got {value}")


def _links(*ids: UUID | None) -> tuple[UUID, ...]:
    return tuple(dict.fromkeys(i for i in ids if i is not None))


# ---- values -------------------------------------------------------------------------


def lesson_value(price: int, lessons: int, lesson_index: int) -> int:
    """Revenue recognised for the ``lesson_index``-th lesson (1-based) of a pass (§6.3).

    Each lesson is worth price / lessons rounded down to the minor unit, and the last
    lesson takes the remainder, so the lessons of a pass add up to its price exactly and
    none is negative. (Half-up rounding of each lesson could make the last one negative:
    0.07 EUR over 12 lessons rounds each to 0.01, leaving −0.04 for the last.)
    120.00 / 10: every lesson 12.00. 100.00 / 3: 33.33, 33.33, 33.34.
    """
    _not_negative("a pass's price", price)
    if lessons < 1 or not 1 <= lesson_index <= lessons:
        raise ValueError(f"a lesson index runs from 1 to {lessons}, not {lesson_index}")
    base = price // lessons
    return price - base * (lessons - 1) if lesson_index == lessons else base


def unearned_value(price: int, lessons: int, consumed: int) -> int:
    """Deferred revenue still held for a pass after ``consumed`` lessons (§6.3).

    The sum of the values of the lessons not yet given, so breakage, refund and
    recalculation release exactly what the sale put in deferred revenue. 120.00 / 10
    after 6 lessons: 48.00.
    """
    _not_negative("a pass's price", price)
    if lessons < 1 or not 0 <= consumed <= lessons:
        raise ValueError(f"consumed lessons run from 0 to {lessons}, not {consumed}")
    return price - (price // lessons) * consumed if consumed < lessons else 0


def transferred_value(price: int, lessons: int, count: int) -> int:
    """The deferred value that leaves a pass with ``count`` of its lessons (§4.10).

    A lesson transfer moves no money: deferred revenue is kept per lesson type, not per
    client, and neither client's account changes, so there is no journal transaction.
    What moves is the lessons' value, which the two passes must carry so that revenue is
    recognised exactly: the lessons leave from the end of the pass (they include the
    one that carries the rounding remainder), the giving pass continues as
    ``(price − moved, lessons − count)`` with its earlier lessons' values unchanged, and
    the receiving side holds a lot of ``(moved, count)`` valued with ``lesson_value``.
    120.00 / 10, 3 lessons moved: 36.00 leaves; 100.00 / 3, 1 moved: 33.34 leaves.
    """
    _not_negative("a pass's price", price)
    if lessons < 1 or not 1 <= count <= lessons:
        raise ValueError(f"between 1 and {lessons} lessons can move, not {count}")
    return price - (price // lessons) * (lessons - count)


def discount_amount(price: int, kind: Literal["absolute", "percent"], value: int) -> int:
    """A client's discount on a price (§6.3): absolute minor units, or percent in basis points.

    Never more than the price, so a sale never owes the client money. 12.5 % of 120.00
    is 15.00 (value 1250); 10 % of 9.99 is 1.00 (0.999, half up).
    """
    _not_negative("a discount", value)
    _not_negative("a price", price)
    if kind == "absolute":
        return min(value, price)
    return min(price, round_half_up(price * value, 10_000))


# ---- sale and payment ---------------------------------------------------------------


def sale(
    id: UUID,
    at: datetime,
    currency: str,
    *,
    client_id: UUID,
    city: str,
    lesson_type: str,
    price: int,
    discount: int = 0,
    pass_id: UUID | None = None,
    branch_id: UUID | None = None,
    related: tuple[UUID, ...] = (),
) -> JournalTransaction | None:
    """A pass sold (§4.2, §6.3): the client owes the price less the discount; the
    lessons are owed to them at the list price; the discount is contra-income.

    120.00 with 12.00 off: receivable +108.00, income:discounts +12.00,
    deferred:group −120.00. A free pass (price 0) posts nothing: None.
    """
    _not_negative("a pass's price", price)
    if not 0 <= discount <= price:
        raise ValueError(f"a discount runs from 0 to the price {price}, not {discount}")
    if price == 0:
        return None
    return transaction(id, at, K.SALE, currency, [
        (acc.receivable(client_id, city), price - discount),
        (acc.INCOME_DISCOUNTS, discount),
        (acc.deferred(lesson_type), -price),
    ], client_id=client_id, city=city, branch_id=branch_id, related=_links(pass_id, *related))


def payment(
    id: UUID,
    at: datetime,
    currency: str,
    *,
    client_id: UUID,
    city: str,
    branch_id: UUID,
    method: str,
    amount: int,
    related: tuple[UUID, ...] = (),
) -> JournalTransaction:
    """Money received (§6.3): cash or bank of the branch up, the client's account down.

    50.00 by card: assets:bank:<branch> +50.00, receivable −50.00.
    """
    _positive("a payment", amount)
    return transaction(id, at, K.PAYMENT, currency, [
        (acc.money_account(method, branch_id), amount),
        (acc.receivable(client_id, city), -amount),
    ], client_id=client_id, city=city, branch_id=branch_id, related=related)


def paid_sale(
    ids: tuple[UUID, UUID],
    at: datetime,
    currency: str,
    *,
    client_id: UUID,
    city: str,
    branch_id: UUID,
    method: str,
    lesson_type: str,
    price: int,
    discount: int = 0,
    pass_id: UUID | None = None,
) -> list[JournalTransaction]:
    """A ``paid`` sale (§4.2, §6.3): the sale and its payment, two transactions that name
    each other and post together. A pass given away entirely by discount needs no
    payment, and a free pass posts nothing."""
    sale_id, payment_id = ids
    due = price - discount
    charged = sale(sale_id, at, currency, client_id=client_id, city=city, lesson_type=lesson_type, price=price,
                   discount=discount, pass_id=pass_id, branch_id=branch_id,
                   related=(payment_id,) if due > 0 else ())
    if charged is None:
        return []
    if due == 0:
        return [charged]
    paid = payment(payment_id, at, currency, client_id=client_id, city=city, branch_id=branch_id, method=method,
                   amount=due, related=_links(sale_id, pass_id))
    return [charged, paid]


# ---- lessons ------------------------------------------------------------------------


def lesson_consumed(
    id: UUID,
    at: datetime,
    currency: str,
    *,
    lesson_type: str,
    value: int,
    client_id: UUID | None = None,
    related: tuple[UUID, ...] = (),
) -> JournalTransaction | None:
    """A lesson given from a pass (§4.3, §6.3): its value moves from deferred to income.

    12.00: deferred:group +12.00, income:lessons:group −12.00. A lesson worth 0 (a
    pass priced below one minor unit per lesson) posts nothing: None.
    """
    _not_negative("a lesson's value", value)
    if value == 0:
        return None
    return transaction(id, at, K.REVENUE, currency, [
        (acc.deferred(lesson_type), value),
        (acc.income_lessons(lesson_type), -value),
    ], client_id=client_id, related=related)


def breakage(
    id: UUID,
    at: datetime,
    currency: str,
    *,
    lesson_type: str,
    remaining: int,
    client_id: UUID | None = None,
    related: tuple[UUID, ...] = (),
) -> JournalTransaction | None:
    """Lessons never taken by expiry (§6.3): their deferred value (``remaining``, minor
    units, see ``unearned_value``) becomes revenue, like lessons given. Restoring the
    pass later (§4.5) gives its bonus lessons at no value. None when nothing is left."""
    return lesson_consumed(id, at, currency, lesson_type=lesson_type, value=remaining, client_id=client_id,
                           related=related)


def visit_charge(
    id: UUID,
    at: datetime,
    currency: str,
    *,
    client_id: UUID,
    city: str,
    lesson_type: str,
    price: int,
    branch_id: UUID | None = None,
    related: tuple[UUID, ...] = (),
) -> JournalTransaction | None:
    """A visit with no valid pass (§4.3), charged at the single-visit price: the client
    owes it and it is revenue at once, since the lesson was given. 15.00: receivable
    +15.00, income:lessons:group −15.00. A free single visit posts nothing: None."""
    _not_negative("a single-visit price", price)
    if price == 0:
        return None
    return transaction(id, at, K.VISIT_CHARGE, currency, [
        (acc.receivable(client_id, city), price),
        (acc.income_lessons(lesson_type), -price),
    ], client_id=client_id, city=city, branch_id=branch_id, related=related)


# ---- refund (§4.8) ------------------------------------------------------------------


def refund_amount(*, price_paid: int, lessons_total: int, lessons_remaining: int, single_visit_price: int) -> int:
    """§4.8: the lessons taken are re-priced at the single-visit price; the rest goes back.

    consumed_value = (lessons_total − lessons_remaining) × single_visit_price;
    refund = max(0, price_paid − consumed_value). 100.00 paid, 10 lessons, 6 left,
    single visit 12.00: 100.00 − 4 × 12.00 = 52.00.
    """
    for name, value in (("price paid", price_paid), ("single-visit price", single_visit_price)):
        _not_negative(name, value)
    if not 0 <= lessons_remaining <= lessons_total:
        raise ValueError(f"remaining lessons run from 0 to {lessons_total}, not {lessons_remaining}")
    consumed_value = (lessons_total - lessons_remaining) * single_visit_price
    return max(0, price_paid - consumed_value)


@dataclass(frozen=True, slots=True)
class RefundTerms:
    """The figures of a refund (§4.8), in minor units.

    ``consumed_value`` what the lessons taken cost at the single-visit price;
    ``computed`` the refund by §4.8; ``amount`` what is paid out (``computed`` unless
    staff set it by hand); ``settled`` how much of the pass's charge the refund cancels
    on the client's account; ``owed_after`` what the client still owes for the pass.
    """

    consumed_value: int
    computed: int
    amount: int
    settled: int
    owed_after: int


def refund_terms(
    *,
    billed: int,
    price_paid: int,
    lessons_total: int,
    lessons_remaining: int,
    single_visit_price: int,
    amount: int | None = None,
    written_off: int = 0,
) -> RefundTerms:
    """A refund re-prices the pass at what was taken (§4.8) and ends it.

    The pass's final charge is ``min(billed, consumed_value)``: the client pays for
    the lessons taken at the single-visit price, never more than the pass cost. Its
    charge on the client's account shrinks from ``billed`` to that (``settled`` is the
    difference), and whatever the client paid above it is paid out. A hand-set
    ``amount`` moves ``settled`` by the same sum, so the override is the school's
    concession (or surcharge) and never a debt of the client: the client ends owing
    ``max(0, final charge − paid)`` either way.

    ``billed`` is the price less the sale's discount; ``price_paid`` what was paid for
    the pass (capped at ``billed``: a payment beyond it is a credit on the client's
    account, not part of the pass).

    ``written_off`` is the part of the pass's debt a write-off already settled (§6.3):
    it is no longer on the client's account, so the refund does not cancel it again, and
    it is not paid money, so none of it is paid out. Worked: 120.00 on credit, never
    paid, written off whole, refunded: nothing paid out, nothing settled, nobody owes.
    """
    _not_negative("the billed price", billed)
    _not_negative("a write-off", written_off)
    paid = min(price_paid, billed)
    forgiven = min(written_off, billed - paid)
    computed = refund_amount(price_paid=paid, lessons_total=lessons_total, lessons_remaining=lessons_remaining,
                             single_visit_price=single_visit_price)
    consumed_value = (lessons_total - lessons_remaining) * single_visit_price
    paid_out = computed if amount is None else amount
    _not_negative("a refund", paid_out)
    final_charge = min(billed, consumed_value)
    owed_after = max(0, final_charge - paid - forgiven)
    # The pass's charge still on the account is ``billed − paid − forgiven``; the payout adds
    # ``paid_out`` to it; what remains after the refund is ``owed_after``.
    return RefundTerms(
        consumed_value=consumed_value,
        computed=computed,
        amount=paid_out,
        settled=billed - paid - forgiven + paid_out - owed_after,
        owed_after=owed_after,
    )


def refund(
    ids: tuple[UUID, UUID],
    at: datetime,
    currency: str,
    *,
    client_id: UUID,
    city: str,
    branch_id: UUID,
    method: str,
    amount: int,
    lesson_type: str,
    unearned: int,
    settled: int | None = None,
    pass_id: UUID | None = None,
) -> list[JournalTransaction]:
    """A refunded pass (§4.8): two transactions of kind ``refund`` that post together.

    payout   receivable +amount, cash/bank −amount (the money leaves the branch);
    release  deferred +unearned, receivable −settled, income:lessons −(unearned − settled).

    The release ends the pass: the deferred revenue it still holds (``unearned``, see
    ``unearned_value``) leaves the liability, because no lessons are owed any more;
    ``settled`` of it cancels the pass's charge on the client's account (see
    ``refund_terms``; by default the amount paid out, which is right for a pass paid in
    full); what is left is revenue kept by the school (negative if a hand-set refund
    exceeds it). Worked: 100.00 paid, 4 of 10 lessons taken (recognised 40.00), single
    visit 12.00, so refund 52.00: payout receivable +52.00, cash −52.00; release
    deferred +60.00, receivable −52.00, income:lessons −8.00. The client is square,
    deferred is empty, the school keeps 48.00 = 4 × 12.00.

    A payout of zero, or a release of zeros, is left out: the list holds what posts.
    """
    _not_negative("a refund", amount)
    _not_negative("the unearned value", unearned)
    settle = amount if settled is None else settled
    _not_negative("the settled charge", settle)
    payout_id, release_id = ids
    has_payout, has_release = amount > 0, bool(unearned or settle)
    out: list[JournalTransaction] = []
    if has_payout:
        out.append(transaction(payout_id, at, K.REFUND, currency, [
            (acc.receivable(client_id, city), amount),
            (acc.money_account(method, branch_id), -amount),
        ], client_id=client_id, city=city, branch_id=branch_id,
            related=_links(release_id if has_release else None, pass_id)))
    if has_release:
        out.append(transaction(release_id, at, K.REFUND, currency, [
            (acc.deferred(lesson_type), unearned),
            (acc.receivable(client_id, city), -settle),
            (acc.income_lessons(lesson_type), settle - unearned),
        ], client_id=client_id, city=city, branch_id=branch_id,
            related=_links(payout_id if has_payout else None, pass_id)))
    return out


# ---- debts and corrections ----------------------------------------------------------


def write_off(
    id: UUID,
    at: datetime,
    currency: str,
    *,
    client_id: UUID,
    city: str,
    amount: int,
    branch_id: UUID | None = None,
    related: tuple[UUID, ...] = (),
) -> JournalTransaction:
    """Bad debt (§6.3, §6.6): the client's debt in one city is settled against expenses.
    30.00 in Košice: expenses:bad_debt +30.00, receivable (kosice) −30.00."""
    _positive("a write-off", amount)
    return transaction(id, at, K.WRITE_OFF, currency, [
        (acc.BAD_DEBT, amount),
        (acc.receivable(client_id, city), -amount),
    ], client_id=client_id, city=city, branch_id=branch_id, related=related)


def correction(
    id: UUID,
    at: datetime,
    currency: str,
    *,
    client_id: UUID,
    city: str,
    amount: int,
    branch_id: UUID | None = None,
    related: tuple[UUID, ...] = (),
) -> JournalTransaction:
    """Compensation of a wrong amount (§6.4); ``amount`` signed, + the client owes more.

    +5.00: receivable +5.00, income:corrections −5.00. The other side is income
    because a wrongly charged amount was (and a wrongly low one was not) income; no
    money moved, so it is not cash. It is an account of its own, not
    income:lessons, so that an accountant sees every hand correction in one place and
    lesson revenue stays what the lessons earned.
    """
    if amount == 0:
        raise ValueError("a correction of zero corrects nothing")
    return transaction(id, at, K.CORRECTION, currency, [
        (acc.receivable(client_id, city), amount),
        (acc.INCOME_CORRECTIONS, -amount),
    ], client_id=client_id, city=city, branch_id=branch_id, related=related)


def discount(
    id: UUID,
    at: datetime,
    currency: str,
    *,
    client_id: UUID,
    city: str,
    amount: int,
    branch_id: UUID | None = None,
    related: tuple[UUID, ...] = (),
) -> JournalTransaction:
    """A discount granted after a sale (kind ``discount``, §6.3): the client's account
    goes down and the discount is contra-income, as at a sale. 10.00: income:discounts
    +10.00, receivable −10.00. (A discount known at the sale is inside the sale.)"""
    _positive("a discount", amount)
    return transaction(id, at, K.DISCOUNT, currency, [
        (acc.INCOME_DISCOUNTS, amount),
        (acc.receivable(client_id, city), -amount),
    ], client_id=client_id, city=city, branch_id=branch_id, related=related)


# ---- recalculation (§4.7) -----------------------------------------------------------


def actual_value(price: int, lessons: int, remaining: int) -> int:
    """§4.7: price_current / lessons_current × remaining_current, half up to the minor unit.

    Computed exactly and rounded once: 120.00 / 10 × 4 = 48.00; 100.00 / 3 × 2 =
    66.666… → 66.67.
    """
    _not_negative("a pass's price", price)
    if lessons < 1 or not 0 <= remaining <= lessons:
        raise ValueError(f"remaining lessons run from 0 to {lessons}, not {remaining}")
    return round_half_up(price * remaining, lessons)


def recalculation_difference(*, actual: int, new_price: int, discount: int = 0) -> int:
    """§4.7: difference = price_new − discount − actual_value; positive, the client pays."""
    return new_price - discount - actual


def offered_templates(actual: int, template_prices: Mapping[UUID, int]) -> list[UUID]:
    """§4.7: the templates a pass may switch to are those priced at least its actual value
    (cheapest first, ties by id, so the offer reads the same every time)."""
    return [t for t, p in sorted(template_prices.items(), key=lambda kv: (kv[1], str(kv[0]))) if p >= actual]


offered = offered_templates


def recalculation(
    id: UUID,
    at: datetime,
    currency: str,
    *,
    client_id: UUID,
    city: str,
    old_lesson_type: str,
    old_unearned: int,
    actual: int,
    new_lesson_type: str,
    new_price: int,
    discount: int = 0,
    difference: int | None = None,
    branch_id: UUID | None = None,
    related: tuple[UUID, ...] = (),
) -> JournalTransaction | None:
    """§4.7 in one atomic transaction of kind ``recalculation``, written as its three parts
    (postings to the same account merge):

      old pass refunded at ``actual``: deferred:<old> +old_unearned, receivable −actual,
                                        income:lessons:<old> +(actual − old_unearned)
      new pass sold:                    receivable +(new_price − discount),
                                        income:discounts +discount, deferred:<new> −new_price
      a hand-set difference:            receivable +(agreed − computed),
                                        income:discounts +(computed − agreed)

    The old pass's deferred value (``old_unearned``, see ``unearned_value``) leaves
    deferred revenue entirely, so the old lesson type's deferred account ends where it
    would without this pass; the new type's holds the new price, to be recognised lesson
    by lesson. ``actual`` and ``old_unearned`` differ only by rounding (actual is rounded
    once, lessons are valued down with the remainder on the last) or when ``actual`` is
    computed from a price other than the deferred one; the gap is lesson income. The
    client's account moves by the difference: positive, the client owes it; negative,
    the centre owes it back (§4.7). Both passes are in the same city (§4.7), so one
    ``city``.

    Worked: a 10-lesson group pass at 120.00 with 4 lessons left (6 given, 48.00
    deferred) switched to an individual pass at 200.00: actual 48.00, difference
    152.00; postings deferred:group +48.00, receivable +152.00,
    deferred:individual −200.00. When everything cancels (a pass switched to a template
    of its own type priced at exactly its remaining value, at no difference) nothing
    moves: None.
    """
    _not_negative("the old pass's unearned value", old_unearned)
    _not_negative("the actual value", actual)
    _not_negative("the new price", new_price)
    if not 0 <= discount <= new_price:
        raise ValueError(f"a discount runs from 0 to the price {new_price}, not {discount}")
    computed = recalculation_difference(actual=actual, new_price=new_price, discount=discount)
    agreed = computed if difference is None else difference
    postings = merge_postings([
        (acc.deferred(old_lesson_type), old_unearned),
        (acc.receivable(client_id, city), -actual),
        (acc.income_lessons(old_lesson_type), actual - old_unearned),
        (acc.receivable(client_id, city), new_price - discount),
        (acc.INCOME_DISCOUNTS, discount),
        (acc.deferred(new_lesson_type), -new_price),
        (acc.receivable(client_id, city), agreed - computed),
        (acc.INCOME_DISCOUNTS, computed - agreed),
    ])
    if not postings:
        return None
    return JournalTransaction(id=id, at=at, kind=K.RECALCULATION, currency=currency, postings=postings,
                              client_id=client_id, city=city, branch_id=branch_id, related=related)
