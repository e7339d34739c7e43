"""Every route of API §3 as data: the write table, the read table, the family cabinet's.

The tables are the API's contract: the app mounts them, the OpenAPI document is written
from them, and the tests walk them. A write route names its command (the app refuses to
start when no staff key can run it); a read or cabinet route holds the handler that
serves it, and the handler's name is the route's operationId.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeGuard

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from classledger.application.registry import CommandSpec
from classledger.http.about import About
from classledger.http.cabinet import LinkCabinet
from classledger.http.family_cabinet import (
    LINK,
    REDEEM,
    SIGN_OUT,
    UNLINK,
    FamilyCabinet,
    ProofBody,
    RedeemBody,
)
from classledger.http.queries import (
    AsOfQuery,
    AtQuery,
    AuditActionsQuery,
    AuditVerifyQuery,
    ClientsQuery,
    FinanceQuery,
    GroupsQuery,
    JournalQuery,
    KeysQuery,
    LessonsQuery,
    MonthQuery,
    Paged,
    PassesQuery,
    PaymentsQuery,
    Query,
    RecalculationQuery,
    WeekQuery,
)
from classledger.http.readback import Readback
from classledger.http.reads import ClientReads
from classledger.http.schedule import ScheduleReads

if TYPE_CHECKING:
    from classledger.http.app import Api

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


# ---- reads -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadRoute:
    path: str
    endpoint: Callable[[Api, Request], Awaitable[Response]]  # a handler of the app's Api
    summary: str
    query: type[BaseModel] | None = None
    public: bool = False  # no key needed

    @property
    def name(self) -> str:
        """The operationId: the handler's name."""
        return self.endpoint.__name__


READS: tuple[ReadRoute, ...] = (
    ReadRoute("/healthz", About.health, "Liveness", public=True),
    ReadRoute("/openapi.json", About.openapi_json, "This document", public=True),
    ReadRoute("/docs", About.docs, "Human-readable API documentation", public=True),
    ReadRoute("/v1/clients", ClientReads.list_clients, "Search clients (DOMAIN §2.7)", ClientsQuery),
    ReadRoute("/v1/clients/{id}", ClientReads.client_card, "The client card"),
    ReadRoute("/v1/clients/{id}/history", Readback.client_history,
              "Every event of the client and of what is theirs (registrations, credits, passes, visits, journal "
              "transactions, cabinet and family links), oldest first, paged (DOMAIN §9.2)", Paged),
    ReadRoute("/v1/clients/{id}/balance", ClientReads.client_balance, "The client's balance as of an instant (DOMAIN §6.5)", AsOfQuery),
    ReadRoute("/v1/clients/{id}/finance", ClientReads.client_finance, "The client's finance history (DOMAIN §6.7)", FinanceQuery),
    ReadRoute("/v1/clients/{id}/export", ClientReads.client_export,
              "Everything the school holds about the client, decrypted: card, history, finance (DOMAIN §2.9, API §9)"),
    ReadRoute("/v1/reports/active-clients", ClientReads.active_clients, "Active and inactive clients at an instant (DOMAIN §5)", AtQuery),
    ReadRoute("/v1/reports/activity", ClientReads.activity_report, "The month's peak, its day, the count at month end, the tier (DOMAIN §5)", MonthQuery),
    ReadRoute("/v1/reports/passes", ClientReads.passes_report, "Passes whose validity overlaps a range", PassesQuery),
    ReadRoute("/v1/payments", Readback.payments_report, "The payments report: cancelled payments left out unless asked for "
              "(DOMAIN §6.4)", PaymentsQuery),
    ReadRoute("/v1/branches", Readback.list_branches, "The tenant's branches, each with its city", Paged),
    ReadRoute("/v1/lesson-types", Readback.list_lesson_types, "The lesson types with their single-visit price", Paged),
    ReadRoute("/v1/custom-fields", Readback.list_custom_fields, "The custom fields declared for clients (DOMAIN §2.1)", Paged),
    ReadRoute("/v1/courses", Readback.list_courses, "The courses, each with its lesson type (DOMAIN §3.1)", Paged),
    ReadRoute("/v1/groups", Readback.list_groups, "The groups with capacity, registered and waitlisted (DOMAIN §3.1)", GroupsQuery),
    ReadRoute("/v1/groups/{id}", Readback.group_detail, "One group: its registrations, and its waitlist in promotion order "
              "(DOMAIN §3.2)"),
    ReadRoute("/v1/pass-templates", Readback.list_pass_templates, "The pass templates on sale: their ids sell passes (DOMAIN §4.1)",
              Paged),
    ReadRoute("/v1/passes/{id}", Readback.pass_detail, "One pass: lessons, validity, state and money figures"),
    ReadRoute("/v1/passes/{id}/recalculation", Readback.recalculation_preview,
              "Before the money moves: the pass's actual value and the templates offered with their difference "
              "(DOMAIN §4.7)", RecalculationQuery),
    ReadRoute("/v1/passes/{id}/refund", Readback.refund_preview,
              "Before the money moves: the consumed value and the refund (DOMAIN §4.8)"),
    ReadRoute("/v1/ledger/journal", ClientReads.journal, "The journal (DOMAIN §6)", JournalQuery),
    ReadRoute("/v1/ledger/trial-balance", ClientReads.trial_balance, "Every account's balance as of an instant", AsOfQuery),
    ReadRoute("/v1/cabinet-users/{id}", ClientReads.cabinet_user,
              "A parent's cabinet login for the front desk: signed in, open invitation, linked clients, "
              "today's failed proofs (DOMAIN §8.2)"),
    ReadRoute("/v1/keys", ClientReads.list_keys,
              "The staff keys you manage, oldest first: holder, role, city, issued, revoked (never a key)", KeysQuery),
    ReadRoute("/v1/audit/verify", ClientReads.audit_verify, "Check the tenant's event hash chain and its head (DOMAIN §9.3, §9.4)",
              AuditVerifyQuery),
    ReadRoute("/v1/audit/actions", ClientReads.audit_actions,
              "Who did what: every command's actor, role, command, aggregate and outcome, refusals included "
              "(directors and accountants)", AuditActionsQuery),
    ReadRoute("/v1/lessons", ScheduleReads.list_lessons, "Lessons by range, branch, room, instructor, client or group; "
              "format=ics for a calendar feed (DOMAIN §7.2)", LessonsQuery),
    ReadRoute("/v1/lessons/{id}", ScheduleReads.lesson, "One lesson with its register: booked clients and their attendance (§7.4)"),
    ReadRoute("/v1/clients/{id}/lessons", ScheduleReads.client_lessons, "The lessons a client is booked on (§7.2)", LessonsQuery),
    ReadRoute("/v1/rooms", ScheduleReads.list_rooms, "The rooms of every branch (§7.4)"),
    ReadRoute("/v1/rooms/{id}/week", ScheduleReads.room_week, "A room's week, Monday to Sunday (§7.4)", WeekQuery),
    ReadRoute("/v1/instructors", ScheduleReads.list_instructors, "The instructors and the lesson types they teach (§7.4)"),
    ReadRoute("/v1/instructors/{id}/week", ScheduleReads.instructor_week, "An instructor's week, Monday to Sunday (§7.4)", WeekQuery),
    ReadRoute("/cabinet/{token}", LinkCabinet.cabinet, "The client's read-only cabinet (DOMAIN §8.1)", public=True),
)


