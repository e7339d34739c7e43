"""Lesson values of a pass (DOMAIN §6.3): the closed forms equal the lesson-by-lesson sequence."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from hypothesis import given
from hypothesis import strategies as st

from classledger.aggregates.passes import Pass


def a_pass(value: int, unit: int, recognised: int, remaining: int) -> Pass:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Pass(id=uuid.uuid4(), version=1, tenant_id=uuid.uuid4(), created_on=now, modified_on=now, template_id=None,
                client_ids=(uuid.uuid4(),), branch_id=uuid.uuid4(), city="Bratislava", lesson_type="group",
                price=value, discount=0, paid=0, lessons_total=remaining, remaining=remaining, unit=unit, value=value,
                recognised=recognised, valid_from=date(2026, 1, 1), valid_until=date(2026, 2, 1), payment="paid")


@given(st.integers(0, 10**7), st.integers(1, 60), st.data())
def test_first_and_last_values_match_the_sequence(price: int, lessons: int, data: st.DataObject) -> None:
    unit = price // lessons
    used = data.draw(st.integers(0, lessons - 1))
    bonus = data.draw(st.integers(0, 3))
    p = a_pass(price, unit, min(price, used * unit), lessons - used + bonus)
    values = p.lesson_values()
    assert sum(values) == p.unearned
    assert all(v >= 0 for v in values)
    for n in range(p.remaining + 1):
        assert p.first_value(n) == sum(values[:n])
        assert p.last_value(n) == sum(values[len(values) - n:])


def test_worked_values() -> None:
    """100.00 over 3 lessons: 33.33, 33.33, 33.34 (the last takes the remainder)."""
    assert a_pass(10000, 3333, 0, 3).lesson_values() == [3333, 3333, 3334]
    assert a_pass(12000, 1200, 0, 10).first_value(3) == 3600
