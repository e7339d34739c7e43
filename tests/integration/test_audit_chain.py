"""The keyed, anchored hash chain (DOMAIN §9.3, §9.4), on both databases.

An auditor keeps the chain's head outside the system and verifies the log against it
later. Each story below tampers with the stored rows directly, as someone with write
access to the database (and nothing else) could: an altered event, a removed middle
event, a removed newest event, and an edit with every later link recomputed. Each is
caught; the last two only thanks to the kept head and the key.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from classledger.application.audit import verify_chain
from classledger.application.tenants import system_principal
from classledger.store import hashchain
from classledger.store.audit_key import DEVELOPMENT_KEY, DEVELOPMENT_SECRET, AuditKey
from classledger.system import System

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Forge = Callable[[bytes, uuid.UUID, uuid.UUID, int, str, int, bytes], bytes]
KEY = AuditKey(b"the school's audit key, kept in the deployment, not the database", "test")


@pytest.fixture
def keyed(database_url: str) -> Iterator[System]:
    """The system as a deployment runs it: under its own audit key."""
    s = System.open(database_url, audit_key=KEY)
    yield s
    s.close()


def school(system: System, branches: int = 4) -> uuid.UUID:
    """A tenant with a key and a few branches: 2 + ``branches`` events."""
    tenant_id = uuid.uuid4()
    who = system_principal(tenant_id)
    system.execute(who, "create_tenant", {"name": "Slniečko", "timezone": "Europe/Bratislava", "currency": "EUR",
                                          "tiers": [["S", 100]]}, at=T0)
    system.execute(who, "issue_key", {"role": "director", "staff": "Jana Nováková"}, at=T0)
    for i in range(branches):
        system.execute(who, "add_branch", {"name": f"Pobočka {i}", "city": "Žilina"}, at=T0 + timedelta(days=i))
    return tenant_id


def rows(system: System, tenant_id: uuid.UUID) -> list[tuple[int, uuid.UUID, int, str, int, bytes, bytes]]:
    return list(system.store.recorder.chain_rows(tenant_id))


def sql(system: System, text: str, params: tuple[Any, ...]) -> None:
    """A statement on the events table, behind the application's back."""
    with system.store.db.write() as tx:
        tx.execute(text.replace("EVENTS", system.store.recorder._events), params)


def head_of(system: System, tenant_id: uuid.UUID) -> str:
    answer = verify_chain(system.store, tenant_id)
    assert answer["ok"], answer
    return str(answer["head"]["hash"])


def test_an_intact_chain_verifies_and_answers_its_head(keyed: System) -> None:
    # DOMAIN §9.4: the head is the last notification id and its link.
    tenant_id = school(keyed)
    stored = rows(keyed, tenant_id)
    answer = verify_chain(keyed.store, tenant_id)
    assert answer["ok"]
    assert answer["events_checked"] == 6
    assert answer["head"] == {"notification_id": stored[-1][0], "hash": stored[-1][6].hex()}
    assert answer["key"] == {"fingerprint": KEY.fingerprint, "development": False}


def test_the_links_are_keyed(keyed: System) -> None:
    # DOMAIN §9.3: the same events under another key (or none) make another chain.
    tenant_id = school(keyed, branches=1)
    first = rows(keyed, tenant_id)[0]
    _nid, oid, version, topic, at_us, state, chain = first
    assert chain == hashchain.link(hashchain.GENESIS, tenant_id, oid, version, topic, at_us, state, KEY.secret)
    assert chain != hashchain.link(hashchain.GENESIS, tenant_id, oid, version, topic, at_us, state, DEVELOPMENT_SECRET)


def test_an_altered_event_is_found(keyed: System) -> None:
    tenant_id = school(keyed)
    victim = rows(keyed, tenant_id)[3]
    sql(keyed, "UPDATE EVENTS SET state = ? WHERE notification_id = ?",
        (victim[5].replace(b"Pobo", b"Xobo"), victim[0]))
    answer = verify_chain(keyed.store, tenant_id)
    assert not answer["ok"]
    assert answer["first_bad_notification_id"] == victim[0]
    assert answer["events_checked"] == 3
    assert answer["head"] is None  # a broken chain gives no head to keep


