"""Instants as microseconds since the epoch, UTC (classledger/instants.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classledger.instants import bound_us, day_start, from_us, iso, parse_us, us

ZONE = ZoneInfo("Europe/Bratislava")
# hypothesis takes naive bounds and adds the zone itself
instants = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),  # noqa: DTZ001
                        timezones=st.sampled_from([UTC, ZONE, timezone(timedelta(hours=-7, minutes=-30))]))


@given(instants)
def test_an_instant_survives_the_round_trips(at: datetime) -> None:
    assert from_us(us(at)) == at.astimezone(UTC)
    assert parse_us(iso(us(at))) == us(at)
    assert parse_us(at.isoformat()) == us(at)
    assert parse_us(iso(us(at), zulu=True)) == us(at)


def test_the_forms() -> None:
    at = datetime(2026, 3, 29, 1, 30, 0, 7, tzinfo=UTC)
    assert us(at) == 1_774_747_800_000_007
    assert iso(us(at)) == "2026-03-29T01:30:00.000007+00:00"
    assert iso(us(at), zulu=True) == "2026-03-29T01:30:00.000007Z"
    assert us(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == -1
    with pytest.raises(ValueError, match="aware"):
        us(datetime(2026, 1, 1))  # noqa: DTZ001


def test_a_day_is_its_local_midnight_and_a_range_end_includes_it() -> None:  # DOMAIN §1.2
    assert day_start(date(2026, 1, 10), ZONE) == us(datetime(2026, 1, 9, 23, tzinfo=UTC))
    assert bound_us(date(2026, 1, 10), ZONE) == day_start(date(2026, 1, 10), ZONE)
    assert bound_us(date(2026, 1, 10), ZONE, end=True) == day_start(date(2026, 1, 11), ZONE)
    at = datetime(2026, 1, 10, 12, tzinfo=UTC)
    assert bound_us(at, ZONE, end=True) == us(at)
    assert bound_us(None, ZONE) is None
    assert bound_us(date.max, ZONE, end=True) is None
    with pytest.raises((OverflowError, ValueError)):
        bound_us(date.min, ZoneInfo("Asia/Tokyo"))


def test_a_day_without_a_midnight_starts_when_the_clocks_resume() -> None:  # DOMAIN §1.2
    """Santiago skipped 00:00 on 2022-09-11 (clocks went 00:00 → 01:00)."""
    zone = ZoneInfo("America/Santiago")
    start = day_start(date(2022, 9, 11), zone)
    assert from_us(start).astimezone(zone) == datetime(2022, 9, 11, 1, tzinfo=zone)
