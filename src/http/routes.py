"""Every route of API §3 as data: the write table, the read table, the models of the queries.

The tables are the API's contract: the app mounts them, the OpenAPI document is written
from them, and the tests walk them. A write route names its command and a read route the
API handler of its name; the app refuses to start when either is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeGuard
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, WithJsonSchema

from classledger.application.fields import Day, Label, Line, Month, check_instant, parse_day
from classledger.application.registry import CommandSpec
from classledger.http.queries import (
    CURSOR_DESCRIPTION,
    LIMIT_DESCRIPTION,
    GroupsQuery,
    Paged,
    RecalculationQuery,
)
from classledger.projections.paging import DEFAULT_LIMIT, MAX_LIMIT

# ---- writes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteRoute:
    method: str
    path: str
    command: str
    params: dict[str, str] = field(default_factory=dict)  # path parameter → the command's arg
    created: bool = False  # 201 (a new record) rather than 200

    @property
    def status(self) -> int:
        return 201 if self.created else 200


def _w(method: str, path: str, command: str, params: dict[str, str] | None = None, *, created: bool = False) -> WriteRoute:
    return WriteRoute(method, path, command, params or {}, created)


CLIENT = {"id": "client_id"}
REGISTRATION = {"id": "registration_id"}
CREDIT = {"id": "credit_id"}
PASS = {"id": "pass_id"}
LESSON = {"id": "lesson_id"}

WRITES: tuple[WriteRoute, ...] = (
    _w("POST", "/v1/branches", "add_branch", created=True),
    _w("POST", "/v1/lesson-types", "define_lesson_type", created=True),
    _w("POST", "/v1/custom-fields", "define_custom_field", created=True),
    # API §6, DOMAIN §1.6: the settings given change, the others stay.
    _w("PATCH", "/v1/settings", "set_tenant_settings"),
    _w("POST", "/v1/clients", "register_client", created=True),
    _w("PATCH", "/v1/clients/{id}", "update_client", CLIENT),
    _w("POST", "/v1/clients/{id}/tags", "tag_client", CLIENT),
    # Tags are free text (DOMAIN §2.2) and may hold a "/": the rest of the path is the tag.
    _w("DELETE", "/v1/clients/{id}/tags/{tag:path}", "untag_client", {"id": "client_id", "tag": "tag"}),
    _w("POST", "/v1/clients/{id}/family", "link_family", {"id": "parent_id"}),
    # API §3 gives no unlink route; the member is a sub-resource of the parent's family.
    _w("DELETE", "/v1/clients/{id}/family/{member_id}", "unlink_family", {"id": "parent_id", "member_id": "member_id"}),
    _w("POST", "/v1/clients/{id}/freeze", "freeze_client", CLIENT),
    _w("POST", "/v1/clients/{id}/archive", "archive_client", CLIENT),
    _w("POST", "/v1/clients/{id}/restore", "restore_client", CLIENT),
    _w("POST", "/v1/clients/{id}/delete", "delete_client", CLIENT),
    # DOMAIN §2.9, API §9: the client's personal data destroyed for good (director, with a reason).
    _w("POST", "/v1/clients/{id}/erase", "erase_client", CLIENT),
    # DOMAIN §2.6 (waitlist, next call): not in API §3's list, named like their neighbours.
    _w("POST", "/v1/clients/{id}/waitlist", "join_waitlist", CLIENT),
    _w("DELETE", "/v1/clients/{id}/waitlist", "leave_waitlist", CLIENT),
    _w("POST", "/v1/clients/{id}/next-call", "set_next_call", CLIENT),
    _w("POST", "/v1/clients/{id}/write-off", "write_off_debt", CLIENT),
    _w("POST", "/v1/clients/{id}/discount", "give_discount", CLIENT),
    _w("DELETE", "/v1/clients/{id}/discount", "remove_discount", CLIENT),
    # API §3 lists the cabinet link among the reads, but making a token is a write (DOMAIN
    # §8.1: a new token revokes the previous one), so it is a command like any other.
    _w("POST", "/v1/clients/{id}/cabinet-link", "issue_cabinet_link", CLIENT, created=True),
    _w("DELETE", "/v1/clients/{id}/cabinet-link", "revoke_cabinet_link", CLIENT),
    # DOMAIN §8.2: staff register a parent's cabinet user (the answer holds its single-use
    # invitation), re-invite it (a lost login) and sign it out.
    _w("POST", "/v1/cabinet-users", "invite_cabinet_user", created=True),
    _w("POST", "/v1/cabinet-users/{id}/invitation", "reinvite_cabinet_user", {"id": "user_id"}, created=True),
    _w("DELETE", "/v1/cabinet-users/{id}/login", "revoke_cabinet_user_login", {"id": "user_id"}),
    _w("POST", "/v1/courses", "create_course", created=True),
    _w("POST", "/v1/groups", "create_group", created=True),
    _w("POST", "/v1/registrations", "register", created=True),
    _w("POST", "/v1/registrations/{id}/confirm", "confirm_registration", REGISTRATION),
    _w("POST", "/v1/registrations/{id}/cancel", "cancel_registration", REGISTRATION),
    _w("POST", "/v1/registrations/{id}/transfer", "transfer_registration", REGISTRATION),
    _w("POST", "/v1/registrations/{id}/credits", "grant_credit", REGISTRATION, created=True),
    _w("POST", "/v1/credits/{id}/use", "use_credit", CREDIT),
    _w("POST", "/v1/credits/{id}/void", "void_credit", CREDIT),
    _w("POST", "/v1/pass-templates", "create_pass_template", created=True),
    _w("POST", "/v1/passes", "sell_pass", created=True),
    _w("POST", "/v1/passes/{id}/extend", "extend_pass", PASS),
    _w("POST", "/v1/passes/{id}/correct-validity", "correct_pass_validity", PASS),
    _w("POST", "/v1/passes/{id}/virtual-visits", "add_virtual_visits", PASS),
    _w("POST", "/v1/passes/{id}/recalculate", "recalculate_pass", PASS),
    _w("POST", "/v1/passes/{id}/refund", "refund_pass", PASS),
    _w("POST", "/v1/passes/{id}/void", "void_pass", PASS),
    _w("POST", "/v1/passes/{id}/expire", "expire_pass", PASS),  # extension: breakage (DOMAIN §6.3)
    _w("POST", "/v1/lesson-transfers", "transfer_lessons", created=True),
    _w("POST", "/v1/visits", "record_visit", created=True),
    _w("POST", "/v1/visits/{id}/cancel", "cancel_visit", {"id": "visit_id"}),
    _w("POST", "/v1/payments", "receive_payment", created=True),
    _w("POST", "/v1/transactions/{id}/cancel", "cancel_transaction", {"id": "transaction_id"}),
    _w("POST", "/v1/corrections", "post_correction", created=True),
    _w("POST", "/v1/tier-downgrades", "request_tier_downgrade", created=True),
    # The schedule (API §8, DOMAIN §7.2–§7.4).
    _w("POST", "/v1/rooms", "add_room", created=True),
    _w("POST", "/v1/instructors", "add_instructor", created=True),
    _w("POST", "/v1/branches/{id}/hours", "set_branch_hours", {"id": "branch_id"}),
    _w("POST", "/v1/lessons", "schedule_lessons", created=True),
    _w("POST", "/v1/lessons/{id}/cancel", "cancel_lesson", LESSON),
    _w("POST", "/v1/lessons/{id}/bookings", "book_lesson", LESSON, created=True),
    _w("DELETE", "/v1/lessons/{id}/bookings/{client_id}", "unbook_lesson", {"id": "lesson_id", "client_id": "client_id"}),
    # Staff keys (a director's): issue one (shown once), revoke one by its id (GET /v1/keys).
    _w("POST", "/v1/keys", "create_key", created=True),
    _w("POST", "/v1/keys/{id}/revoke", "revoke_key", {"id": "key_id"}),
)

ROUTE_OF: dict[str, WriteRoute] = {w.command: w for w in WRITES}


def runnable(spec: CommandSpec | None) -> TypeGuard[CommandSpec]:
    """Whether a command can run with a staff key: registered, not tenant set-up (CLI
    only), and not a cabinet user's own (those run only behind ``/cabinet/me``, signed in)."""
    return spec is not None and spec.need not in ("system", "cabinet")