# ---- the family cabinet (DOMAIN §8.2) ----------------------------------------------------


@dataclass(frozen=True)
class CabinetRoute:
    """A route of a parent's own cabinet: a cabinet login's Bearer token, never a staff key
    (``signed_in=False``: the one route that makes the login)."""

    method: str
    path: str
    endpoint: Callable[[FamilyCabinet, Request], Awaitable[Response]]
    command: str  # the one command it runs ("" for a read)
    summary: str
    body: type[Query] | None = None
    status: int = 200
    signed_in: bool = True

    @property
    def name(self) -> str:
        return self.endpoint.__name__


CABINET_ROUTES: tuple[CabinetRoute, ...] = (
    CabinetRoute("POST", "/cabinet/users", FamilyCabinet.redeem, REDEEM, "Redeem an invitation for a cabinet login (DOMAIN §8.2)",
                 RedeemBody, 201, signed_in=False),
    CabinetRoute("GET", "/cabinet/me", FamilyCabinet.me, "",
                 "Your linked clients: invoices, payments, attendance, make-ups, group transfers (DOMAIN §8.2)"),
    CabinetRoute("DELETE", "/cabinet/me/login", FamilyCabinet.sign_out, SIGN_OUT, "Sign out: this login token stops working"),
    CabinetRoute("POST", "/cabinet/me/links", FamilyCabinet.link, LINK, "Prove a client's phone, birth date and surname, and link it",
                 ProofBody, 201),
    CabinetRoute("DELETE", "/cabinet/me/links/{client_id}", FamilyCabinet.unlink, UNLINK, "Take a client off your login"),
)


# Path parameters are record ids (UUIDs) except these, which are free text.
TEXT_PARAMS = frozenset({"tag", "token"})


def path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)(?::\w+)?}", path)


def openapi_path(path: str) -> str:
    """The path as OpenAPI writes it: without starlette's convertors ({tag:path} → {tag})."""
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)
