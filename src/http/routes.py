"""The write routes of API §3, as one table: (method, path, command, path params → args)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WriteRoute:
    method: str
    path: str
    command: str
    params: tuple[tuple[str, str], ...] = ()  # (path param, arg name)
    creates: bool = False


def _r(method: str, path: str, command: str, *params: tuple[str, str], creates: bool = False) -> WriteRoute:
    return WriteRoute(method, path, command, tuple(params), creates)


C = ("id", "client_id")
WRITES: tuple[WriteRoute, ...] = (
    _r("POST", "/v1/branches", "add_branch", creates=True),
    _r("POST", "/v1/lesson-types", "define_lesson_type", creates=True),
    _r("POST", "/v1/custom-fields", "define_custom_field", creates=True),
    _r("POST", "/v1/clients", "register_client", creates=True),
    _r("PATCH", "/v1/clients/{id}", "update_client", C),
    _r("POST", "/v1/clients/{id}/tags", "tag_client", C),
    _r("DELETE", "/v1/clients/{id}/tags/{tag}", "untag_client", C, ("tag", "tag")),
    _r("POST", "/v1/clients/{id}/family", "link_family", ("id", "parent_id")),
    _r("DELETE", "/v1/clients/{id}/family/{member_id}", "unlink_family", ("id", "parent_id"), ("member_id", "member_id")),
    _r("POST", "/v1/clients/{id}/freeze", "freeze_client", C),
    _r("POST", "/v1/clients/{id}/archive", "archive_client", C),
    _r("POST", "/v1/clients/{id}/restore", "restore_client", C),
    _r("POST", "/v1/clients/{id}/delete", "delete_client", C),
    _r("POST", "/v1/clients/{id}/waitlist", "join_waitlist", C),
    _r("DELETE", "/v1/clients/{id}/waitlist", "leave_waitlist", C),
    _r("POST", "/v1/clients/{id}/next-call", "set_next_call", C),
    _r("POST", "/v1/clients/{id}/write-off", "write_off_debt", C),
    _r("POST", "/v1/clients/{id}/discount", "give_discount", C),
    _r("DELETE", "/v1/clients/{id}/discount", "remove_discount", C),
    _r("POST", "/v1/courses", "create_course", creates=True),
    _r("POST", "/v1/groups", "create_group", creates=True),
    _r("POST", "/v1/registrations", "register", creates=True),
    _r("POST", "/v1/registrations/{id}/confirm", "confirm_registration", ("id", "registration_id")),
    _r("POST", "/v1/registrations/{id}/cancel", "cancel_registration", ("id", "registration_id")),
    _r("POST", "/v1/registrations/{id}/transfer", "transfer_registration", ("id", "registration_id")),
    _r("POST", "/v1/registrations/{id}/credits", "grant_credit", ("id", "registration_id"), creates=True),
    _r("POST", "/v1/credits/{id}/use", "use_credit", ("id", "credit_id")),
    _r("POST", "/v1/credits/{id}/void", "void_credit", ("id", "credit_id")),
    _r("POST", "/v1/pass-templates", "create_pass_template", creates=True),
    _r("POST", "/v1/passes", "sell_pass", creates=True),
    _r("POST", "/v1/passes/{id}/extend", "extend_pass", ("id", "pass_id")),
    _r("POST", "/v1/passes/{id}/correct-validity", "correct_pass_validity", ("id", "pass_id")),
    _r("POST", "/v1/passes/{id}/virtual-visits", "add_virtual_visits", ("id", "pass_id")),
    _r("POST", "/v1/passes/{id}/recalculate", "recalculate_pass", ("id", "pass_id")),
    _r("POST", "/v1/passes/{id}/refund", "refund_pass", ("id", "pass_id")),
    _r("POST", "/v1/passes/{id}/void", "void_pass", ("id", "pass_id")),
    _r("POST", "/v1/lesson-transfers", "transfer_lessons", creates=True),
    _r("POST", "/v1/visits", "record_visit", creates=True),
    _r("POST", "/v1/visits/{id}/cancel", "cancel_visit", ("id", "visit_id")),
    _r("POST", "/v1/payments", "receive_payment", creates=True),
    _r("POST", "/v1/transactions/{id}/cancel", "cancel_transaction", ("id", "transaction_id")),
    _r("POST", "/v1/corrections", "post_correction", creates=True),
    _r("POST", "/v1/tier-downgrades", "request_tier_downgrade", creates=True),
)
