"""The shape every aggregate and event shares (after the eventsourcing aggregate7 example).

Aggregates are immutable pydantic models. A decision is a pure function
``decide(state, args, meta) -> list[Event]``; each event knows how to ``apply`` itself to
the state it follows (``None`` for a creation event). Loading an aggregate is folding its
events with ``project``. The clock, the actor, the reason and the idempotency key of a
command travel in ``Meta`` and are stamped on every event it produces (DOMAIN §9.1).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, field_validator

_EVENT_NAMES: dict[str, str] = {}


class Immutable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Meta(Immutable):
    """Who did it, when, and why: the context of one command."""

    tenant_id: UUID
    at: datetime
    actor: str
    reason: str | None = None
    idempotency_key: str | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("the command's clock must carry a UTC offset")
        return v.astimezone(UTC)


class Aggregate(Immutable):
    # The fields of its state that are a client's personal data (snapshots seal them).
    PERSONAL_STATE: ClassVar[tuple[str, ...]] = ()

    id: UUID
    version: int
    tenant_id: UUID
    created_on: datetime
    modified_on: datetime


A = TypeVar("A", bound=Aggregate)


class Event(Immutable):
    """A fact. Past-tense name, immutable, tenant-stamped (API §4)."""

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    tenant_id: UUID
    actor: str
    reason: str | None = None
    idempotency_key: str | None = None

    # The client's personal data this event holds (store/personal.py): top-level fields,
    # keys inside dict fields; whether it brings the client's data key into being, or
    # destroys it. Declared by the events of aggregates/client.py.
    PERSONAL: ClassVar[tuple[str, ...]] = ()
    PERSONAL_IN: ClassVar[dict[str, tuple[str, ...]]] = {}
    CREATES_KEY: ClassVar[bool] = False
    SHREDS_KEY: ClassVar[bool] = False

    # Fields that say who/when, not what: left out when comparing what two commands did.
    META_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"originator_version", "timestamp", "actor", "reason", "idempotency_key"}
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Projections dispatch on the short class name, so it must be unique.
        here = f"{cls.__module__}:{cls.__qualname__}"
        seen = _EVENT_NAMES.setdefault(cls.__name__, here)
        if seen != here:
            raise TypeError(f"event name {cls.__name__} is already used by {seen}")

    @classmethod
    def make(cls, meta: Meta, originator_id: UUID, version: int, **fields: Any) -> Self:
        return cls(
            originator_id=originator_id,
            originator_version=version,
            timestamp=meta.at,
            tenant_id=meta.tenant_id,
            actor=meta.actor,
            reason=meta.reason,
            idempotency_key=meta.idempotency_key,
            **fields,
        )

    @classmethod
    def next(cls, agg: Aggregate, meta: Meta, **fields: Any) -> Self:
        """The event that follows ``agg``'s current version."""
        return cls.make(meta, agg.id, agg.version + 1, **fields)

    def payload(self) -> dict[str, Any]:
        """What happened, without who/when: equal payloads mean the same decision."""
        return self.model_dump(mode="json", exclude=set(self.META_FIELDS))

    @abstractmethod
    def apply(self, state: Any) -> Any:
        """The state this event leads to from ``state`` (``None`` before a creation event)."""

    def birth(self, cls: type[A], /, **fields: Any) -> A:
        """The state a creation event brings into being."""
        return cls(
            id=self.originator_id,
            version=self.originator_version,
            tenant_id=self.tenant_id,
            created_on=self.timestamp,
            modified_on=self.timestamp,
            **fields,
        )

    def evolve(self, state: A, /, **changes: Any) -> A:  # positional: a field may be called "state"
        """The common step of ``apply``: a new state one version on, modified now."""
        return state.model_copy(
            update={"version": self.originator_version, "modified_on": self.timestamp, **changes}
        )


class Snapshot(Event):
    """A stored copy of an aggregate's state, so long histories are not replayed."""

    topic: str
    state: dict[str, Any]

    @classmethod
    def take(cls, aggregate: Aggregate) -> Snapshot:
        from eventsourcing.utils import get_topic

        return cls(
            originator_id=aggregate.id,
            originator_version=aggregate.version,
            timestamp=aggregate.modified_on,
            tenant_id=aggregate.tenant_id,
            actor="snapshot",
            topic=get_topic(type(aggregate)),
            state=aggregate.model_dump(mode="json"),
        )

    def apply(self, state: Any) -> Any:
        from eventsourcing.utils import resolve_topic

        return resolve_topic(self.topic).model_validate(self.state)

    @classmethod
    def personal_in(cls, state: dict[str, Any]) -> dict[str, tuple[str, ...]]:
        """The personal fields of the copied state, which depend on the aggregate's kind."""
        from eventsourcing.utils import resolve_topic

        fields: tuple[str, ...] = getattr(resolve_topic(state["topic"]), "PERSONAL_STATE", ())
        return {"state": fields} if fields else {}


def project(state: Any, events: Iterable[Event]) -> Any:
    """Fold events into state; the one projector every aggregate uses."""
    for e in events:
        state = e.apply(state)
    return state

