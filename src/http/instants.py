"""The instant parameters (``as_of``, ``at``, ``from``, ``to``), parsed once
(``queries.DayOrInstant``) and resolved here on the tenant's calendar, the same on every
route: a day means the tenant's local midnight at its start (a ``to`` day is included
whole: the range ends at the next day's midnight), an instant with its offset means itself.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from classledger.http.errors import ApiError
from classledger.instants import bound_us


def instant_us(value: date | datetime | None, zone: ZoneInfo, *, end: bool = False, field: str = "") -> int | None:
    """An instant parameter as microseconds: an instant as is; a day as its local midnight
    (with ``end``, a range's end, the next day's midnight, so that the day is included).
    The calendar's last day as an end leaves the range open; a day whose midnight the
    calendar cannot hold is a 422."""
    try:
        return bound_us(value, zone, end=end)
    except (OverflowError, ValueError):
        raise ApiError(422, "invalid_query", "the query parameters are not valid", errors=[
            {"field": field, "problem": "the day's midnight lies outside the calendar", "type": "out_of_range"}]) from None


def local_date(value: date | datetime | None, zone: ZoneInfo, *, field: str = "") -> date | None:
    """A day parameter: a day as is, an instant as its day on the tenant's calendar."""
    if value is None or not isinstance(value, datetime):
        return value
    try:
        return value.astimezone(zone).date()
    except (OverflowError, ValueError):
        raise ApiError(422, "invalid_query", "the query parameters are not valid", errors=[
            {"field": field, "problem": "the instant's day lies outside the calendar", "type": "out_of_range"}]) from None
