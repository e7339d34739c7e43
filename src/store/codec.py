"""How events become bytes and back: pydantic models, orjson, upcasting on plain dicts.

Follows the eventsourcing library's aggregate7 example (pydantic events, orjson
transcoder), with two additions the rest of the system relies on:

* every stored event also carries its tenant and its business instant in columns of
  their own (``TenantStoredEvent``), so that one tenant's events, or one tenant's
  month, can be read without decoding or scanning another tenant's rows;
* upcasting works on the decoded dict (``upcast``), so projections can consume plain
  dicts at orjson speed and still see every event in its current shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel

from classledger.instants import us
from classledger.store import personal


@dataclass(frozen=True)
class TenantStoredEvent(StoredEvent):
    """A stored event with the columns that let us read one tenant's slice of history."""

    tenant_id: UUID
    at_us: int
    # A client's new data key, written by the recorder into ``client_keys`` in the same
    # transaction (store/personal.py); and the client whose key this event destroys.
    new_key: bytes | None = None
    shreds: UUID | None = None


class OrjsonTranscoder(Transcoder):
    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(obj)

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


@lru_cache(maxsize=4096)
def event_class(topic: str) -> type[Any]:
    return cast(type[Any], resolve_topic(topic))


def type_name(topic: str) -> str:
    """The short name projections dispatch on (``ClientRegistered``)."""
    return topic.rpartition(":")[2] or topic.rpartition(".")[2]


def upcast(topic: str, state: dict[str, Any]) -> dict[str, Any]:
    """Bring a decoded event state up to its class's current shape (API §4: upcasters).

    An event class declares ``class_version = N`` and static methods
    ``upcast_v1_v2(state)`` ... that mutate the dict in place. Stored rows are never
    rewritten.
    """
    from_version = state.pop("class_version", 1)
    cls = event_class(topic)
    to_version: int = getattr(cls, "class_version", 1)
    while from_version < to_version:
        getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
        from_version += 1
    return state


def open_state(topic: str, originator_id: UUID | str, state: dict[str, Any], ring: personal.KeyRing) -> dict[str, Any]:
    """A decoded event state in its current shape with its personal data, if still
    readable (store/personal.py): unsealed, upcast, erased fields emptied."""
    cls = event_class(topic)
    if personal.SEALED in state:
        personal.unseal(state, personal.subject_of(originator_id), ring)
    elif getattr(cls, "SHREDS_KEY", False):
        ring.forget(personal.subject_of(originator_id))
    state = upcast(topic, state)
    if getattr(cls, "PERSONAL", ()):
        personal.fill_erased(cls, state)
    return state


class PydanticMapper(Mapper[UUID]):
    """Maps pydantic events to ``TenantStoredEvent`` rows and back; a client's personal
    data is sealed on the way in and opened on the way out (store/personal.py)."""

    keyring: personal.KeyRing = personal.KeyRing()  # the store gives each mapper its own

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        model = cast(BaseModel, domain_event)
        topic = get_topic(type(model))
        state = model.model_dump(mode="json")
        class_version = getattr(type(model), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        new_key = None
        if personal.declares_personal(type(model)):
            new_key = personal.seal(type(model), state, personal.subject_of(domain_event.originator_id), self.keyring)
        shreds = domain_event.originator_id if getattr(type(model), "SHREDS_KEY", False) else None
        data = self.transcoder.encode(state)
        if self.compressor:
            data = self.compressor.compress(data)
        if self.cipher:
            data = self.cipher.encrypt(data)
        return TenantStoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=topic,
            state=data,
            tenant_id=cast(UUID, model.tenant_id),  # type: ignore[attr-defined]
            at_us=us(model.timestamp),  # type: ignore[attr-defined]
            new_key=new_key,
            shreds=shreds,
        )

    def decode_state(self, stored: StoredEvent) -> dict[str, Any]:
        data = stored.state
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        state = cast(dict[str, Any], self.transcoder.decode(data))
        return open_state(stored.topic, stored.originator_id, state, self.keyring)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = event_class(stored_event.topic)
        return cast(DomainEventProtocol[UUID], cls.model_validate(self.decode_state(stored_event)))
