"""The hash chain's bytes are a published format (DOMAIN §9.3): an auditor recomputes it
from the stored rows with nothing but HMAC-SHA256 and the deployment's audit key, so a
link must never change meaning."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from classledger.store import hashchain

TENANT, AGG = uuid.UUID(int=5), uuid.UUID(int=7)
KEY = b"an auditor's test key, 32 characters or more"


def _by_hand(prev: bytes, version: int, topic: str, at_us: int, state: bytes, key: bytes = KEY) -> bytes:
    """The format as the docs state it: HMAC-SHA256 under the audit key over the fields,
    each length-prefixed (8 bytes, big-endian)."""
    h = hmac.new(key, digestmod=hashlib.sha256)
    for field in (prev, TENANT.bytes, AGG.bytes, version.to_bytes(8, "big", signed=True), topic.encode(),
                  at_us.to_bytes(8, "big", signed=True), state):
        h.update(len(field).to_bytes(8, "big"))
        h.update(field)
    return h.digest()


def test_a_link_is_an_hmac_over_length_prefixed_fields() -> None:
    got = hashchain.link(b"abc", TENANT, AGG, 3, "x.y:Z", 1234567, b'{"a":1}', KEY)
    assert got == _by_hand(b"abc", 3, "x.y:Z", 1234567, b'{"a":1}')
    assert got.hex() == "523dd37bd74bf3a734b92735d54bb17996a2db5bd1e79719a4c6a5d993f00e38"


def test_negative_instants_and_long_states_link_too() -> None:
    state = b"x" * 100_000
    assert hashchain.link(b"", TENANT, AGG, 1, "t", -5, state, KEY) == _by_hand(b"", 1, "t", -5, state)


def test_verify_names_the_first_altered_row() -> None:
    rows, prev = [], hashchain.GENESIS
    for n in range(1, 6):
        chain = hashchain.link(prev, TENANT, AGG, n, "t", n, b"s%d" % n, KEY)
        rows.append((n, AGG, n, "t", n, b"s%d" % n, chain))
        prev = chain
    assert hashchain.verify(TENANT, rows, key=KEY).ok
    rows[2] = (*rows[2][:5], b"tampered", rows[2][6])
    report = hashchain.verify(TENANT, rows, key=KEY)
    assert not report.ok
    assert report.first_bad_notification_id == 3
    assert report.events_checked == 2
