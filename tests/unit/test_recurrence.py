"""When planned lessons happen (DOMAIN §7.2): recurrences, month ends, the wall clock across DST."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classledger.aggregates.errors import Invalid
from classledger.aggregates.recurrence import (
    MAX_OCCURRENCES,
    WEEKDAYS,
    Repeat,
    add_months,
    local_instant,
    occurrences,
)

BRATISLAVA = ZoneInfo("Europe/Bratislava")


def test_one_off_is_its_date() -> None:
    assert occurrences(date(2026, 9, 7), None) == [date(2026, 9, 7)]


def test_every_second_week_on_monday_and_thursday() -> None:
    """Weeks are calendar weeks: both chosen days of every other week, none before the first date."""
    days = occurrences(date(2026, 9, 3), Repeat(every="week", interval=2, weekdays=("mon", "thu"), until=date(2026, 10, 1)))
    assert days == [date(2026, 9, 3), date(2026, 9, 14), date(2026, 9, 17), date(2026, 9, 28), date(2026, 10, 1)]


def test_weekly_without_weekdays_keeps_the_first_dates_weekday() -> None:
    days = occurrences(date(2026, 9, 1), Repeat(every="week", until=date(2026, 9, 29)))
    assert days == [date(2026, 9, d) for d in (1, 8, 15, 22, 29)]


def test_monthly_on_the_31st_takes_the_last_day_of_shorter_months() -> None:
    """As the calendar-month validity of DOMAIN §4.1: 31 January, end of February, 31 March."""
    days = occurrences(date(2027, 1, 31), Repeat(every="month", until=date(2027, 5, 31)))
    assert days == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


def test_every_third_day() -> None:
    assert occurrences(date(2026, 9, 1), Repeat(every="day", interval=3, until=date(2026, 9, 10))) == [
        date(2026, 9, 1), date(2026, 9, 4), date(2026, 9, 7), date(2026, 9, 10)]


def test_refusals() -> None:
    with pytest.raises(Invalid) as e:
        occurrences(date(2026, 9, 1), Repeat(every="day", until=date(2026, 8, 31)))
    assert e.value.code == "invalid_repeat"
    with pytest.raises(Invalid) as e:
        occurrences(date(2026, 9, 1), Repeat(every="month", weekdays=("mon",), until=date(2026, 12, 1)))
    assert e.value.code == "invalid_repeat"
    with pytest.raises(Invalid) as e:
        occurrences(date(2026, 1, 1), Repeat(every="day", until=date(2030, 1, 1)))
    assert e.value.code == "too_many_lessons"


def test_a_lesson_at_16_00_stays_at_16_00_across_the_dst_change() -> None:
    """The wall clock is kept: the UTC instant moves by the hour on 25 October 2026."""
    days = occurrences(date(2026, 10, 19), Repeat(every="week", until=date(2026, 11, 2)))
    instants = [local_instant(d, time(16, 0), BRATISLAVA) for d in days]
    assert [i.astimezone(BRATISLAVA).time() for i in instants] == [time(16, 0)] * 3
    assert instants[0].astimezone(UTC).hour == 14  # summer time, UTC+2
    assert instants[1].astimezone(UTC).hour == 15  # winter time, UTC+1
    assert instants[1] - instants[0] == timedelta(days=7, hours=1)


def test_a_time_the_clocks_skip_is_refused() -> None:
    with pytest.raises(Invalid) as e:
        local_instant(date(2027, 3, 28), time(2, 30), BRATISLAVA)
    assert e.value.code == "nonexistent_time"
    assert e.value.details["date"] == "2027-03-28"


@given(first=st.dates(date(2026, 1, 1), date(2027, 12, 31)), span=st.integers(0, 400),
       every=st.sampled_from(["day", "week", "month"]), interval=st.integers(1, 7),
       weekdays=st.lists(st.sampled_from(WEEKDAYS), max_size=7, unique=True))
def test_occurrences_are_ordered_distinct_and_inside_the_plan(first: date, span: int, every: str, interval: int,
                                                             weekdays: list[str]) -> None:
    until = first + timedelta(days=span)
    repeat = Repeat(every=every, interval=interval, weekdays=tuple(weekdays) if every == "week" else (), until=until)  # type: ignore[arg-type]
    if every == "week":
        # The reference: the chosen weekdays of every interval-th calendar week from the first's.
        monday = first - timedelta(days=first.weekday())
        chosen = set(weekdays) or {WEEKDAYS[first.weekday()]}
        expected = [first + timedelta(days=k) for k in range(span + 1)
                    if WEEKDAYS[(first + timedelta(days=k)).weekday()] in chosen
                    and ((first + timedelta(days=k) - monday).days // 7) % interval == 0]
        if not expected:
            with pytest.raises(Invalid, match="weekdays"):
                occurrences(first, repeat)
            return
        assert occurrences(first, repeat) == expected
    days = occurrences(first, repeat)
    assert days[0] == first or (every == "week" and weekdays)
    assert days == sorted(set(days))
    assert all(first <= d <= until for d in days)
    assert len(days) <= MAX_OCCURRENCES
    if every == "week" and weekdays:
        assert {WEEKDAYS[d.weekday()] for d in days} <= set(weekdays)
    if every == "day":
        assert all((b - a).days == interval for a, b in itertools.pairwise(days))


@given(day=st.dates(date(2026, 1, 1), date(2030, 12, 31)), hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_an_existing_wall_clock_time_round_trips(day: date, hour: int, minute: int) -> None:
    at = time(hour, minute)
    try:
        instant = local_instant(day, at, BRATISLAVA)
    except Invalid:
        assert hour == 2  # only the skipped hour of spring has no instant
        return
    back = instant.astimezone(BRATISLAVA)
    assert (back.date(), back.time()) == (day, at)
    assert instant.tzinfo is UTC or instant.utcoffset() == timedelta(0)
    assert isinstance(instant, datetime)