# ---- query parameters ----------------------------------------------------------------------

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


# ---- reads -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadRoute:
    path: str
    name: str  # operationId; app.py serves it with its handler of this name
    summary: str
    query: type[BaseModel] | None = None
    public: bool = False  # no key needed


READS: tuple[ReadRoute, ...] = (
    ReadRoute("/healthz", "health", "Liveness", public=True),
    ReadRoute("/openapi.json", "openapi_json", "This document", public=True),
    ReadRoute("/docs", "docs", "Human-readable API documentation", public=True),
    ReadRoute("/v1/clients", "list_clients", "Search clients (DOMAIN §2.7)", ClientsQuery),
    ReadRoute("/v1/clients/{id}", "client_card", "The client card"),
    ReadRoute("/v1/clients/{id}/history", "client_history",
              "Every event of the client and of what is theirs (registrations, credits, passes, visits, journal "
              "transactions, cabinet and family links), oldest first, paged (DOMAIN §9.2)", Paged),
    ReadRoute("/v1/clients/{id}/balance", "client_balance", "The client's balance as of an instant (DOMAIN §6.5)", AsOfQuery),
    ReadRoute("/v1/clients/{id}/finance", "client_finance", "The client's finance history (DOMAIN §6.7)", FinanceQuery),
    ReadRoute("/v1/clients/{id}/export", "client_export",
              "Everything the school holds about the client, decrypted: card, history, finance (DOMAIN §2.9, API §9)"),
    ReadRoute("/v1/reports/active-clients", "active_clients", "Active and inactive clients at an instant (DOMAIN §5)", AtQuery),
    ReadRoute("/v1/reports/activity", "activity_report", "The month's peak, its day, the count at month end, the tier (DOMAIN §5)", MonthQuery),
    ReadRoute("/v1/reports/passes", "passes_report", "Passes whose validity overlaps a range", PassesQuery),
    ReadRoute("/v1/payments", "payments_report", "The payments report: cancelled payments left out unless asked for "
              "(DOMAIN §6.4)", PaymentsQuery),
    ReadRoute("/v1/branches", "list_branches", "The tenant's branches, each with its city", Paged),
    ReadRoute("/v1/lesson-types", "list_lesson_types", "The lesson types with their single-visit price", Paged),
    ReadRoute("/v1/custom-fields", "list_custom_fields", "The custom fields declared for clients (DOMAIN §2.1)", Paged),
    ReadRoute("/v1/courses", "list_courses", "The courses, each with its lesson type (DOMAIN §3.1)", Paged),
    ReadRoute("/v1/groups", "list_groups", "The groups with capacity, registered and waitlisted (DOMAIN §3.1)", GroupsQuery),
    ReadRoute("/v1/groups/{id}", "group_detail", "One group: its registrations, and its waitlist in promotion order "
              "(DOMAIN §3.2)"),
    ReadRoute("/v1/pass-templates", "list_pass_templates", "The pass templates on sale: their ids sell passes (DOMAIN §4.1)",
              Paged),
    ReadRoute("/v1/passes/{id}", "pass_detail", "One pass: lessons, validity, state and money figures"),
    ReadRoute("/v1/passes/{id}/recalculation", "recalculation_preview",
              "Before the money moves: the pass's actual value and the templates offered with their difference "
              "(DOMAIN §4.7)", RecalculationQuery),
    ReadRoute("/v1/passes/{id}/refund", "refund_preview",
              "Before the money moves: the consumed value and the refund (DOMAIN §4.8)"),
    ReadRoute("/v1/ledger/journal", "journal", "The journal (DOMAIN §6)", JournalQuery),
    ReadRoute("/v1/ledger/trial-balance", "trial_balance", "Every account's balance as of an instant", AsOfQuery),
    ReadRoute("/v1/cabinet-users/{id}", "cabinet_user",
              "A parent's cabinet login for the front desk: signed in, open invitation, linked clients, "
              "today's failed proofs (DOMAIN §8.2)"),
    ReadRoute("/v1/keys", "list_keys",
              "The staff keys you manage, oldest first: holder, role, city, issued, revoked (never a key)", KeysQuery),
    ReadRoute("/v1/audit/verify", "audit_verify", "Check the tenant's event hash chain and its head (DOMAIN §9.3, §9.4)",
              AuditVerifyQuery),
    ReadRoute("/v1/audit/actions", "audit_actions",
              "Who did what: every command's actor, role, command, aggregate and outcome, refusals included "
              "(directors and accountants)", AuditActionsQuery),
    ReadRoute("/v1/lessons", "list_lessons", "Lessons by range, branch, room, instructor, client or group; "
              "format=ics for a calendar feed (DOMAIN §7.2)", LessonsQuery),
    ReadRoute("/v1/lessons/{id}", "lesson", "One lesson with its register: booked clients and their attendance (§7.4)"),
    ReadRoute("/v1/clients/{id}/lessons", "client_lessons", "The lessons a client is booked on (§7.2)", LessonsQuery),
    ReadRoute("/v1/rooms", "list_rooms", "The rooms of every branch (§7.4)"),
    ReadRoute("/v1/rooms/{id}/week", "room_week", "A room's week, Monday to Sunday (§7.4)", WeekQuery),
    ReadRoute("/v1/instructors", "list_instructors", "The instructors and the lesson types they teach (§7.4)"),
    ReadRoute("/v1/instructors/{id}/week", "instructor_week", "An instructor's week, Monday to Sunday (§7.4)", WeekQuery),
    ReadRoute("/cabinet/{token}", "cabinet", "The client's read-only cabinet (DOMAIN §8.1)", public=True),
)


