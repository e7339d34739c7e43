"""The tamper-evident chain over stored events (DOMAIN §9.3, §9.4).

Each tenant's events form one chain in notification order:
``chain_n = HMAC-SHA256(key, chain_{n-1} || fields of event n)``. The fields are
length-prefixed so no two different events can hash alike by shifting bytes between
fields. An auditor recomputes the chain from the first event; any altered, removed or
reordered row breaks every link after it.

Two things the links alone cannot show, and what closes them:

* an edit followed by recomputing every later link: the links are keyed, and the key is
  kept outside the database (audit_key.py), so write access to the database is not
  enough to forge them;
* a removed newest event (or several): the log simply ends earlier. The auditor keeps
  the chain's **head** (the last notification id and its link) outside the system and
  verifies against it later (``expect_head``): a log that no longer reaches that link
  fails, as an altered one does.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from classledger.store.audit_key import DEVELOPMENT_SECRET

GENESIS = b""


_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")
_SIXTEEN = _U64.pack(16)
_EIGHT = _U64.pack(8)


def link(
    prev: bytes,
    tenant_id: UUID,
    originator_id: UUID,
    originator_version: int,
    topic: str,
    at_us: int,
    state: bytes,
    key: bytes = DEVELOPMENT_SECRET,
) -> bytes:
    # Each field is its 8-byte big-endian length, then its bytes; one buffer, one
    # one-shot HMAC (OpenSSL's, no Python object per link).
    t = topic.encode()
    return hmac.digest(key, b"".join((
        _U64.pack(len(prev)), prev,
        _SIXTEEN, tenant_id.bytes,
        _SIXTEEN, originator_id.bytes,
        _EIGHT, _I64.pack(originator_version),
        _U64.pack(len(t)), t,
        _EIGHT, _I64.pack(at_us),
        _U64.pack(len(state)), state,
    )), "sha256")


@dataclass(frozen=True)
class Head:
    """Where a tenant's chain ends: what an auditor keeps (DOMAIN §9.4)."""

    notification_id: int
    hash: bytes

    def as_json(self) -> dict[str, Any]:
        return {"notification_id": self.notification_id, "hash": self.hash.hex()}


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    first_bad_notification_id: int | None = None
    detail: str | None = None
    # The last link of an intact chain (None when the chain is broken or empty).
    head: Head | None = None
    # With ``expect_head``: that link, where it was found, how many events came after it.
    expected_head: bytes | None = None
    expected_head_notification_id: int | None = None
    events_after_expected_head: int | None = None

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "first_bad_notification_id": self.first_bad_notification_id,
            "detail": self.detail,
            "head": None if self.head is None else self.head.as_json(),
        }
        if self.expected_head is not None:
            answer["expected_head"] = {
                "hash": self.expected_head.hex(),
                "found": self.expected_head_notification_id is not None,
                "notification_id": self.expected_head_notification_id,
                "events_after": self.events_after_expected_head,
            }
        return answer


def verify(
    tenant_id: UUID,
    rows: Iterable[tuple[int, UUID, int, str, int, bytes, bytes]],
    *,
    key: bytes = DEVELOPMENT_SECRET,
    expect_head: bytes | None = None,
) -> ChainReport:
    """Rows: (notification_id, originator_id, version, topic, at_us, state, chain), in order.

    With ``expect_head`` (a link an auditor kept), the chain must also pass through that
    link: a log that ends before it, or no longer holds it, fails. Events recorded after
    it are verified like the rest and counted (``events_after_expected_head``).
    """
    prev = GENESIS
    n = 0
    last = 0
    found_at: int | None = None  # events_checked when the expected link went by
    expected_nid = 0
    for nid, oid, version, topic, at_us, state, chain in rows:
        try:
            expected = link(prev, tenant_id, oid, version, topic, at_us, state, key)
        except (TypeError, ValueError, AttributeError, OverflowError, struct.error):
            expected = None  # a field of the wrong type: it cannot be the row that was linked
        if expected is None or not isinstance(chain, bytes) or not hmac.compare_digest(expected, chain):
            return ChainReport(
                ok=False,
                events_checked=n,
                first_bad_notification_id=nid,
                detail=f"event {oid} v{version} does not match its link in the chain",
                expected_head=expect_head,
            )
        prev, last = chain, nid
        n += 1
        if expect_head is not None and found_at is None and hmac.compare_digest(chain, expect_head):
            found_at, expected_nid = n, nid
    head = Head(last, prev) if n else None
    if expect_head is None:
        return ChainReport(ok=True, events_checked=n, head=head)
    if found_at is None:
        ends = f"it ends at notification {last}" if n else "it holds no event"
        return ChainReport(
            ok=False,
            events_checked=n,
            detail=f"the log does not reach the expected head: {ends}; the events up to that head "
            "were removed or replaced",
            head=head,
            expected_head=expect_head,
        )
    return ChainReport(
        ok=True, events_checked=n, head=head,
        expected_head=expect_head, expected_head_notification_id=expected_nid,
        events_after_expected_head=n - found_at,
    )