def test_a_row_rewritten_with_values_of_another_type_is_found_not_a_crash(keyed: System, engine: str) -> None:
    # SQLite keeps whatever type an UPDATE writes (PostgreSQL's column types refuse it):
    # text where the state's bytes were, or an id that is no UUID, is a broken link.
    if engine != "sqlite":
        pytest.skip("PostgreSQL's column types refuse such a row")
    tenant_id = school(keyed)
    stored = rows(keyed, tenant_id)
    sql(keyed, "UPDATE EVENTS SET state = ? WHERE notification_id = ?",
        (stored[2][5].decode().replace("Pobo", "Xobo"), stored[2][0]))
    assert verify_chain(keyed.store, tenant_id)["first_bad_notification_id"] == stored[2][0]
    sql(keyed, "UPDATE EVENTS SET state = ?, originator_id = 'not a uuid' WHERE notification_id = ?",
        (stored[2][5], stored[2][0]))
    assert verify_chain(keyed.store, tenant_id)["first_bad_notification_id"] == stored[2][0]


def test_a_removed_middle_event_is_found(keyed: System) -> None:
    tenant_id = school(keyed)
    stored = rows(keyed, tenant_id)
    sql(keyed, "DELETE FROM EVENTS WHERE notification_id = ?", (stored[2][0],))
    answer = verify_chain(keyed.store, tenant_id)
    assert not answer["ok"]
    assert answer["first_bad_notification_id"] == stored[3][0]  # the event after the gap


def test_a_removed_newest_event_is_found_against_the_kept_head(keyed: System) -> None:
    # DOMAIN §9.4: the log alone still looks whole once its tail is cut; the head the
    # auditor kept is what shows the cut.
    tenant_id = school(keyed)
    stored = rows(keyed, tenant_id)
    kept = head_of(keyed, tenant_id)
    sql(keyed, "DELETE FROM EVENTS WHERE notification_id = ?", (stored[-1][0],))

    alone = verify_chain(keyed.store, tenant_id)
    assert alone["ok"]
    assert alone["head"]["notification_id"] == stored[-2][0]

    against = verify_chain(keyed.store, tenant_id, bytes.fromhex(kept))
    assert not against["ok"]
    assert against["expected_head"] == {"hash": kept, "found": False, "notification_id": None, "events_after": None}
    assert "does not reach the expected head" in against["detail"]


def test_the_kept_head_still_verifies_after_new_events(keyed: System) -> None:
    # An auditor's head from last month stays good while the school keeps working: the
    # log must pass through it; what came after is verified and counted.
    tenant_id = school(keyed)
    kept_nid, kept = rows(keyed, tenant_id)[-1][0], head_of(keyed, tenant_id)
    who = system_principal(tenant_id)
    for i in range(3):
        keyed.execute(who, "add_branch", {"name": f"Nová {i}", "city": "Nitra"}, at=T0 + timedelta(days=30))
    answer = verify_chain(keyed.store, tenant_id, bytes.fromhex(kept))
    assert answer["ok"], answer
    assert answer["expected_head"] == {"hash": kept, "found": True, "notification_id": kept_nid, "events_after": 3}
    assert answer["head"]["hash"] != kept


def plain_sha256(prev: bytes, tenant_id: uuid.UUID, oid: uuid.UUID, version: int, topic: str, at_us: int,
                 state: bytes) -> bytes:
    """The link's fields as the format lays them out, hashed with no key at all."""
    h = hashlib.sha256()
    for part in (prev, tenant_id.bytes, oid.bytes, version.to_bytes(8, "big", signed=True), topic.encode(),
                 at_us.to_bytes(8, "big", signed=True), state):
        h.update(len(part).to_bytes(8, "big") + part)
    return h.digest()