# ---- the family cabinet (DOMAIN §8.2) ----------------------------------------------------


class RedeemBody(Query):
    invitation: str = Field(min_length=1, max_length=200, description="the invitation staff gave you")


class ProofBody(Query):
    """One client's proof: all three must match what the school recorded."""

    phone: Label = Field(min_length=1, max_length=40, description="the client's phone, any formatting")
    birth_date: Day = Field(description="the client's birth date, YYYY-MM-DD")
    surname: Label = Field(min_length=1, max_length=200, description="the client's surname (case and accents do not matter)")


@dataclass(frozen=True)
class CabinetRoute:
    """A route of a parent's own cabinet: a cabinet login's Bearer token, never a staff key
    (``signed_in=False``: the one route that makes the login)."""

    method: str
    path: str
    name: str  # app.py serves it with the FamilyCabinet method of this name
    command: str  # the one command it runs ("" for a read)
    summary: str
    body: type[Query] | None = None
    status: int = 200
    signed_in: bool = True


CABINET_ROUTES: tuple[CabinetRoute, ...] = (
    CabinetRoute("POST", "/cabinet/users", "redeem", "redeem_cabinet_invitation", "Redeem an invitation for a cabinet login (DOMAIN §8.2)",
                 RedeemBody, 201, signed_in=False),
    CabinetRoute("GET", "/cabinet/me", "me", "",
                 "Your linked clients: invoices, payments, attendance, make-ups, group transfers (DOMAIN §8.2)"),
    CabinetRoute("DELETE", "/cabinet/me/login", "sign_out", "revoke_cabinet_login", "Sign out: this login token stops working"),
    CabinetRoute("POST", "/cabinet/me/links", "link", "link_cabinet_client", "Prove a client's phone, birth date and surname, and link it",
                 ProofBody, 201),
    CabinetRoute("DELETE", "/cabinet/me/links/{client_id}", "unlink", "unlink_cabinet_client", "Take a client off your login"),
)


# Path parameters are record ids (UUIDs) except these, which are free text.
TEXT_PARAMS = frozenset({"tag", "token"})


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


def openapi_path(path: str) -> str:
    """The path as OpenAPI writes it: without starlette's convertors ({tag:path} → {tag})."""
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)
