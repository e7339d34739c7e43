"""The money terms of ending a pass, decided from the pass alone: the recalculation offer
(DOMAIN §4.7) and the refund (§4.8). The commands and their previews both decide here,
so what a preview shows is what the command would post."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from classledger.aggregates.errors import Conflict
from classledger.aggregates.passes import Pass, check_active
from classledger.ledger import posting
from classledger.ledger.posting import RefundTerms


@dataclass(frozen=True, slots=True)
class Offer:
    template_id: UUID
    price: int
    difference: int  # price − discount − actual value; positive: the client pays it


@dataclass(frozen=True, slots=True)
class TemplatePrice:
    template_id: UUID
    price: int
    multi_client: bool = False


def actual_value(p: Pass) -> int:
    """§4.7 for an active pass that still holds lessons of its own."""
    check_active(p)
    if p.lessons_total == 0:
        raise Conflict("no_lessons", "every lesson of this pass went to other clients; nothing to recalculate")
    return posting.actual_value(p.price, p.lessons_total, p.remaining)


def recalculation_offers(p: Pass, templates: Sequence[TemplatePrice], discount: Callable[[int], int]) -> list[Offer]:
    """The templates a pass may switch to (§4.7): priced at least its actual value (and, for a
    shared pass, multi-client ones), cheapest first, each with its difference after the
    client's discount on its price."""
    actual = actual_value(p)
    fits = {t.template_id: t for t in templates if len(p.client_ids) == 1 or t.multi_client}
    offered = posting.offered_templates(actual, {t.template_id: t.price for t in fits.values()})
    return [Offer(t, fits[t].price, posting.recalculation_difference(actual=actual, new_price=fits[t].price,
                                                                     discount=discount(fits[t].price)))
            for t in offered]


def refund_terms(p: Pass, single_visit_price: int, amount: int | None = None) -> RefundTerms:
    """§4.8 for an active pass that was paid for here (not lessons transferred in)."""
    check_active(p)
    if p.origin == "transfer":
        raise Conflict("not_paid_for", "these lessons came from another client's pass: nothing was paid for them "
                       "here; transfer them back instead", origin=p.origin)
    return posting.refund_terms(billed=p.billed, price_paid=p.paid, lessons_total=p.lessons_total,
                                lessons_remaining=p.remaining, single_visit_price=single_visit_price, amount=amount,
                                written_off=p.written_off_total)
