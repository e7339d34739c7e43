"""The auditor's reads (DOMAIN §9.3, §9.4): the hash chain verified, its head, and the
staff action log (who did what: store/staff_actions.py).

Both entry points (``classledger audit ...`` and ``GET /v1/audit/...``) answer from here,
with the same bodies.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from uuid import UUID

import orjson

from classledger.aggregates.errors import Forbidden, Invalid
from classledger.application.principal import Principal
from classledger.instants import iso
from classledger.store import hashchain
from classledger.store.database import Store

# Who reads the staff action log: those who answer for the school and its books.
AUDITORS = frozenset({"director", "regional_director", "accountant"})

_HEAD = re.compile(r"^[0-9a-fA-F]{64}$")


def parse_head(text: str) -> bytes:
    """A head's hash as ``audit head`` printed it: 64 hex digits."""
    if not _HEAD.match(text.strip()):
        raise Invalid("invalid_head", "a head is the 64 hex digits of its hash, as `audit head` prints it",
                      field="expect_head")
    return bytes.fromhex(text.strip())


def verify_chain(store: Store, tenant_id: UUID, expect_head: bytes | None = None) -> dict[str, Any]:
    """The tenant's chain recomputed from its first event under the deployment's key:
    ``ok``, how many events were checked, the first that does not match, the ``head``;
    with ``expect_head``, whether the log still reaches that head. ``key`` names the key
    (its fingerprint), never shows it."""
    report = hashchain.verify(
        tenant_id, store.recorder.chain_rows(tenant_id), key=store.audit_key.secret, expect_head=expect_head
    )
    return {**report.as_json(), "key": store.audit_key.as_json()}


def staff_actions(
    store: Store,
    principal: Principal,
    *,
    actor: str | None = None,
    from_us: int | None = None,
    to_us: int | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    """``GET /v1/audit/actions``: the tenant's staff actions in time order, paged:
    ``{"items", "total", "next_cursor"}``. ``actor`` is a staff member's name as their
    key records it, or their staff id. ``total`` counts every match, not the rest."""
    if principal.role not in AUDITORS:
        raise Forbidden("forbidden_role", "the staff action log is read by directors and accountants",
                        role=principal.role, needs=sorted(AUDITORS))
    staff_id = _as_uuid(actor)
    rows, total = store.recorder.staff_actions(
        principal.tenant_id, actor=None if staff_id is not None else actor, staff_id=staff_id,
        from_us=from_us, to_us=to_us, after=None if cursor is None else _decode_cursor(cursor), limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [_item(r) for r in rows],
        "total": total,
        "next_cursor": _encode_cursor(rows[-1][2], rows[-1][0]) if more else None,
    }


def _item(r: tuple[Any, ...]) -> dict[str, Any]:
    (seq, _tenant, at_us, actor, staff_id, role, command, outcome, code, status, aggregate_id, aggregate_ids,
     events, notification_id, reason) = r
    return {
        "id": seq,
        "at": iso(at_us),
        "actor": actor,
        "staff_id": str(staff_id),
        "role": role,
        "command": command,
        "outcome": outcome,
        "error": None if code is None else {"code": code, "status": status},
        "aggregate_id": None if aggregate_id is None else str(UUID(str(aggregate_id))),
        "aggregate_ids": orjson.loads(aggregate_ids),
        "events": events,
        "notification_id": notification_id,
        "reason": reason,
    }


def _as_uuid(text: str | None) -> UUID | None:
    if text is None:
        return None
    try:
        return UUID(text)
    except ValueError:
        return None


def _encode_cursor(at_us: int, seq: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([at_us, seq])).decode().rstrip("=")


def _decode_cursor(text: str) -> tuple[int, int]:
    try:
        at_us, seq = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if type(at_us) is int and type(seq) is int:
            return at_us, seq
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        pass
    raise Invalid("invalid_cursor", "the cursor is not one this API gave out", parameter="cursor")
