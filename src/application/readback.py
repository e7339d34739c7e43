"""Reads served from the event store itself, always current: one pass, one group's
registrations and waitlist, the previews of a pass's recalculation (DOMAIN §4.7) and
refund (§4.8), and the events a client's history names.

The previews decide through ``aggregates.pass_terms``, as the commands do, so a preview
shows what the command would post at that moment; nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from classledger.aggregates import books as b
from classledger.aggregates import pass_terms as pt
from classledger.aggregates.base import Event
from classledger.aggregates.books import ClientAccount
from classledger.aggregates.course import Group
from classledger.aggregates.errors import NotFound
from classledger.aggregates.passes import Pass, PassTemplate
from classledger.aggregates.tenant import Tenant
from classledger.application.service import ClassLedger
from classledger.ledger import posting
from classledger.ledger.money import format_minor

_NOT_DATA = {"originator_id", "tenant_id"}


def _pass(app: ClassLedger, tenant_id: UUID, pass_id: UUID) -> Pass:
    p = app.find(Pass, pass_id, tenant_id)
    if p is None:
        raise NotFound("pass_not_found", f"no pass {pass_id}", id=str(pass_id))
    return p


def _tenant(app: ClassLedger, tenant_id: UUID) -> Tenant:
    t = app.find(Tenant, tenant_id, tenant_id)
    if t is None:
        raise NotFound("tenant_not_found", "this tenant does not exist")
    return t


def pass_view(app: ClassLedger, tenant_id: UUID, pass_id: UUID, today: date) -> dict[str, Any]:
    """One pass (API §7) with its money figures and its state on the tenant's ``today``."""
    p = _pass(app, tenant_id, pass_id)
    cur = _tenant(app, tenant_id).currency
    vf, vu = p.valid_from, p.valid_until
    state = p.status if p.status != "active" else (
        "expired" if vu < today else "future" if vf > today else "used_up" if p.remaining == 0 else "valid")
    return {
        "id": str(p.id), "template_id": str(p.template_id) if p.template_id else None,
        "client_ids": [str(c) for c in p.client_ids], "branch_id": str(p.branch_id), "city": p.city,
        "lesson_type": p.lesson_type, "lessons_total": p.lessons_total, "lessons_remaining": p.remaining,
        "valid_from": vf.isoformat(), "valid_until": vu.isoformat(), "state": state, "status": p.status,
        "payment": p.payment, "origin": p.origin, "price": format_minor(p.price, cur),
        "discount": format_minor(p.discount, cur), "paid": format_minor(p.paid, cur),
        "unearned": format_minor(p.unearned, cur), "transferred_out": p.transferred_out,
        "transaction_ids": [str(t) for t in p.transactions],
        "paused": [{"start": x.start.isoformat(), "end": x.end.isoformat()} for x in p.paused],
        "version": p.version,
    }


def recalculation_preview(app: ClassLedger, tenant_id: UUID, pass_id: UUID, template_ids: Sequence[UUID],
                          only: UUID | None = None) -> dict[str, Any]:
    """§4.7 before the money moves: the pass's actual value and the templates offered,
    each with its difference (positive: the client pays it; after the client's discount)."""
    p = _pass(app, tenant_id, pass_id)
    cur = _tenant(app, tenant_id).currency
    templates = [t for t in (app.find(PassTemplate, i, tenant_id) for i in template_ids) if t is not None]
    if only is not None:
        templates = [t for t in templates if t.id == only]
        if not templates:
            raise NotFound("pass_template_not_found", f"no pass template {only}", id=str(only))
    account = app.find(ClientAccount, b.account_id(p.payer_id), tenant_id)
    standing = account.discount if account is not None else None

    def discount(price: int) -> int:
        return 0 if standing is None else posting.discount_amount(price, standing.kind, standing.value)

    actual = pt.actual_value(p)
    offers = pt.recalculation_offers(p, [pt.TemplatePrice(t.id, t.price, t.multi_client) for t in templates], discount)
    names = {t.id: t for t in templates}
    return {
        "pass_id": str(p.id),
        "actual_value": format_minor(actual, cur),
        "offered_templates": [
            {"id": str(o.template_id), "name": names[o.template_id].name, "lesson_type": names[o.template_id].lesson_type,
             "price": format_minor(o.price, cur), "discount": format_minor(discount(o.price), cur),
             "difference": format_minor(o.difference, cur)}
            for o in offers
        ],
    }


def refund_preview(app: ClassLedger, tenant_id: UUID, pass_id: UUID) -> dict[str, Any]:
    """§4.8 before the money moves: what the lessons taken cost, and the refund."""
    p = _pass(app, tenant_id, pass_id)
    tenant = _tenant(app, tenant_id)
    cur = tenant.currency
    svp = tenant.lesson_type(p.lesson_type).single_visit_price
    terms = pt.refund_terms(p, svp)
    return {
        "pass_id": str(p.id), "price_paid": format_minor(p.paid, cur), "single_visit_price": format_minor(svp, cur),
        "lessons_taken": p.lessons_total - p.remaining, "consumed_value": format_minor(terms.consumed_value, cur),
        "refund": format_minor(terms.computed, cur), "settled": format_minor(terms.settled, cur),
        "owed_after": format_minor(terms.owed_after, cur),
    }


def group_places(app: ClassLedger, tenant_id: UUID, group_id: UUID) -> dict[str, Any] | None:
    """A group's seats, in the order taken, and its waitlist in promotion order (DOMAIN §3.2)."""
    g = app.find(Group, group_id, tenant_id)
    if g is None:
        return None
    return {
        "seats": [{"registration_id": str(s.registration_id), "client_id": str(s.client_id)} for s in g.seats],
        "waitlist": [{"position": n, "registration_id": str(s.registration_id), "client_id": str(s.client_id)}
                     for n, s in enumerate(g.queue, start=1)],
    }


def history_items(app: ClassLedger, tenant_id: UUID, refs: Sequence[tuple[UUID, int]]) -> list[dict[str, Any]]:
    """The events ``refs`` names (aggregate, version), in that order, as history items."""
    by_aggregate: dict[UUID, dict[int, Event]] = {}
    for aggregate_id in dict.fromkeys(a for a, _ in refs):
        by_aggregate[aggregate_id] = {e.originator_version: e for e in app.history(aggregate_id)
                                      if e.tenant_id == tenant_id}
    out = []
    for aggregate_id, version in refs:
        e = by_aggregate[aggregate_id].get(version)
        if e is None:
            continue
        out.append({
            "type": type(e).__name__, "at": e.timestamp.isoformat(), "actor": e.actor, "reason": e.reason,
            "aggregate_id": str(e.originator_id), "version": e.originator_version,
            "data": {k: v for k, v in e.payload().items() if k not in _NOT_DATA},
        })
    return out
