"""The pass commands as pure decisions (DOMAIN §4, §6.3, §7.1): each refusal code of a sale,
a visit, a change, breakage, recalculation, refund, void and lesson transfer, and the
money invariants with hypothesis: a sale's lessons carry exactly its value and its
payment what was charged; a transfer moves value without creating or losing any; a
freeze never moves a pass twice for one day."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classledger.aggregates import books as b
from classledger.aggregates import client as c
from classledger.aggregates import pass_decisions as pd
from classledger.aggregates import passes as ps
from classledger.aggregates.base import Event, Meta, project
from classledger.aggregates.errors import Conflict, Invalid, Refused
from classledger.aggregates.passes import Pass, PassTemplate

TENANT = uuid.UUID(int=7)
BRANCH = uuid.UUID(int=8)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
META = Meta(tenant_id=TENANT, at=AT, actor="Peter")
CUR = "EUR"


def ids() -> Callable[[], uuid.UUID]:
    counter = itertools.count(1000)
    return lambda: uuid.UUID(int=next(counter))


def client(n: int = 1) -> c.Client:
    (e,) = c.register(uuid.UUID(int=n), META, today=TODAY, name=f"Client {n}", branch_id=BRANCH)
    out: c.Client = e.apply(None)
    return out


def template(**fields: Any) -> PassTemplate:
    args: dict[str, Any] = {"name": "Ten", "description": None, "price": 10_000, "lessons": 10,
                            "validity_days": 30, "lesson_type": "dance", "freestyle": False,
                            "allow_overlap": False, "multi_client": False}
    args.update(fields)
    out: PassTemplate = project(None, ps.create_template(uuid.UUID(int=50), META, **args))
    return out


def sale(t: PassTemplate | None = None, holders: list[c.Client] | None = None, **kw: Any) -> pd.Sale:
    t = t or template()
    holders = holders or [client()]
    args: dict[str, Any] = {"currency": CUR, "pass_id": uuid.UUID(int=100), "branch_id": BRANCH, "city": "Bratislava",
                            "valid_from": TODAY, "payment": "on_credit", "method": None, "price": None,
                            "lessons": None, "validity_days": None, "discount": None, "indexes": {}, "passes": {}}
    client_ids = kw.pop("client_ids", None) or [h.id for h in holders]
    args.update(kw)
    return pd.sell(t, client_ids, {h.id: h for h in holders}, META, ids(), **args)


def sold(s: pd.Sale) -> Pass:
    out: Pass = project(None, s.sold)
    return out


def refused(code: str, fn: Callable[[], object], kind: type[Refused] = Refused) -> None:
    with pytest.raises(kind) as e:
        fn()
    assert e.value.code == code, e.value.code


# ---- sale (§4.1, §4.2) ---------------------------------------------------------------------


def test_a_sale_on_credit_posts_the_sale_and_starts_the_pass() -> None:  # DOMAIN §4.2
    s = sale()
    p = sold(s)
    assert (p.remaining, p.value, p.paid, p.valid_until) == (10, 10_000, 0, TODAY + timedelta(days=29))
    assert [t.id for t in s.transactions] == list(p.transactions)
    assert len(s.transactions) == 1


def test_a_paid_sale_posts_the_payment_too() -> None:  # DOMAIN §4.2, §6.3
    s = sale(payment="paid", method="cash", discount=b.Discount(kind="percent", value=1000))
    p = sold(s)
    assert (s.discount, p.paid, len(s.transactions)) == (1_000, 9_000, 2)


def test_no_payment_carries_no_value() -> None:  # DOMAIN §4.2 (initial import)
    s = sale(payment="no_payment", discount=b.Discount(kind="absolute", value=500))
    assert (s.transactions, s.discount, sold(s).value) == ([], 0, 0)


def test_refusals_of_a_sale() -> None:  # DOMAIN §4.1, §4.2
    refused("not_freestyle", lambda: sale(lessons=5), Invalid)
    one = client()
    refused("duplicate_clients", lambda: sale(holders=[one], client_ids=[one.id, one.id]), Invalid)
    refused("not_multi_client", lambda: sale(holders=[client(1), client(2)]), Invalid)
    refused("method_required", lambda: sale(payment="paid"), Invalid)
    refused("method_not_allowed", lambda: sale(method="card"), Invalid)
    refused("negative_price", lambda: sale(t=template(freestyle=True), price=-1), Invalid)
    archived = project(one, c.archive(one, META.model_copy(update={"reason": "moved away"})))
    refused("client_archived", lambda: sale(holders=[archived]), Conflict)


def test_a_freestyle_sale_sets_price_lessons_and_validity() -> None:  # DOMAIN §4.2
    s = sale(t=template(freestyle=True), price=4_000, lessons=4, validity_days=7)
    p = sold(s)
    assert (p.price, p.remaining, p.unit, p.valid_until) == (4_000, 4, 1_000, TODAY + timedelta(days=6))


def test_no_second_valid_pass_of_a_type_unless_the_template_allows_it() -> None:  # DOMAIN §4.1
    holder = client()
    first = sold(sale(holders=[holder]))
    (added,) = ps.index_add(None, META, holder.id, first)
    idx: ps.ClientPasses = added.apply(None)
    kw: dict[str, Any] = {"holders": [holder], "indexes": {holder.id: idx}, "passes": {first.id: first},
                          "pass_id": uuid.UUID(int=101)}
    with pytest.raises(Conflict) as e:
        sale(**kw)
    assert e.value.code == "overlapping_pass"
    assert e.value.details["pass_id"] == str(first.id)
    assert sold(sale(t=template(allow_overlap=True), **kw)).remaining == 10
    assert sold(sale(valid_from=first.valid_until + timedelta(days=1), **kw)).remaining == 10


def test_a_sale_into_a_recorded_freeze_is_paused() -> None:  # DOMAIN §2.4, §4.6
    holder = client()
    frozen = project(holder, c.freeze(holder, META, TODAY + timedelta(days=5), TODAY + timedelta(days=9)))
    p = sold(sale(holders=[frozen]))
    assert p.valid_until == TODAY + timedelta(days=34)
    assert len(p.paused) == 1


@given(price=st.integers(0, 10**9), lessons=st.integers(1, 1000),
       discount=st.one_of(st.none(), st.integers(1, 10_000).map(lambda v: b.Discount(kind="percent", value=v)),
                          st.integers(1, 10**9).map(lambda v: b.Discount(kind="absolute", value=v))),
       payment=st.sampled_from(["paid", "on_credit"]))
def test_a_sales_lessons_carry_its_value_and_its_payment_what_was_charged(
        price: int, lessons: int, discount: b.Discount | None, payment: str) -> None:  # DOMAIN §4.2, §6.3
    s = sale(t=template(freestyle=True), price=price, lessons=lessons, discount=discount, payment=payment,
             method="bank" if payment == "paid" else None)
    p = sold(s)
    assert sum(p.lesson_values()) == p.value == price
    assert 0 <= s.discount <= price
    for tx in s.transactions:
        assert sum(x.amount for x in tx.postings) == 0
    if payment == "paid":
        assert p.paid == price - s.discount
        assert len(s.transactions) == 2 or price - s.discount == 0


# ---- visits (§4.3, §7.1) --------------------------------------------------------------------


def visit(usable: Pass | None, *, status: Literal["attended", "absent"] = "attended", no_show_consumes: bool = False,
          holder: c.Client | None = None) -> pd.Attendance:
    subject = pd.visit_subject(META, uuid.UUID(int=1), uuid.UUID(int=200), "attended", None, "dance", TODAY, None)
    return pd.record_visit(holder or client(), subject, META, ids(), visit_id=uuid.UUID(int=200), status=status,
                           lesson_id=None, usable=usable, no_show_consumes=no_show_consumes,
                           single_visit_price=1_500, currency=CUR, city="Bratislava")


def test_a_visit_takes_a_lesson_from_the_usable_pass() -> None:  # DOMAIN §4.3
    p = sold(sale())
    done = visit(p)
    assert (done.pass_id, done.amount, done.charged) == (p.id, 1_000, False)
    assert done.used is not None
    assert project(p, done.used.used).remaining == 9
    recorded: ps.Visit = project(None, done.recorded)
    assert (recorded.pass_id, recorded.value) == (p.id, 1_000)


def test_without_a_pass_a_visit_is_charged_and_an_absence_only_when_it_consumes() -> None:  # DOMAIN §4.3, §7.1
    done = visit(None)
    assert done.charged
    assert done.charge is not None
    assert done.amount == 1_500
    absent = visit(None, status="absent")
    assert (absent.consumed, absent.charged, absent.charge) == (False, False, None)
    assert visit(None, status="absent", no_show_consumes=True).charged


def test_refusals_of_a_visit() -> None:  # DOMAIN §7.1, §7.4, §2.5
    refused("lesson_type_and_date_required",
            lambda: pd.visit_subject(META, uuid.UUID(int=1), uuid.UUID(int=2), "attended", None, None, TODAY, None),
            Invalid)
    holder = client()
    archived = project(holder, c.archive(holder, META.model_copy(update={"reason": "moved away"})))
    refused("client_archived", lambda: visit(None, holder=archived), Conflict)


def test_cancelling_a_visit_returns_its_lesson_once() -> None:  # DOMAIN §7.1
    p = sold(sale())
    done = visit(p)
    v: ps.Visit = project(None, done.recorded)
    assert done.used is not None
    p = project(p, done.used.used)
    undone = pd.cancel_visit(v, p, None, None, META, ids(), "wrong child")
    assert undone.lesson_returned
    assert project(p, undone.returned).remaining == 10
    refused("visit_cancelled", lambda: pd.cancel_visit(project(v, undone.cancelled), p, None, None, META, ids(),
                                                       "again"), Conflict)
    refunded = project(p, pd.refund(p, META, ids(), currency=CUR, single_visit_price=1_500, method="cash",
                                    comment="moved away", amount=None).ended)
    refused("pass_closed", lambda: pd.cancel_visit(v, refunded, None, None, META, ids(), "late"), Conflict)


# ---- changes, breakage (§4.5, §6.3) -----------------------------------------------------------


def test_refusals_of_an_extension() -> None:  # DOMAIN §4.5
    p = sold(sale())
    refused("not_an_extension", lambda: pd.extend(p, META, p.valid_until - timedelta(days=1), 0), Invalid)
    refused("nothing_to_extend", lambda: pd.extend(p, META, p.valid_until, 0), Invalid)
    assert project(p, pd.extend(p, META, p.valid_until, 2)).remaining == 12
    assert pd.correct_validity(p, META, None, p.valid_until) == []


def test_breakage_only_after_the_last_valid_day() -> None:  # DOMAIN §6.3
    p = sold(sale())
    refused("pass_not_expired", lambda: pd.expire(p, META, ids(), p.valid_until, CUR), Conflict)
    broken = pd.expire(p, META, ids(), p.valid_until + timedelta(days=1), CUR)
    assert broken.value == 10_000
    assert project(p, broken.broken).unearned == 0


@given(start=st.integers(-40, 40), days=st.integers(0, 40), holders=st.integers(1, 3))
def test_a_freeze_never_moves_a_pass_twice_for_one_day(start: int, days: int, holders: int) -> None:  # DOMAIN §4.6
    siblings = [client(n) for n in range(1, holders + 1)]
    p = sold(sale(t=template(multi_client=True), holders=siblings))
    a, z = TODAY + timedelta(days=start), TODAY + timedelta(days=start + days)
    frozen = [project(s, c.freeze(s, META, a, z)) for s in siblings]
    first = pd.freeze(p, frozen[:1], META, a, z)
    moved = project(p, first) if first else p
    inside = max(0, (min(p.valid_until, z) - max(p.valid_from, a)).days + 1)
    assert (moved.valid_until - p.valid_until).days >= inside
    # another sibling frozen on the same days: those days already moved the pass
    assert pd.freeze(moved, frozen, META, a, z) == []


# ---- recalculation, refund, void (§4.7–§4.9) ------------------------------------------------


def recalc(old: Pass, t: PassTemplate, city: str = "Bratislava") -> pd.Recalculation:
    return pd.recalculate(old, t, [client()], META, ids(), new_pass_id=uuid.UUID(int=300), branch_id=BRANCH,
                          city=city, today=TODAY, currency=CUR, discount=None, difference=None)


def test_refusals_of_a_recalculation() -> None:  # DOMAIN §4.7
    old = sold(sale())
    refused("different_city", lambda: recalc(old, template(price=20_000), city="Košice"), Conflict)
    refused("template_not_offered", lambda: recalc(old, template(price=5_000)), Conflict)
    shared = sold(sale(t=template(multi_client=True), holders=[client(1), client(2)]))
    refused("not_multi_client", lambda: recalc(shared, template(price=20_000)), Invalid)
    done = recalc(old, template(price=20_000))
    assert (done.actual, done.computed) == (10_000, 10_000)
    assert project(old, done.ended).status == "recalculated"


def test_refusals_of_a_refund_and_a_void() -> None:  # DOMAIN §4.8, §4.9
    p = sold(sale(payment="paid", method="cash"))
    done = pd.refund(p, META, ids(), currency=CUR, single_visit_price=1_500, method="cash", comment="moved away",
                     amount=None)
    assert done.terms.amount == 10_000
    assert all(t.memo == "moved away" for t in done.transactions)
    refused("pass_refunded", lambda: pd.refund(project(p, done.ended), META, ids(), currency=CUR,
                                               single_visit_price=1_500, method="cash", comment="x", amount=None),
            Conflict)
    voided = project(p, pd.void(p, [], META, ids(), "typo").ended)
    refused("pass_voided", lambda: pd.check_voidable(voided), Conflict)
    moved = pd.transfer(client(1), client(2), [p], META, ids(), lesson_type="dance", count=2, from_city="Bratislava",
                        to_city="Bratislava").moved[0]
    refused("lessons_transferred", lambda: pd.check_voidable(project(p, moved.given)), Conflict)
    refused("not_a_sale", lambda: pd.check_voidable(project(None, moved.sold)), Conflict)
    written_off = project(p, ps.settle_by_write_off([sold(sale())], META, 1_000, uuid.UUID(int=9)))
    refused("written_off", lambda: pd.check_voidable(written_off), Conflict)


# ---- lesson transfer (§4.10) -----------------------------------------------------------------


def test_refusals_of_a_transfer() -> None:  # DOMAIN §4.10
    one = client()
    refused("same_client", lambda: pd.transfer(one, one, [], META, ids(), lesson_type="dance", count=1,
                                               from_city="B", to_city="B"), Invalid)
    refused("not_enough_lessons", lambda: pd.transfer(one, client(2), [sold(sale())], META, ids(),
                                                      lesson_type="dance", count=11, from_city="B", to_city="B"),
            Conflict)
    done = pd.transfer(one, client(2), [sold(sale())], META, ids(), lesson_type="dance", count=1, from_city="B",
                       to_city="K")
    assert [w["code"] for w in done.warnings] == ["different_cities"]


@given(counts=st.lists(st.integers(1, 12), min_size=1, max_size=4), price=st.integers(0, 100_000),
       take=st.integers(1, 48))
def test_a_transfer_moves_value_without_making_or_losing_any(counts: list[int], price: int,
                                                             take: int) -> None:  # DOMAIN §4.10
    sources = [sold(sale(t=template(freestyle=True), price=price, lessons=n, pass_id=uuid.UUID(int=400 + i)))
               for i, n in enumerate(counts)]
    if take > sum(counts):
        refused("not_enough_lessons", lambda: pd.transfer(client(1), client(2), sources, META, ids(),
                                                          lesson_type="dance", count=take, from_city="B",
                                                          to_city="B"), Conflict)
        return
    done = pd.transfer(client(1), client(2), sources, META, ids(), lesson_type="dance", count=take, from_city="B",
                       to_city="B")
    by_id = {p.id: p for p in sources}
    moved_lessons = 0
    for m in done.moved:
        (given_event,) = m.given
        before = by_id[given_event.originator_id]
        after: Pass = project(before, m.given)
        new: Pass = project(None, m.sold)
        assert after.unearned + new.unearned == before.unearned
        assert sum(new.lesson_values()) == new.value
        moved_lessons += new.remaining
    assert moved_lessons == take


def test_events_fold_from_version_one() -> None:
    events: list[Event] = sale().sold
    assert [e.originator_version for e in events] == [1]
