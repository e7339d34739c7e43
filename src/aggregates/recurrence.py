"""When a planned lesson happens: one date, or a recurrence expanded to dates (DOMAIN §7.2).

A recurrence repeats every ``interval`` days, weeks or months from its first date until a
last date (inclusive). A weekly one may name the weekdays it falls on (by default the
first date's weekday); the weeks counted are calendar weeks, Monday first, so "every 2
weeks on Monday and Thursday" is both days of every other week. A monthly one keeps the
first date's day of the month, on a month's last day when the month is shorter (31 January
then 28 or 29 February, then 31 March), as the calendar-month validity of DOMAIN §4.1.

Times are the tenant's wall clock: a lesson at 16:00 is at 16:00 on both sides of a DST
change, so its instant in UTC moves by the hour. A wall-clock time the zone skips (02:30 on
the night the clocks go forward) has no instant and is refused.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from classledger.aggregates.base import Immutable
from classledger.aggregates.errors import Invalid

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_OCCURRENCES = 1000  # one plan: more than two and a half years of daily lessons


class Repeat(Immutable):
    every: Literal["day", "week", "month"]
    interval: int = Field(default=1, ge=1, le=7)
    weekdays: tuple[Weekday, ...] = ()
    until: date


def weekday_of(day: date) -> Weekday:
    return WEEKDAYS[day.weekday()]


def add_months(day: date, months: int) -> date:
    """``day`` moved by calendar months, on the month's last day when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def occurrences(first: date, repeat: Repeat | None) -> list[date]:
    """Every date of the plan, oldest first; a plan without ``repeat`` is its first date."""
    if repeat is None:
        return [first]
    if repeat.until < first:
        raise Invalid("invalid_repeat", "a recurrence ends on or after its first date",
                      starts_on=first.isoformat(), until=repeat.until.isoformat())
    if repeat.weekdays and repeat.every != "week":
        raise Invalid("invalid_repeat", "weekdays are chosen for a weekly recurrence only")
    out: list[date] = []
    if repeat.every == "day":
        step = timedelta(days=repeat.interval)
        day = first
        while day <= repeat.until:
            out.append(day)
            day += step
            _cap(out)
    elif repeat.every == "week":
        chosen = sorted({WEEKDAYS.index(w) for w in repeat.weekdays} or {first.weekday()})
        monday = first - timedelta(days=first.weekday())
        while monday <= repeat.until:
            for offset in chosen:
                day = monday + timedelta(days=offset)
                if first <= day <= repeat.until:
                    out.append(day)
            monday += timedelta(weeks=repeat.interval)
            _cap(out)
    else:
        n = 0
        day = first
        while day <= repeat.until:
            out.append(day)
            n += repeat.interval
            day = add_months(first, n)
            _cap(out)
    if not out:
        raise Invalid("invalid_repeat", "no date between the first and the last falls on the chosen weekdays",
                      starts_on=first.isoformat(), until=repeat.until.isoformat())
    return out


def _cap(out: list[date]) -> None:
    if len(out) > MAX_OCCURRENCES:
        raise Invalid("too_many_lessons", f"one plan holds at most {MAX_OCCURRENCES} lessons; plan in parts",
                      limit=MAX_OCCURRENCES)


def parse_hhmm(text: str, field: str = "time") -> time:
    h, sep, m = text.partition(":")
    if not (sep and len(h) == 2 and len(m) == 2 and h.isdigit() and m.isdigit()
            and int(h) < 24 and int(m) < 60):
        raise Invalid("invalid_time", f"{field} is a wall-clock time HH:MM", field=field, value=text)
    return time(int(h), int(m))


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``at`` on ``day`` in ``zone``; a skipped time is refused.

    In the repeated hour of autumn the first (summer-time) instant is taken.
    """
    local = datetime.combine(day, at, tzinfo=zone)
    instant = local.astimezone(UTC)
    back = instant.astimezone(zone)
    if (back.date(), back.time()) != (day, at):
        raise Invalid("nonexistent_time", f"{at.strftime('%H:%M')} does not exist on {day} in {zone.key}: "
                      "the clocks go forward then", date=day.isoformat(), time=at.strftime("%H:%M"))
    return instant
