"""The auditor's reads (DOMAIN §9.3, §9.4): the hash chain verified, its head.

Both entry points (``classledger audit ...`` and ``GET /v1/audit/...``) answer from here,
with the same bodies.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from classledger.aggregates.errors import Invalid
from classledger.store import hashchain
from classledger.store.database import Store

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
