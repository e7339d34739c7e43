"""A template's validity in calendar months (DOMAIN §4.1): from 31 January one month runs to
the end of February; exactly one of ``validity_days`` and ``validity_months``."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from classledger.aggregates import passes as ps
from classledger.aggregates.base import Meta
from classledger.aggregates.errors import Invalid

META = Meta(tenant_id=uuid.uuid4(), at=datetime(2025, 1, 1, tzinfo=UTC), actor="Jana")


def template(**validity: int) -> ps.PassTemplate:
    (event,) = ps.create_template(uuid.uuid4(), META, name="Mesačná", description=None, price=5000, lessons=8,
                                  lesson_type="group", freestyle=False, allow_overlap=False, multi_client=False,
                                  **{"validity_days": None, **validity})
    state: ps.PassTemplate = event.apply(None)
    return state


@pytest.mark.parametrize(("start", "months", "last"), [
    (date(2025, 1, 31), 1, date(2025, 2, 28)),  # the end of February
    (date(2024, 1, 31), 1, date(2024, 2, 29)),  # a leap year's
    (date(2025, 1, 1), 1, date(2025, 1, 31)),  # one calendar month: January
    (date(2025, 1, 15), 1, date(2025, 2, 14)),
    (date(2025, 3, 31), 1, date(2025, 4, 30)),
    (date(2025, 11, 30), 3, date(2026, 2, 28)),  # across the year
    (date(2025, 5, 1), 12, date(2026, 4, 30)),
])
def test_calendar_months(start: date, months: int, last: date) -> None:
    assert ps.months_later(start, months) == last
    assert template(validity_months=months).valid_until(start) == last


def test_days_still_count_days_and_a_freestyle_sale_may_give_days() -> None:
    assert template(validity_days=30).valid_until(date(2025, 1, 31)) == date(2025, 3, 1)
    assert template(validity_months=1).valid_until(date(2025, 1, 31), 10) == date(2025, 2, 9)


@pytest.mark.parametrize("validity", [{}, {"validity_days": 30, "validity_months": 1}])
def test_exactly_one_of_days_and_months(validity: dict[str, int]) -> None:
    with pytest.raises(Invalid) as refused:
        template(**validity)
    assert refused.value.code == "validity_required"
