"""Validity is paused by a freeze, not merely lengthened (DOMAIN §2.4, §4.6): a pass of N
days ends on the N-th day from its start on which none of its holders is frozen, whatever
the order the freezes were recorded in, before the sale or after it."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from classledger.aggregates.passes import Pause, paused_at_sale, resume_after
from tests.unit.test_pass_freezes import FROM, Period, a_pass, days_of, freeze_all


def nth_unfrozen_day(valid_from: date, days: int, freezes: list[Period]) -> date:
    frozen = set().union(*(days_of(*f) for f in freezes))
    day, left = valid_from - timedelta(days=1), days
    while left:
        day += timedelta(days=1)
        if day not in frozen:
            left -= 1
    return day


periods = st.tuples(st.integers(-20, 100), st.integers(0, 30)).map(
    lambda t: (FROM + timedelta(days=t[0]), FROM + timedelta(days=t[0] + t[1])))


@given(st.lists(periods, max_size=6), st.integers(1, 60))
def test_a_pass_ends_on_its_nth_day_no_holder_is_frozen(freezes: list[Period], days: int) -> None:
    until = FROM + timedelta(days=days - 1)
    expected = nth_unfrozen_day(FROM, days, freezes)
    assert freeze_all(a_pass(until), freezes).valid_until == expected
    assert freeze_all(a_pass(until), list(reversed(freezes))).valid_until == expected
    assert paused_at_sale(FROM, until, freezes)[0] == expected


def test_the_reported_case() -> None:
    """Valid 1–30 December, frozen 25 December – 10 January: 16 January, not 5 January."""
    start, end = date(2026, 12, 1), date(2026, 12, 30)
    assert nth_unfrozen_day(start, 30, [(date(2026, 12, 25), date(2027, 1, 10))]) == date(2027, 1, 16)
    assert paused_at_sale(start, end, [(date(2026, 12, 25), date(2027, 1, 10))])[0] == date(2027, 1, 16)


def test_resume_after_skips_every_frozen_day_and_says_which_periods() -> None:
    a = Pause(start=date(2027, 1, 2), end=date(2027, 1, 5))
    b = Pause(start=date(2027, 1, 4), end=date(2027, 1, 8))
    assert resume_after(date(2027, 1, 1), 2, [a, b]) == (date(2027, 1, 10), (a, b))
    assert resume_after(date(2027, 1, 1), 0, [a]) == (date(2027, 1, 1), ())