def with_development_key(prev: bytes, tenant_id: uuid.UUID, oid: uuid.UUID, version: int, topic: str, at_us: int,
                         state: bytes) -> bytes:
    return hashchain.link(prev, tenant_id, oid, version, topic, at_us, state, DEVELOPMENT_SECRET)


@pytest.mark.parametrize("forge", [with_development_key, plain_sha256])
def test_an_edit_with_the_chain_recomputed_without_the_key_is_found(keyed: System, forge: Forge) -> None:
    # DOMAIN §9.3: whoever can write the database but lacks the key edits an event and
    # recomputes every later link with the published format: the first forged link fails.
    tenant_id = school(keyed)
    stored = rows(keyed, tenant_id)
    prev = stored[1][6]
    for nid, oid, version, topic, at_us, state, _ in stored[2:]:
        if nid == stored[2][0]:
            state = state.replace(b"Pobo", b"Xobo")
        prev = forge(prev, tenant_id, oid, version, topic, at_us, state)
        sql(keyed, "UPDATE EVENTS SET state = ?, chain = ? WHERE notification_id = ?", (state, prev, nid))
    answer = verify_chain(keyed.store, tenant_id)
    assert not answer["ok"]
    assert answer["first_bad_notification_id"] == stored[2][0]


def test_an_edit_recomputed_even_with_the_key_is_found_against_the_kept_head(keyed: System) -> None:
    # DOMAIN §9.4: someone holding both the database and the key can forge a consistent
    # chain, but not the head the auditor took before the edit.
    tenant_id = school(keyed)
    stored = rows(keyed, tenant_id)
    kept = head_of(keyed, tenant_id)
    prev = stored[1][6]
    for nid, oid, version, topic, at_us, state, _ in stored[2:]:
        state = state.replace(b"Pobo", b"Xobo")
        prev = hashchain.link(prev, tenant_id, oid, version, topic, at_us, state, KEY.secret)
        sql(keyed, "UPDATE EVENTS SET state = ?, chain = ? WHERE notification_id = ?", (state, prev, nid))
    assert verify_chain(keyed.store, tenant_id)["ok"]  # consistent on its own...
    assert not verify_chain(keyed.store, tenant_id, bytes.fromhex(kept))["ok"]  # ...but not the kept head


def test_a_log_written_under_another_key_does_not_verify(database_url: str) -> None:
    # The key belongs to the deployment: a store verified under another key fails at its
    # first event, and the answer's fingerprint shows which key was used.
    with_key = System.open(database_url, audit_key=KEY)
    try:
        tenant_id = school(with_key, branches=1)
        first_nid = rows(with_key, tenant_id)[0][0]
    finally:
        with_key.close()
    other = System.open(database_url)  # the development key
    try:
        answer = verify_chain(other.store, tenant_id)
        assert not answer["ok"]
        assert answer["first_bad_notification_id"] == first_nid
        assert answer["key"] == {"fingerprint": DEVELOPMENT_KEY.fingerprint, "development": True}
        assert DEVELOPMENT_KEY.fingerprint != KEY.fingerprint
    finally:
        other.close()


def test_the_demo_school_its_import_and_a_replay_verify_under_the_key(keyed: System) -> None:
    # The demo is written by the importer through the command path: its chain, and its
    # head, hold under the deployment's key, and still hold after every projection is
    # rebuilt from the events (a replay reads the log and never writes it).
    from classledger.demo import demo_tenant_id, generate
    from classledger.projections import replay

    generate(keyed, clients=8, seed=3)
    tenant_id = demo_tenant_id(3)
    answer = verify_chain(keyed.store, tenant_id)
    assert answer["ok"], answer
    assert answer["events_checked"] > 50
    replay.rebuild(keyed.store, ["all"])
    again = verify_chain(keyed.store, tenant_id, bytes.fromhex(answer["head"]["hash"]))
    assert again["ok"], again
    assert again["expected_head"]["events_after"] == 0
