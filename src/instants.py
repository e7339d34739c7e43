"""Instants as the ledger stores them: microseconds since the epoch, UTC.

One home for the conversions every layer makes (the store's ``at_us`` columns, the read
models, the reports and the HTTP range parameters). Pure: it imports nothing of ours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def us(at: datetime) -> int:
    """Microseconds since the epoch, UTC: the stored, index-friendly form of an instant."""
    if at.tzinfo is None:
        raise ValueError("instants must be timezone-aware")
    d = at - EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def from_us(at_us: int) -> datetime:
    """The instant, in UTC."""
    return EPOCH + timedelta(microseconds=at_us)


def parse_us(text: str) -> int:
    """An ISO 8601 instant with its offset (as events carry them), as microseconds."""
    return us(datetime.fromisoformat(text))


def iso(at_us: int, *, zulu: bool = False) -> str:
    """The instant in ISO 8601, UTC: ``+00:00``, or ``Z`` with ``zulu``."""
    text = from_us(at_us).isoformat()
    return text.replace("+00:00", "Z") if zulu else text


@lru_cache(maxsize=1 << 16)
def day_start(d: date, zone: ZoneInfo) -> int:
    """The instant of local 00:00 of ``d``; a day that skips 00:00 starts when the clocks resume.

    Cached: a pure function of (day, zone), asked again and again for the same group ends,
    credit expiries and midnights (a rebuild asks it hundreds of thousands of times)."""
    local = datetime.combine(d, time(0), tzinfo=zone)
    start = us(local.astimezone(UTC))
    # A nonexistent 00:00 (DST at midnight) is interpreted with the old offset, which can
    # land before the previous day's end; the day then begins at the first real instant.
    back = from_us(start).astimezone(zone)
    if back.date() < d:
        start = us(datetime.combine(d, time(1), tzinfo=zone).astimezone(UTC))
    return start


def bound_us(value: date | datetime | None, zone: ZoneInfo, *, end: bool = False) -> int | None:
    """A range's bound as microseconds: an instant as is; a day as its local midnight
    (with ``end``, the next day's midnight, so that the day is included). None, or the
    calendar's last day as an end, leaves the range open. A day whose midnight the
    calendar cannot hold raises ``OverflowError`` or ``ValueError``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return us(value)
    if end and value == date.max:
        return None
    return day_start(value + timedelta(days=1) if end else value, zone)
