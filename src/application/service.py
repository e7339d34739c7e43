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
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.persistence import (
    ApplicationRecorder,
    EventStore,
    InfrastructureFactory,
    Mapper,
    RecordConflictError,
)
from pydantic import ValidationError

from classledger.aggregates.base import Aggregate, Event, Meta, Snapshot, project
from classledger.aggregates.errors import Conflict, Invalid, NotFound, Refused, TooMany
from classledger.application.cache import AggregateCache
from classledger.application.fields import unstorable_text
from classledger.application.principal import Principal
from classledger.application.registry import Args, Commands, CommandSpec, Ctx, Hooks
from classledger.instants import iso, us
from classledger.store.database import Store
from classledger.store.personal import ErasedClient
from classledger.store.recorders import CommandRecord, EventRecorder
from classledger.store.staff_actions import ActionRecord
from classledger.writer import Batch, Write, Writer, Written

A = TypeVar("A", bound=Aggregate)
MAX_ATTEMPTS = 12
# A command that keeps losing to other writers retries at least MAX_ATTEMPTS times and for at
# least this long before it is refused: under a rush on one record it converges (its lane
# serialises it with its own process's losers; it meets only the other processes' writers).
RETRY_SECONDS = 10.0
# The slow lanes: striped by tenant, so one tenant's rush does not queue another's retries.
_LANES = [threading.Lock() for _ in range(64)]


def _lane(tenant_id: UUID) -> threading.Lock:
    return _LANES[tenant_id.int % len(_LANES)]


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


# The command log's mark of an answer whose secrets (``CommandSpec.shown_once``) were left out.
WITHHELD = "_withheld"


def kept_answer(spec: CommandSpec, result: dict[str, Any]) -> bytes:
    """What the command log keeps of an answer: everything but its secrets, which only
    the caller ever sees (the log is in every backup of the database)."""
    withheld = [f for f in spec.shown_once if f in result]
    kept = {k: v for k, v in result.items() if k not in spec.shown_once}
    return orjson.dumps({**kept, WITHHELD: withheld} if withheld else kept, option=orjson.OPT_NON_STR_KEYS)


def _named_id(raw_args: Any) -> UUID | None:
    """The record a refused command's arguments named: ``id``, else the first ``*_id``."""
    if not isinstance(raw_args, Mapping):
        return None
    for name in sorted(raw_args, key=lambda n: (n != "id", not str(n).endswith("_id"))):
        if name == "id" or str(name).endswith("_id"):
            try:
                return UUID(str(raw_args[name]))
            except ValueError:
                continue
    return None


def log_key(idempotency_key: str | None, given_id: UUID | None) -> str | None:
    """The command-log key a request is recorded under (API §6): its idempotency key, else
    its create ``id``; None when it has neither (then its record is never looked up)."""
    if idempotency_key:
        return f"key:{idempotency_key}"
    if given_id is not None:
        return f"id:{given_id}"
    return None


