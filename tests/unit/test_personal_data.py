"""A client's personal data is sealed with the client's own key (DOMAIN §2.8): what the
store keeps of an event, what it reads back, and what is left once the key is gone."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import orjson

from classledger.aggregates import client as c
from classledger.aggregates.base import Event, Meta, Snapshot
from classledger.store.codec import PydanticMapper, open_state
from classledger.store.personal import SEALED, KeyRing

META = Meta(tenant_id=uuid.uuid4(), at=datetime(2026, 4, 1, 8, tzinfo=UTC), actor="Jana", reason="moved to Graz")
BRANCH = uuid.uuid4()


def _mapper(ring: KeyRing) -> PydanticMapper:
    from classledger.store.codec import OrjsonTranscoder

    m = PydanticMapper(transcoder=OrjsonTranscoder())
    m.keyring = ring
    return m


def _stored_state(mapper: PydanticMapper, event: Event) -> tuple[dict[str, Any], Any]:
    stored = mapper.to_stored_event(event)  # type: ignore[arg-type]
    return orjson.loads(stored.state), stored


def test_registration_is_stored_sealed_and_read_back_whole() -> None:
    """§2.8: the stored state has ids and dates only; the key opens the rest."""
    ring = KeyRing()
    mapper = _mapper(ring)
    cid = uuid.uuid4()
    (event,) = c.register(cid, META, today=date(2026, 4, 1), name="Ľubica Šťastná", branch_id=BRANCH,
                          birth_date=date(2015, 3, 2), phones=["0905 111 222"], email="l@example.sk",
                          notes="asthma", tags=["vip"], consents={"photos": True}, custom_fields={"size": "S"})
    state, stored = _stored_state(mapper, event)
    assert set(state) == {"originator_id", "originator_version", "timestamp", "tenant_id", "actor",
                          "idempotency_key", "branch_id", SEALED}
    raw = stored.state.decode()
    for value in ("Šťastná", "Stastna", "0905", "l@example.sk", "asthma", "vip", "2015-03-02", "Graz"):
        assert value not in raw
    assert stored.new_key is not None  # the registration brings the client's key into being
    ring.settle(str(cid), stored.new_key, landed=True)
    assert mapper.to_domain_event(stored) == event


def test_without_the_key_the_personal_fields_read_as_empty_and_the_rest_stays() -> None:
    """§2.9: erased, the event still says what happened, to which ids and when."""
    ring = KeyRing()
    mapper = _mapper(ring)
    cid = uuid.uuid4()
    client = c.Client(id=cid, version=1, tenant_id=META.tenant_id, created_on=META.at, modified_on=META.at,
                      name="Märt", branch_id=BRANCH, phones=("5123 4567",))
    (changed,) = c.update(client, META, {"name": "Märt Tamm", "branch_id": uuid.uuid4(), "notes": "x"},
                          today=date(2026, 4, 1))
    ring.settle(str(cid), KeyRing().new_key("k"), landed=True)
    state, stored = _stored_state(mapper, changed)
    assert set(state["changes"]) == {"branch_id"}  # the branch stays in the clear
    ring.forget(str(cid))
    back = mapper.to_domain_event(stored)
    assert isinstance(back, c.ClientDetailsChanged)
    assert back.changes == {"branch_id": changed.changes["branch_id"]}
    assert back.reason is None
    (registered,) = c.register(uuid.uuid4(), META, today=date(2026, 4, 1), name="Anna", branch_id=BRANCH)
    other = KeyRing()
    _, stored = _stored_state(_mapper(other), registered)
    other.forget(str(registered.originator_id))
    erased = open_state(stored.topic, stored.originator_id, orjson.loads(stored.state), other)
    assert (erased["name"], erased["phones"], erased["consents"], erased["tags"]) == ("", (), {}, ())


def test_a_snapshot_of_a_client_is_sealed_too() -> None:
    """Snapshots hold the aggregate's state: its personal fields are sealed like the events'."""
    ring = KeyRing()
    mapper = _mapper(ring)
    cid = uuid.uuid4()
    ring.settle(str(cid), KeyRing().new_key("k"), landed=True)
    client = c.Client(id=cid, version=7, tenant_id=META.tenant_id, created_on=META.at, modified_on=META.at,
                      name="Юлия", branch_id=BRANCH, phones=("0905 111 222",), notes="likes jazz")
    state, stored = _stored_state(mapper, Snapshot.take(client))
    assert "Юлия" not in stored.state.decode("utf-8")
    assert "likes jazz" not in stored.state.decode()
    assert state["state"]["branch_id"] == str(BRANCH)
    back = mapper.to_domain_event(stored)
    assert isinstance(back, Snapshot)
    assert back.apply(None) == client


def test_erasure_unlinks_the_family_revokes_the_link_and_needs_a_reason() -> None:
    """§2.3, §2.9, §8.1: the decision, pure; the event carries nothing personal."""
    mum = c.Client(id=uuid.uuid4(), version=3, tenant_id=META.tenant_id, created_on=META.at, modified_on=META.at,
                   name="Mama", branch_id=BRANCH)
    kid = c.Client(id=uuid.uuid4(), version=4, tenant_id=META.tenant_id, created_on=META.at, modified_on=META.at,
                   name="Kid", branch_id=BRANCH, parent_id=mum.id, cabinet_token_hash="h", notes="n")
    mum = mum.model_copy(update={"member_ids": (kid.id,)})
    events = c.erase(kid, META, {mum.id: mum})
    assert [type(e).__name__ for e in events] == [
        "FamilyMemberUnlinked", "FamilyParentUnlinked", "CabinetLinkRevoked", "ClientErased"]
    assert events[-1].payload() == {"originator_id": str(kid.id), "tenant_id": str(META.tenant_id)}
    state = kid
    for e in events[1:]:
        state = e.apply(state)
    assert state.erased
    assert (state.name, state.notes, state.parent_id, state.cabinet_token_hash) == ("", None, None, None)
    assert not c.ClientErased.PERSONAL
    assert c.ClientErased.SHREDS_KEY


def test_every_client_event_seals_its_reason() -> None:
    """A reason staff give on a client's own record may say why, about the person: every
    event of the client aggregate seals it, except the erasure's (the request's reference)."""
    for cls in Event.__subclasses__():
        if cls.__module__ == c.__name__ and cls not in (c.PhoneClaimed, c.PhoneReleased, c.ClientErased):
            assert "reason" in cls.PERSONAL, cls.__name__
