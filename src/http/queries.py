"""The query models of the reads (API §3, §7): what each read route accepts, validated by
pydantic and written into the OpenAPI document. Every list pages the same way (``Paged``),
and every instant parameter is parsed by one function (``DayOrInstant``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, WithJsonSchema

from classledger.application.fields import Day, Line, Month, check_instant, parse_day
from classledger.projections.paging import DEFAULT_LIMIT, MAX_LIMIT

LIMIT_DESCRIPTION = f"page size (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})"
CURSOR_DESCRIPTION = "next_cursor of the previous page"


class Paged(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=LIMIT_DESCRIPTION)
    cursor: str | None = Field(None, max_length=500, description=CURSOR_DESCRIPTION)


class GroupsQuery(Paged):
    course_id: UUID | None = Field(None, description="only this course's groups")
    branch_id: UUID | None = Field(None, description="only this branch's groups")
    state: Literal["running", "future", "ended"] | None = Field(
        None, description="on the tenant's today: running (starts_on ≤ today ≤ ends_on), future or ended (DOMAIN §3.1)"
    )


class RecalculationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    template_id: UUID | None = Field(None, description="only this template's offer (default: every template offered)")


_OFFSET_SPACE = re.compile(r" (\d{2}:?\d{2})$")


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("an ISO-8601 instant is a string")
    # An unencoded "+" in a query string arrives as a space: "…T10:00:00 01:00".
    text = _OFFSET_SPACE.sub(r"+\1", value.strip())
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not an ISO-8601 instant (e.g. 2026-01-31T23:00:00+01:00)") from None
    if at.tzinfo is None:
        # Without an offset the instant is ambiguous; guessing the zone would move it.
        raise ValueError("the instant needs a UTC offset (e.g. +01:00 or Z)")
    return check_instant(at)


def _day_or_instant(value: Any) -> date | datetime:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return parse_day(value)
    return _instant(value)


def _comma_list(value: Any) -> Any:
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


Instant = Annotated[
    datetime, PlainValidator(_instant), WithJsonSchema({"type": "string", "format": "date-time"})
]
DayOrInstant = Annotated[
    date | datetime,
    PlainValidator(_day_or_instant),
    WithJsonSchema({"type": "string", "description": "YYYY-MM-DD (the tenant's calendar day) or an ISO-8601 instant"}),
]


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClientsQuery(Query):
    q: Line | None = Field(None, max_length=200, description="name (case- and accent-insensitive), phone digits, email or card number")
    tag: Line | None = Field(None, max_length=100, description="only clients with this tag")
    status: Literal["active", "inactive"] | None = Field(None, description="active now (DOMAIN §5) or not")
    branch_id: UUID | None = Field(None, description="only clients of this branch")
    include: Annotated[frozenset[Literal["archived", "deleted"]], BeforeValidator(_comma_list)] = Field(
        frozenset(), description="comma list: archived, deleted (left out unless asked for)"
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=LIMIT_DESCRIPTION)
    cursor: str | None = Field(None, max_length=500, description=CURSOR_DESCRIPTION)


class AtQuery(Query):
    at: DayOrInstant | None = Field(None, description="the instant (default: now); a day is its local midnight")


class AsOfQuery(Query):
    as_of: DayOrInstant | None = Field(None, description="the instant (default: now); a day is its local midnight")


class MonthQuery(Query):
    month: Month = Field(description="YYYY-MM, the tenant's calendar month")


JournalKind = Literal[
    "sale", "payment", "revenue", "visit_charge", "refund", "recalculation", "reversal", "correction",
    "write_off", "discount", "transfer",
]


class FinanceQuery(Query):
    from_: DayOrInstant | None = Field(None, alias="from", description="from this day or instant (inclusive)")
    to: DayOrInstant | None = Field(None, description="to this day (inclusive) or instant (exclusive)")
    kind: JournalKind | None = Field(None, description="only transactions of this kind")
    status: Literal["posted", "cancelled"] | None = Field(None, description="only posted or only cancelled ones")
    format: Literal["json", "csv", "xlsx", "beancount"] = Field(
        "json", description="the body's format: json pages like every list; csv, xlsx and beancount export the whole range"
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=LIMIT_DESCRIPTION + " (json)")
    cursor: str | None = Field(None, max_length=500, description=CURSOR_DESCRIPTION + " (json)")


class JournalQuery(FinanceQuery):
    client_id: UUID | None = Field(None, description="only this client's transactions")


class KeysQuery(Query):
    limit: int = Field(100, ge=1, le=1000, description="page size")
    cursor: str | None = Field(None, max_length=100, description="next_cursor of the previous page")


class AuditVerifyQuery(Query):
    expect_head: str | None = Field(
        None, pattern=r"^[0-9a-fA-F]{64}$",
        description="the head's hash an auditor kept (`classledger audit head`): ok only if the log still reaches it",
    )


class AuditActionsQuery(Query):
    actor: str | None = Field(None, max_length=200, description="only this staff member's actions: their name, or staff id")
    from_: DayOrInstant | None = Field(None, alias="from", description="from this day or instant (inclusive)")
    to: DayOrInstant | None = Field(None, description="to this day (inclusive) or instant (exclusive)")
    limit: int = Field(100, ge=1, le=500, description="page size")
    cursor: str | None = Field(None, max_length=500, description="next_cursor of the previous page")


class LessonsQuery(Query):
    from_: DayOrInstant | None = Field(None, alias="from", description="lessons that end after this day or instant")
    to: DayOrInstant | None = Field(None, description="lessons that begin before the end of this day, or this instant")
    branch_id: UUID | None = Field(None, description="only this branch's lessons")
    room_id: UUID | None = Field(None, description="only lessons in this room")
    instructor_id: UUID | None = Field(None, description="only this instructor's lessons")
    client_id: UUID | None = Field(None, description="only lessons this client is booked on")
    group_id: UUID | None = Field(None, description="only this group's lessons")
    include_cancelled: bool = Field(True, description="cancelled lessons too (they keep their register)")
    format: Literal["json", "ics"] = Field("json", description="json, or an iCalendar feed (RFC 5545)")
    limit: int = Field(100, ge=1, le=1000, description="page size (json)")
    cursor: str | None = Field(None, max_length=500, description="next_cursor of the previous page")


class WeekQuery(Query):
    date: Day | None = Field(None, description="a day of the week to show, Monday to Sunday (default: today)")
    format: Literal["json", "ics"] = Field("json", description="json, or an iCalendar feed (RFC 5545)")


class PassesQuery(Paged):
    from_: DayOrInstant | None = Field(None, alias="from", description="valid on this day or later")
    to: DayOrInstant | None = Field(None, description="valid on this day or earlier")
    include_expired: bool = False


class PaymentsQuery(Paged):
    from_: DayOrInstant | None = Field(None, alias="from", description="from this day or instant (inclusive)")
    to: DayOrInstant | None = Field(None, description="to this day (inclusive) or instant (exclusive)")
    branch_id: UUID | None = Field(None, description="only payments into this branch's cash or bank")
    method: Literal["cash", "card", "bank"] | None = Field(
        None, description="cash, or cashless: card and bank transfer land on the branch's bank account (DOMAIN §6.3)"
    )
    include_cancelled: bool = Field(False, description="cancelled payments too (DOMAIN §6.4)")
