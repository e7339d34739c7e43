"""`classledger demo` is the README's first command: its generated history must be one
the system accepts in full, on both databases, with a real activity curve."""

from __future__ import annotations

from classledger.demo import demo_tenant_id, generate
from classledger.instants import us
from classledger.projections.activity import ActivityTimeline
from classledger.projections.clients import ClientDirectory
from classledger.system import System, now


def test_the_demo_generates_a_year_the_system_accepts(system: System) -> None:
    figures = generate(system, clients=120, seed=9)  # raises if any line is refused
    tenant = demo_tenant_id(9)
    assert figures["commands"] > 120
    page = system.view(ClientDirectory).search(tenant, include=frozenset({"archived"}), limit=200)
    assert page["total"] == 120
    first = now().replace(day=1)
    peaks = []
    for back in range(12):
        y, m = divmod(first.year * 12 + first.month - 1 - back, 12)
        report = system.view(ActivityTimeline).report(tenant, f"{y:04d}-{m + 1:02d}", as_of=us(now()))
        assert report is not None
        peaks.append(report["peak"])
    assert max(peaks) > 10
    assert len(set(peaks)) > 3  # a curve, not a constant


def test_the_demo_sells_passes_takes_payments_and_records_visits(system: System) -> None:
    """The demo: a year of sales, payments and visits, every line accepted, the books balanced."""
    from classledger.projections.books import Books

    generate(system, clients=60, seed=5)
    tenant = demo_tenant_id(5)
    kinds = {j["kind"] for j in system.view(Books).journal(tenant, limit=1_000_000)}
    assert {"sale", "payment", "revenue", "visit_charge"} <= kinds
    assert system.view(Books).trial_balance(tenant, as_of=us(now()))["total"] == "0.00"
