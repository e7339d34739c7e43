"""Posting rules (DOMAIN §6.3, §4.7, §4.8): what each money fact posts, decided once.

Every function takes the ids and the instant of the transactions it makes (nothing here
reads a clock or invents an id) and returns balanced ``JournalTransaction``s. Amounts are
integer minor units of one currency.

Worked numbers, EUR, a 10-lesson group pass at 120.00 with a 12.00 family discount:
  sale       receivable +108.00, income:discounts +12.00, deferred:group -120.00
  payment    cash +108.00, receivable -108.00
  a lesson   deferred:group +12.00, income:lessons:group -12.00   (120.00 / 10)
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from classledger.ledger import accounts as acc
from classledger.ledger.journal import JournalTransaction, TransactionKind, transaction
from classledger.ledger.money import round_half_up

K = TransactionKind


def lesson_value(price: int, lessons: int, index: int) -> int:
    """Revenue recognised for the ``index``-th lesson (1-based) of a pass (§6.3).

    Each lesson is worth price / lessons rounded down to the minor unit, and the last
    lesson takes the remainder, so the lessons of a pass always add up to its price and
    none is negative (rounding up could make the last lesson negative).
    """
    if lessons < 1 or not 1 <= index <= lessons:
        raise ValueError("a lesson index runs from 1 to the number of lessons")
    base = price // lessons
    return price - base * (lessons - 1) if index == lessons else base


def discount_amount(price: int, kind: Literal["absolute", "percent"], value: int) -> int:
    """A client's discount on a price (§6.3): absolute minor units, or percent in basis points."""
    if value < 0:
        raise ValueError("a discount is not negative")
    if kind == "absolute":
        return min(value, price)
    return min(price, round_half_up(price * value, 10_000))


def sale(id: UUID, at: datetime, currency: str, *, client_id: UUID, city: str, lesson_type: str,
         price: int, discount: int = 0, pass_id: UUID | None = None) -> JournalTransaction:
    """A pass sold: the client owes the price less the discount; the lessons are owed to them."""
    return transaction(id, at, K.SALE, currency, [
        (acc.receivable(client_id, city), price - discount),
        (acc.INCOME_DISCOUNTS, discount),
        (acc.deferred(lesson_type), -price),
    ], client_id=client_id, related=(pass_id,) if pass_id else ())


def payment(id: UUID, at: datetime, currency: str, *, client_id: UUID, city: str, branch_id: UUID,
            method: str, amount: int, related: tuple[UUID, ...] = ()) -> JournalTransaction:
    return transaction(id, at, K.PAYMENT, currency, [
        (acc.money_account(method, branch_id), amount),
        (acc.receivable(client_id, city), -amount),
    ], client_id=client_id, related=related)


def lesson_consumed(id: UUID, at: datetime, currency: str, *, lesson_type: str, value: int,
                    client_id: UUID | None = None, related: tuple[UUID, ...] = ()) -> JournalTransaction:
    return transaction(id, at, K.REVENUE, currency, [
        (acc.deferred(lesson_type), value),
        (acc.income_lessons(lesson_type), -value),
    ], client_id=client_id, related=related)


def breakage(id: UUID, at: datetime, currency: str, *, lesson_type: str, remaining: int,
             client_id: UUID | None = None, related: tuple[UUID, ...] = ()) -> JournalTransaction:
    """Lessons never taken by expiry become revenue (§6.3)."""
    return lesson_consumed(id, at, currency, lesson_type=lesson_type, value=remaining, client_id=client_id,
                           related=related)


def visit_charge(id: UUID, at: datetime, currency: str, *, client_id: UUID, city: str, lesson_type: str,
                 price: int) -> JournalTransaction:
    """A visit with no valid pass is charged at the single-visit price (§4.3)."""
    return transaction(id, at, K.VISIT_CHARGE, currency, [
        (acc.receivable(client_id, city), price),
        (acc.income_lessons(lesson_type), -price),
    ], client_id=client_id)