def request_hash(command: str, args: Args) -> str:
    canonical = orjson.dumps(
        {"command": command, "args": args.model_dump(mode="json")}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """A command's answer, and what its write left (``Written``): the position the read
    models must reach for a reader to see it, and whether they were brought there in
    the same transaction."""

    answer: dict[str, Any]
    written: Written


@dataclass(frozen=True)
class Request:
    """A command's arguments parsed and checked against its principal, and their hash."""

    spec: CommandSpec
    args: Args
    digest: str


class ClassLedger(Application[UUID]):
    """The one application; every tenant's aggregates live in it, tenant-stamped.
    ``commands`` and ``hooks``: what it runs, as the bootstrap lists them."""

    name = "classledger"
    # The library's cache stays off: ``AggregateCache`` (cache.py) is kept current by the
    # notification log, one query per command instead of one per aggregate loaded.
    env: ClassVar[dict[str, str]] = {"IS_SNAPSHOTTING_ENABLED": "y"}

    def __init__(
        self,
        store: Store,
        writer: Writer | None = None,
        cache: AggregateCache | None = None,
        *,
        commands: Commands,
        hooks: Hooks,
        cache_size: int = 20_000,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:
        """``writer`` and ``cache`` as the bootstrap wired them (system.py: the writer
        applies the projections and tells this cache); alone, a writer without
        projections that tells the application's own cache."""
        self.store = store
        self.commands = commands
        self.hooks = hooks
        self.snapshot_every = snapshot_every
        self.cache = cache if cache is not None else AggregateCache(cache_size)
        self.writer = writer if writer is not None else Writer(store.recorder, cache=self.cache)
        super().__init__(env=store.env)

    @contextlib.contextmanager
    def write_batch(self) -> Iterator[Batch | None]:
        """Many commands in one write transaction until the block ends (``Writer.batch``):
        hand the batch to ``execute`` (and ``recorded_request``, ``record_refusal``). Each
        command is in its own savepoint: a refused or conflicting one rolls back alone;
        nothing is durable before the block ends, and if it raises nothing of it is.
        Snapshots wait for the commit. None where the store cannot batch: each command
        then commits alone."""
        with self.writer.batch() as batch:
            yield batch
        if batch is not None and batch.snapshots and self.snapshots is not None:
            for snapshot in batch.snapshots:
                with contextlib.suppress(RecordConflictError):  # another writer took it
                    self.snapshots.put([snapshot])

    # The store already opened the factory and the recorder: share them, one pool.
    def construct_factory(self, env: Any) -> InfrastructureFactory[Any]:
        return self.store.factory

    def construct_mapper(self) -> Mapper[UUID]:
        # The store's mapper holds the clients' data keys (store/personal.py).
        return self.store.mapper

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
        request: Request | None = None,
        batch: Batch | None = None,
    ) -> dict[str, Any]:
        """Run one command; its answer. Done or refused, it is one row of the staff action
        log (store/staff_actions.py); a retry answered from the command log is not a new
        one, nor is an attempt held off by a limit (429): a caller being throttled must
        not be able to keep writing. ``request``: the same command already prepared and
        looked up in the command log (``recorded_request``), not found there. ``batch``:
        the write batch (``write_batch``) it is written in."""
        return self.execute_written(principal, command, raw_args, at=at, reason=reason, idempotency_key=idempotency_key,
                                    monotonic_clock=monotonic_clock, request=request, batch=batch).answer

    def execute_written(
        self,
        principal: Principal,
        command: str,
        raw_args: Any,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
        monotonic_clock: bool = False,
        request: Request | None = None,
        batch: Batch | None = None,
    ) -> Outcome:
        """``execute``, with what its write left: the position the read models must reach."""
        try:
            return self._execute(principal, command, raw_args, at=at, reason=reason, idempotency_key=idempotency_key,
                                 monotonic_clock=monotonic_clock, request=request, batch=batch)
        except Refused as refused:
            self.record_refusal(principal, command, raw_args, at=at, reason=reason, refused=refused, batch=batch)
            raise

    def record_refusal(
        self,
        principal: Principal,
        command: str,
        raw_args: Any,
        *,
        at: datetime,
        reason: str | None,
        refused: Refused,
        batch: Batch | None = None,
    ) -> None:
        """The staff action log's row of a command refused before it reached ``execute``
        (an import line's checks), as ``execute`` writes it for its own refusals."""
        if command in self.commands and not isinstance(refused, TooMany):
            self._record_refusal(principal, command, raw_args, at, reason, refused, batch)

    def _record_refusal(
        self,
        principal: Principal,
        command: str,
        raw_args: Any,
        at: datetime,
        reason: str | None,
        refused: Refused,
        batch: Batch | None,
    ) -> None:
        try:
            named = _named_id(raw_args)
            given = raw_args.get("reason") if isinstance(raw_args, Mapping) else None
            self._write(Write(action=ActionRecord(
                principal.tenant_id, us(at), principal.staff_name, principal.staff_id, principal.role, command,
                "refused", () if named is None else (named,), refused.code, refused.status,
                reason if reason is not None else given if isinstance(given, str) else None,
            )), batch)
        except Exception:  # the refusal is the answer; failing to log it must not turn it into a 500
            logging.getLogger(__name__).exception("could not record the refusal of %s", command)

    def read_ahead(self, tenant_id: UUID, keys: Iterable[str], ids: Iterable[UUID], batch: Batch) -> None:
        """What the next commands of ``batch`` will look up, read now in a statement each
        (an import knows its next lines): the command-log rows of their ``keys``, and which
        of the ``ids`` they create are free, cached as absent (a create checks its id)."""
        batch.read_ahead(tenant_id, keys)
        self.refresh(batch)
        unknown = [i for i in dict.fromkeys(ids) if not self.cache.lookup(i)[0]]
        if not unknown:
            return
        ticket = self.cache.ticket()
        taken = batch.existing_ids(unknown)
        for aggregate_id in unknown:
            if aggregate_id not in taken:
                self.cache.loaded(ticket, aggregate_id, None)

    def _write(self, write: Write, batch: Batch | None) -> Written:
        return self.writer.write(write) if batch is None else batch.write(write)

    def _action(self, principal: Principal, command: str, meta: Meta, events: list[Event]) -> ActionRecord:
        return ActionRecord(
            principal.tenant_id, us(meta.at), principal.staff_name, principal.staff_id, principal.role, command,
            "done", tuple(dict.fromkeys(e.originator_id for e in events)), reason=meta.reason,
        )

    def _execute(
        self,
        principal: Principal,
        command: str,
        raw_args: Any,
        *,
        at: datetime,
        reason: str | None = None,
        idempotency_key: str | None = None,
        monotonic_clock: bool = False,
        request: Request | None = None,
        batch: Batch | None = None,
    ) -> Outcome:
        if request is None:
            spec = self.commands.get(command)
            if spec is None:
                raise NotFound("unknown_command", f"no command {command!r}", known=sorted(self.commands))
            args = parse_args(spec, raw_args)
            principal.require(spec.need)
        else:
            spec, args = request.spec, request.args
        meta = Meta(
            tenant_id=principal.tenant_id,
            at=at,
            actor=principal.staff_name,
            reason=reason if reason is not None else getattr(args, "reason", None),
            idempotency_key=idempotency_key,
        )
        if monotonic_clock:
            latest = (self.event_recorder.latest_at(principal.tenant_id) if batch is None
                      else batch.latest_at(principal.tenant_id))
            if latest is not None and us(meta.at) < latest:
                raise Conflict(
                    "clock_behind",
                    "this command's time is earlier than the tenant's latest recorded event",
                    at=meta.at.isoformat(),
                    latest=iso(latest),
                )
        digest = request_hash(command, args) if request is None else request.digest
        given_id = getattr(args, "id", None)
        logged = log_key(idempotency_key, given_id)
        if logged is not None:
            key, durable = logged, True
        else:
            # Zero-padded so this process's keys sort in the order they are made: each
            # lands at the right edge of the command log's key order, one page per commit.
            key, durable = f"req:{_PROCESS}:{next(_requests):012d}", False
        if durable and request is None:  # a prepared request was looked up already
            known = self._answer_from_log(principal.tenant_id, key, digest, batch)
            if known is not None:
                return Outcome(known, self._nothing_written(batch))

        started = time.monotonic()
        attempt = 0
        while True:
            # After a first conflict the command retries in its tenant's slow lane: the
            # writers that lost in this process decide and write one at a time instead of
            # all losing again to whichever of them wins (a shared record such as a client's
            # account or a popular group only admits one new version per write).
            with _lane(principal.tenant_id) if attempt else contextlib.nullcontext():
                outcome = self._attempt(spec, args, principal, meta, key, digest, durable, given_id, batch)
            if outcome is not None:
                return outcome
            attempt += 1
            if attempt >= MAX_ATTEMPTS and time.monotonic() - started >= RETRY_SECONDS:
                break
            # Someone else wrote first: a short jittered wait, growing, before deciding again.
            time.sleep(min(0.001 * (2 ** min(attempt, 8)), 0.05) * (0.5 + uuid.uuid4().int % 100 / 100))
        raise Conflict(
            "concurrency_conflict",
            "the records changed under this command too many times; try again",
            attempts=attempt,
        )

    def recorded(
        self,
        principal: Principal,
        command: str,
        raw_args: Any,
        *,
        idempotency_key: str | None = None,
        batch: Batch | None = None,
    ) -> dict[str, Any] | None:
        """The recorded answer to this request, if it was already made: its
        ``idempotency_key``, or else its create ``id`` with the same args, is in the
        command log (API §6: an import re-run is answered from the record whatever its
        clock). None when it is new; a key or id recorded for other args is refused as
        ``execute`` refuses it."""
        return self.recorded_request(principal, command, raw_args, idempotency_key=idempotency_key, batch=batch)[0]

    def recorded_request(
        self,
        principal: Principal,
        command: str,
        raw_args: Any,
        *,
        idempotency_key: str | None = None,
        batch: Batch | None = None,
    ) -> tuple[dict[str, Any] | None, Request | None]:
        """``recorded``, and the request it prepared (parsed, checked, hashed) when it
        was not recorded, for ``execute(request=...)``: an import line is parsed and
        looked up in the command log once, not twice. ``(None, None)`` for an unknown
        command (``execute`` refuses it)."""
        spec = self.commands.get(command)
        if spec is None:
            return None, None
        args = parse_args(spec, raw_args)
        principal.require(spec.need)
        digest = request_hash(command, args)
        request = Request(spec, args, digest)
        given_id = getattr(args, "id", None)
        key = log_key(idempotency_key, given_id)
        if key is None:
            return None, request
        known = self._answer_from_log(principal.tenant_id, key, digest, batch)
        if known is None and given_id is not None:
            known = self._answer_for_id(principal.tenant_id, given_id, key, digest, batch)
        return known, None if known is not None else request

    def _attempt(self, spec: CommandSpec, args: Args, principal: Principal, meta: Meta, key: str, digest: str,
                 durable: bool, given_id: UUID | None, batch: Batch | None) -> Outcome | None:
        """Decide on fresh state and write: the outcome, or None when another writer
        changed a record this command wrote (decide again)."""
        self.refresh(batch)
        ctx = Ctx(self, principal, meta, key, batch=batch)
        try:
            answer = spec.handler(ctx, args)
        except Conflict as refused:
            # A create re-sent by its id under another key (or none): the first answer.
            if refused.code != "duplicate_id" or given_id is None:
                raise
            known = self._answer_for_id(principal.tenant_id, given_id, key, digest, batch)
            if known is None:
                raise
            return Outcome(known, self._nothing_written(batch))
        result = {"ok": True, **answer}
        response = orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS)
        if not ctx.events and not durable:
            written = self._write(Write(action=self._action(principal, spec.name, meta, [])), batch)
            return Outcome(orjson.loads(response), written)
        kept = kept_answer(spec, result) if spec.shown_once else response
        record = CommandRecord(principal.tenant_id, key, digest, kept, us(meta.at))
        try:
            stored = [self.mapper.to_stored_event(e) for e in ctx.events]
        except ErasedClient as e:  # a rule that forgot erasure: refused, never a 500
            raise Conflict("client_erased", "this client's personal data was erased; their record is read-only",
                           client_id=e.subject) from None
        try:
            # The writer tells the cache of ``states`` once the write has landed (cache.py).
            # Not the library's ``save``: it would only collect the events again, wrap each
            # in a Recording and notify no one.
            written = self._write(Write(stored, record, self._action(principal, spec.name, meta, ctx.events),
                                        ctx.touched()), batch)
        except RecordConflictError:
            self.cache.forget(e.originator_id for e in ctx.events)
            known = self._answer_from_log(principal.tenant_id, key, digest, batch)
            if known is None and given_id is not None:
                known = self._answer_for_id(principal.tenant_id, given_id, key, digest, batch)
            if known is not None:
                return Outcome(known, self._nothing_written(batch))
            return None  # someone else wrote first: decide again on fresh state
        self._snapshot(ctx, batch)
        return Outcome(orjson.loads(response), written)

    def _nothing_written(self, batch: Batch | None) -> Written:
        """What a command answered from the record left: nothing new, and the store's head
        for the read models to reach (the first write may be another process's, not
        projected here yet)."""
        head = self.event_recorder.max_notification_id() if batch is None else batch.head()
        return Written((), head, False)

    def _answer_from_log(self, tenant_id: UUID, key: str, digest: str, batch: Batch | None = None) -> dict[str, Any] | None:
        record = (self.event_recorder.get_command_record(tenant_id, key) if batch is None
                  else batch.command_record(tenant_id, key))
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
        answer: dict[str, Any] = orjson.loads(record.response)
        withheld = answer.pop(WITHHELD, None)
        if withheld is not None:
            # The first answer's secret was shown once and not kept: a retry cannot repeat
            # it, and must not make a second one behind the caller's back.
            raise Conflict(
                "secret_not_repeated",
                "this request was already applied; the secret it issued was shown once, in the "
                "first answer, and is not kept: issue a new one (without this key)",
                withheld=withheld,
                first_answer=answer,
            )
        return answer

    def _answer_for_id(
        self, tenant_id: UUID, given_id: UUID, key: str, digest: str, batch: Batch | None = None
    ) -> dict[str, Any] | None:
        """API §2: re-sending a create with the same ``id`` and args returns the first
        answer, whatever ``Idempotency-Key`` either send carried. The first send is in the
        command log under its id, or under the key its events record; ``None`` when the
        id names nothing yet (the conflict was elsewhere: decide again). An id already
        used by another request is ``duplicate_id``."""
        if key != f"id:{given_id}":
            known = self._answer_from_log(tenant_id, f"id:{given_id}", digest, batch)
            if known is not None:
                return known
        self.refresh(batch)
        try:
            self.load(given_id, batch)
        except AggregateNotFoundError:
            return None
        first = next(iter(self._events_in(batch).get(given_id, limit=1)), None)
        first_key = getattr(first, "idempotency_key", None)
        if isinstance(first, Event) and first.tenant_id == tenant_id and first_key and f"key:{first_key}" != key:
            record = (self.event_recorder.get_command_record(tenant_id, f"key:{first_key}") if batch is None
                      else batch.command_record(tenant_id, f"key:{first_key}"))
            if record is not None and record.request_hash == digest:
                return self._answer_from_log(tenant_id, f"key:{first_key}", digest, batch)  # a kept secret is not repeated
        raise Conflict("duplicate_id", "this id was already used with other arguments", key=str(given_id))

    def _snapshot(self, ctx: Ctx, batch: Batch | None) -> None:
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
                if batch is not None:  # written once the batch has committed
                    batch.snapshots.append(Snapshot.take(agg))
                    continue
                with contextlib.suppress(RecordConflictError):  # another writer took it
                    self.snapshots.put([Snapshot.take(agg)])

    # ---- direct entry points (CLI) ---------------------------------------------------

    def refresh(self, batch: Batch | None = None) -> None:
        """Bring the aggregate cache up to the store's head (see cache.py): as ``batch``
        sees it, when a command is written in one."""
        if batch is not None:
            self.cache.refresh(batch.head(), batch.changed_ids)
            return
        recorder = self.event_recorder
        self.cache.refresh(recorder.max_notification_id() or 0, recorder.changed_ids)

    def _events_in(self, batch: Batch | None) -> EventStore[UUID]:
        """The event store, read through ``batch`` when there is one (what it wrote)."""
        if batch is None:
            return self.events
        return EventStore(self.mapper, batch)  # type: ignore[arg-type]  # a recorder's reads

    def load(self, aggregate_id: UUID, batch: Batch | None = None) -> Any:
        """An aggregate's state as of the last ``refresh``: from the cache, or loaded
        (from its latest snapshot and the events after it, read through ``batch`` when
        there is one) and cached."""
        hit, state = self.cache.lookup(aggregate_id)
        if hit:
            if state is None:
                raise AggregateNotFoundError(aggregate_id)
            return state
        ticket = self.cache.ticket()
        try:
            repository = self.repository if batch is None else Repository(
                self._events_in(batch), snapshot_store=self.snapshots)
            state = repository.get(aggregate_id, projector_func=project)
        except AggregateNotFoundError:
            self.cache.loaded(ticket, aggregate_id, None)
            raise
        self.cache.loaded(ticket, aggregate_id, state)
        return state

    def get(self, aggregate_id: UUID, batch: Batch | None = None) -> Any:
        """An aggregate's current state (as ``batch`` sees it, when there is one)."""
        self.refresh(batch)
        return self.load(aggregate_id, batch)

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
        events = [e for e in self.events.get(aggregate_id) if isinstance(e, Event)]
        if any(type(e).SHREDS_KEY for e in events[1:]):
            # The erasure was read after the events it erased: a process that still held the
            # key (another process erased the client) opened them. Reading the erasure made
            # it forget the key (store/codec.py), so read them again, sealed for good.
            events = [e for e in self.events.get(aggregate_id) if isinstance(e, Event)]
        return events

