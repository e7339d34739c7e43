"""The command side: one eventsourcing Application and the pipeline every write takes.

``execute``: validate the args at the edge → check the role → answer a known retry from
the command log → decide (handlers load aggregates and emit events) → save all events
of all touched aggregates, and the command's answer, in one atomic write. Optimistic
concurrency conflicts are retried with fresh state a bounded number of times, then
refused with 409. Ids the server makes are derived from the request's key, so a retry
(and a save that failed over after it had in fact committed) finds its own work.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    RecordConflictError,
)
from pydantic import ValidationError

from classledger.aggregates.base import Aggregate, Event, Meta, Snapshot, project
from classledger.aggregates.errors import Conflict, Invalid, NotFound
from classledger.application.cache import AggregateCache
from classledger.application.fields import unstorable_text
from classledger.application.principal import Principal
from classledger.application.registry import COMMANDS, Args, CommandSpec, Ctx
from classledger.store.codec import to_micros
from classledger.store.database import Store
from classledger.store.group_commit import Job
from classledger.store.recorders import CommandRecord, EventRecorder

A = TypeVar("A", bound=Aggregate)
MAX_ATTEMPTS = 12
# Keys of requests that carry none: unique per process by the counter, across processes by
# the nonce (a uuid4 per request cost a getrandom call on every command).
_PROCESS = uuid.uuid4().hex
_requests = itertools.count()
SNAPSHOT_EVERY = 100  # versions between an aggregate's snapshots


def validation_details(e: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"], "type": err["type"]}
        for err in e.errors(include_url=False, include_input=False)
    ]


def parse_args(spec: CommandSpec, raw: Any) -> Args:
    if not isinstance(raw, Mapping):
        raise Invalid("args_not_object", f"{spec.name}: args must be a JSON object")
    unstorable = unstorable_text(raw)
    if unstorable:
        raise Invalid("invalid_args", f"{spec.name}: the arguments are not valid", errors=unstorable)
    try:
        return spec.args.model_validate(dict(raw))
    except ValidationError as e:
        raise Invalid("invalid_args", f"{spec.name}: the arguments are not valid", errors=validation_details(e)) from None


def request_hash(command: str, args: Args) -> str:
    canonical = orjson.dumps(
        {"command": command, "args": args.model_dump(mode="json")}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


class ClassLedger(Application[UUID]):
    """The one application; every tenant's aggregates live in it, tenant-stamped."""

    name = "classledger"
    # The library's cache stays off: ``AggregateCache`` (cache.py) is kept current by the
    # notification log, one query per command instead of one per aggregate loaded.
    env: ClassVar[dict[str, str]] = {"IS_SNAPSHOTTING_ENABLED": "y"}

    def __init__(self, store: Store, *, cache_size: int = 20_000, snapshot_every: int = SNAPSHOT_EVERY) -> None:
        self.store = store
        self.snapshot_every = snapshot_every
        self.cache = AggregateCache(cache_size)
        super().__init__(env=store.env)
        store.recorder.after_commit = self._committed

    def _committed(self, jobs: list[Job]) -> None:
        for job in jobs:
            states = job.kwargs.get("states")
            if states is not None:
                self.cache.saved(states, min(job.ids), max(job.ids))

    # The store already opened the factory and the recorder: share them, one pool.
    def construct_factory(self, env: Any) -> InfrastructureFactory[Any]:
        return self.store.factory

    def construct_recorder(self) -> ApplicationRecorder:
        recorder = self.store.recorder
        assert isinstance(recorder, ApplicationRecorder)
        return recorder

    @property
    def event_recorder(self) -> EventRecorder:
        return self.store.recorder

    def close(self) -> None:
        # The store owns the pool; whoever opened the store closes it.
        pass

    # ---- the pipeline -----------------------------------------------------------

    def execute(
        self,
        principal: Principal,
        command: str,
        raw_args: Any,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
        monotonic_clock: bool = False,
    ) -> dict[str, Any]:
        spec = COMMANDS.get(command)
        if spec is None:
            raise NotFound("unknown_command", f"no command {command!r}", known=sorted(COMMANDS))
        args = parse_args(spec, raw_args)
        principal.require(spec.need)
        meta = Meta(
            tenant_id=principal.tenant_id,
            at=at,
            actor=principal.staff_name,
            reason=reason if reason is not None else getattr(args, "reason", None),
            idempotency_key=idempotency_key,
        )
        if monotonic_clock:
            latest = self.event_recorder.latest_at(principal.tenant_id)
            if latest is not None and to_micros(meta.at) < latest:
                raise Conflict(
                    "clock_behind",
                    "this command's time is earlier than the tenant's latest recorded event",
                    at=meta.at.isoformat(),
                )
        digest = request_hash(command, args)
        given_id = getattr(args, "id", None)
        if idempotency_key:
            key, durable = f"key:{idempotency_key}", True
        elif given_id is not None:
            key, durable = f"id:{given_id}", True
        else:
            # Zero-padded so this process's keys sort in the order they are made: each
            # lands at the right edge of the command log's key order, one page per commit.
            key, durable = f"req:{_PROCESS}:{next(_requests):012d}", False
        if durable:
            known = self._answer_from_log(principal.tenant_id, key, digest)
            if known is not None:
                return known

        for attempt in range(MAX_ATTEMPTS):
            self.refresh()
            ctx = Ctx(self, principal, meta, key)
            answer = spec.handler(ctx, args)
            result = {"ok": True, **answer}
            response = orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS)
            if not ctx.events and not durable:
                return orjson.loads(response)  # type: ignore[no-any-return]
            record = CommandRecord(principal.tenant_id, key, digest, response, to_micros(meta.at))
            try:
                # ``states`` rides along to the recorder, which hands them back to
                # ``_committed`` once the write has landed (group commit, cache.py).
                # Straight to the recorder: the library's ``save`` would only collect the
                # events again, wrap each in a Recording and notify no one.
                self.recorder.insert_events([self.mapper.to_stored_event(e) for e in ctx.events],
                                           command_record=record, states=ctx.touched())
            except RecordConflictError:
                self.cache.forget(e.originator_id for e in ctx.events)
                known = self._answer_from_log(principal.tenant_id, key, digest)
                if known is not None:
                    return known
                # Someone else wrote first: decide again on fresh state.
                time.sleep(min(0.002 * (2**attempt), 0.2) * (0.5 + uuid.uuid4().int % 100 / 100))
                continue
            self._snapshot(ctx)
            return orjson.loads(response)  # type: ignore[no-any-return]
        raise Conflict(
            "concurrency_conflict",
            "the records changed under this command too many times; try again",
            attempts=MAX_ATTEMPTS,
        )

    def _answer_from_log(self, tenant_id: UUID, key: str, digest: str) -> dict[str, Any] | None:
        record = self.event_recorder.get_command_record(tenant_id, key)
        if record is None:
            return None
        if record.request_hash != digest:
            if key.startswith("id:"):
                raise Conflict("duplicate_id", "this id was already used with other arguments", key=key[3:])
            raise Conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request",
                key=key[4:],
            )
        return orjson.loads(record.response)  # type: ignore[no-any-return]

    def _snapshot(self, ctx: Ctx) -> None:
        if self.snapshots is None:
            return
        every = self.snapshot_every
        first: dict[UUID, int] = {}  # each aggregate's first new version in this command
        for e in ctx.events:
            first.setdefault(e.originator_id, e.originator_version)
        for aggregate_id, version in first.items():
            agg = ctx.state(aggregate_id)
            # A multiple of ``every`` was reached by this command's events.
            if agg.version // every > (version - 1) // every:
                with contextlib.suppress(RecordConflictError):  # another writer took it
                    self.snapshots.put([Snapshot.take(agg)])

    # ---- direct entry points (CLI) ---------------------------------------------------

    def refresh(self) -> None:
        """Bring the aggregate cache up to the store's head (see cache.py)."""
        recorder = self.event_recorder
        self.cache.refresh(recorder.max_notification_id() or 0, recorder.changed_ids)

    def load(self, aggregate_id: UUID) -> Any:
        """An aggregate's state as of the last ``refresh``: from the cache, or loaded
        (from its latest snapshot and the events after it) and cached."""
        hit, state = self.cache.lookup(aggregate_id)
        if hit:
            if state is None:
                raise AggregateNotFoundError(aggregate_id)
            return state
        ticket = self.cache.ticket()
        try:
            state = self.repository.get(aggregate_id, projector_func=project)
        except AggregateNotFoundError:
            self.cache.loaded(ticket, aggregate_id, None)
            raise
        self.cache.loaded(ticket, aggregate_id, state)
        return state

    def get(self, aggregate_id: UUID) -> Any:
        """An aggregate's current state."""
        self.refresh()
        return self.load(aggregate_id)

    def find(self, kind: type[A], aggregate_id: UUID, tenant_id: UUID) -> A | None:
        """The tenant's aggregate of that kind, current, or None: another tenant's id, or an
        id of another kind, is simply not found (DOMAIN §1.1). For reads; a command's
        handlers use ``Ctx.find``, which keeps what the command has decided so far."""
        try:
            agg = self.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return agg if isinstance(agg, kind) and agg.tenant_id == tenant_id else None

    def history(self, aggregate_id: UUID) -> list[Event]:
        return [e for e in self.events.get(aggregate_id) if isinstance(e, Event)]