def refund_amount(*, price_paid: int, lessons_total: int, lessons_remaining: int, single_visit_price: int) -> int:
    """§4.8: consumed lessons are re-priced at the single-visit price; the rest goes back."""
    consumed_value = (lessons_total - lessons_remaining) * single_visit_price
    return max(0, price_paid - consumed_value)


def refund(ids: tuple[UUID, UUID], at: datetime, currency: str, *, client_id: UUID, city: str, branch_id: UUID,
           method: str, amount: int, lesson_type: str, unearned: int) -> list[JournalTransaction]:
    """§4.8 in two linked transactions, posted together.

    The payout: the money leaves cash or the bank, debiting the client's account. The
    release: the pass's unearned value leaves deferred revenue, crediting the client's
    account with the refund; what was unearned but not refunded is income (and a refund
    above the unearned value, set by hand, is a loss against income).
    """
    payout_id, release_id = ids
    payout = transaction(payout_id, at, K.REFUND, currency, [
        (acc.receivable(client_id, city), amount),
        (acc.money_account(method, branch_id), -amount),
    ], client_id=client_id, related=(release_id,))
    release = transaction(release_id, at, K.REFUND, currency, [
        (acc.deferred(lesson_type), unearned),
        (acc.receivable(client_id, city), -amount),
        (acc.income_lessons(lesson_type), amount - unearned),
    ], client_id=client_id, related=(payout_id,))
    return [payout, release]


def write_off(id: UUID, at: datetime, currency: str, *, client_id: UUID, city: str, amount: int) -> JournalTransaction:
    """Bad debt (§6.3, §6.6): the client's debt in one city is settled against expenses."""
    return transaction(id, at, K.WRITE_OFF, currency, [
        (acc.BAD_DEBT, amount),
        (acc.receivable(client_id, city), -amount),
    ], client_id=client_id)


CORRECTIONS = "income:corrections"


def correction(id: UUID, at: datetime, currency: str, *, client_id: UUID, city: str, amount: int,
               related: tuple[UUID, ...] = ()) -> JournalTransaction:
    """Compensation (§6.4): +amount means the client owes more; the other side is income,
    in an account of its own so an accountant sees every correction together."""
    return transaction(id, at, K.CORRECTION, currency, [
        (acc.receivable(client_id, city), amount),
        (CORRECTIONS, -amount),
    ], client_id=client_id, related=related)


def actual_value(price: int, lessons: int, remaining: int) -> int:
    """§4.7: price_current / lessons_current × remaining_current, half up to the minor unit."""
    return round_half_up(price * remaining, lessons)


def recalculation(id: UUID, at: datetime, currency: str, *, client_id: UUID, city: str,
                  old_lesson_type: str, old_unearned: int, actual: int,
                  new_lesson_type: str, new_price: int, discount: int = 0,
                  difference: int | None = None, related: tuple[UUID, ...] = ()) -> JournalTransaction:
    """§4.7 as one transaction: the old pass refunded at ``actual``, the new one sold at its
    price less the discount, the client's account moving by the difference. A difference
    set by hand departs from the computed one; the gap is a concession (or surcharge)
    posted to ``income:discounts``."""
    computed = new_price - discount - actual
    agreed = computed if difference is None else difference
    return transaction(id, at, K.RECALCULATION, currency, [
        # the old pass: its unearned value leaves deferred; the client is credited `actual`
        (acc.deferred(old_lesson_type), old_unearned),
        (acc.receivable(client_id, city), -actual),
        (acc.income_lessons(old_lesson_type), actual - old_unearned),
        # the new pass, sold
        (acc.receivable(client_id, city), new_price - discount),
        (acc.INCOME_DISCOUNTS, discount),
        (acc.deferred(new_lesson_type), -new_price),
        # a hand-set difference
        (acc.receivable(client_id, city), agreed - computed),
        (acc.INCOME_DISCOUNTS, computed - agreed),
    ], client_id=client_id, related=related)


def offered(actual: int, template_prices: dict[UUID, int]) -> list[UUID]:
    """§4.7: the templates a pass may switch to are those priced at least its actual value."""
    return [t for t, p in sorted(template_prices.items(), key=lambda kv: (kv[1], str(kv[0]))) if p >= actual]
