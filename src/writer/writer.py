"""The write path: a command's rows, its read models and the application's cache, in order.

``Writer.write(Write) -> Written`` is the whole of it, as plain calls:

1. group commit (group_commit.py): the writes that arrive while one is under way wait and
   then share the next transaction (one commit, one fsync), each in its own savepoint so
   that one that conflicts fails alone;
2. in that transaction, each write's rows (``EventRecorder.append``), then the staff
   action rows of all of them;
3. the projections (``project``, the runner's ``apply_inline``), once over all the new
   rows, in the same transaction: events and read models commit together. If one
   raises, the transaction is rolled back whole and written again without them (logged);
   the runner applies the events after the commit;
4. after the commit, the clients' data keys are settled (store/personal.py) and the
   application's cache is told of each landed write in notification order, before any
   writer of the transaction returns;
5. each writer gets its ``Written``: ids, the position the read models must reach, and
   whether the projections ran inline.

``Writer.batch()`` opens one transaction for many commands (the importer): see ``Batch``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from classledger.store.recorders import (
    CommandRecord,
    EventRecorder,
    EventRow,
    WriteTx,
    new_rows,
    tenant_of,
)
from classledger.store.tx import Tx
from classledger.writer.group_commit import GroupCommit, Job
from classledger.writer.write import Write, Written

log = logging.getLogger(__name__)

# (transaction, the new rows in notification order, the last notification id before
# them) -> whether the projections were applied. If it raises, the writer rolls the
# transaction back and writes it again without it: it need not undo its own partial work.
Project = Callable[[Tx, list[EventRow], int], bool]

RETRIES = 10  # a transaction begun again after a transient error (a dropped connection)
RETRY_WAIT = 0.2


class Cache(Protocol):
    """What the writer tells the application's cache (application/cache.py)."""

    def saved(self, states: Iterable[Any], first: int, last: int) -> None: ...
    def reset(self) -> None: ...


class _InlineFailed(Exception):
    pass


class Writer:
    """The one way a command's rows reach the store. ``project``: the projections applied
    inside the write (the bootstrap hands in ``Runner.apply_inline``; none: the runner
    catches up after). ``cache``: told of each landed write (the application's
    ``AggregateCache``)."""

    def __init__(self, recorder: EventRecorder, project: Project | None = None, cache: Cache | None = None) -> None:
        self.recorder = recorder
        self.project = project
        self.cache = cache
        self._group = GroupCommit(self._write_jobs)

    def write(self, write: Write) -> Written:
        """Write one command (with whichever others are waiting); raises what made it fail
        (a conflict: the library's ``IntegrityError``, a ``RecordConflictError``)."""
        job = self._group.submit(Job(write))
        if job.error is not None:
            raise job.error
        assert job.written is not None
        return job.written

    def _write_jobs(self, jobs: list[Job]) -> None:
        """One transaction for the jobs; each job's ``written`` or ``error`` is set."""
        try:
            try:
                self._transaction(jobs, inline=self.project is not None)
            except _InlineFailed as failed:
                # A projection raised inside the write: the transaction was rolled back whole
                # (cheaper than a savepoint on every write), so write again without it; the
                # runner applies (and keeps logging) the event after the commit.
                log.error("projection failed inside the write; the runner will retry", exc_info=failed.__cause__)
                self._transaction(jobs, inline=False)
        except BaseException:
            for job in jobs:
                self.recorder.settle_keys(job.write.events, landed=False)  # nothing of it landed
            raise
        for job in jobs:
            self.recorder.settle_keys(job.write.events, landed=job.written is not None and bool(job.written.ids))
        self._tell_cache([j.write for j in jobs], [j.written for j in jobs])

    def _transaction(self, jobs: list[Job], *, inline: bool) -> None:
        for attempt in range(RETRIES):
            try:
                self._once(jobs, inline=inline)
                return
            except self.recorder.transient:
                if attempt == RETRIES - 1:
                    raise
                time.sleep(RETRY_WAIT)

    def _once(self, jobs: list[Job], *, inline: bool) -> None:
        store = self.recorder
        tenants = list(dict.fromkeys(tenant_of(e)[0] for job in jobs for e in job.write.events))
        many = len(jobs) > 1
        done: list[tuple[Job, tuple[int, ...], int]] = []
        with store.begin_write(tenants) as w:
            rows: list[EventRow] = []
            for job in jobs:
                job.written, job.error = None, None
                write = job.write
                if many:
                    store.savepoint(w, "job")
                try:
                    ids = store.append(w, write.events, write.record, write.action)
                except Exception as e:
                    if not many:
                        raise
                    store.rollback_to(w, "job")
                    store.release(w, "job")
                    job.error = e
                    continue
                if many:
                    store.release(w, "job")
                done.append((job, tuple(ids), ids[-1] if ids else store.head(w)))
                rows += new_rows(write.events, ids)
            store.flush_actions(w)
            applied = False
            if rows and inline and self.project is not None:
                prev = rows[0].notification_id - 1 if w.head is None else w.head
                try:
                    applied = self.project(w.tx, rows, prev)
                except Exception as e:
                    raise _InlineFailed from e
        for job, landed, position in done:
            job.written = Written(landed, position, applied)

    def _tell_cache(self, writes: Sequence[Write], written: Sequence[Written | None]) -> None:
        """The application's cache learns of the writes that landed, in notification order."""
        if self.cache is None:
            return
        for write, result in zip(writes, written, strict=True):
            if result is None or not result.ids or write.states is None:
                continue
            try:
                self.cache.saved(write.states, min(result.ids), max(result.ids))
            except Exception:  # the writes are committed; a cache is only a cache
                log.exception("the cache could not take a landed write")

    @contextlib.contextmanager
    def batch(self) -> Iterator[Batch | None]:
        """One write transaction for many commands until the block ends (``Batch``). Yields
        None where the store cannot hold one open (an in-memory SQLite database: there each
        command is written alone). Other writers, of this process or another, wait for the
        block: keep it short."""
        store = self.recorder
        if not store.can_batch():
            yield None
            return
        landed: list[Write] = []
        try:
            with store.begin_write(savepoint="line") as w:
                start = store.head(w)  # the projections stand here, if they are current
                batch = Batch(self, w, landed)
                yield batch
                self._project_batch(w, batch.rows, start)
        except BaseException:
            for write in landed:  # nothing of the batch landed
                store.settle_keys(write.events, landed=False)
            if self.cache is not None and landed:
                self.cache.reset()  # states the batch told the cache of never land
            raise
        for write in landed:
            store.settle_keys(write.events, landed=True)

    def _project_batch(self, w: WriteTx, rows: list[EventRow], start: int) -> None:
        """The projections, once for all the batch's events, in its transaction (one pass
        and one write per read model instead of one per command: a command's own
        projections were most of its cost). Only the decisions read the store inside the
        batch, and they read events, never read models. A projection that raises is rolled
        back alone; the runner applies (and keeps logging) the events after the commit."""
        if not rows or self.project is None:
            return
        self.recorder.savepoint(w, "projections")
        try:
            self.project(w.tx, rows, start)
        except Exception:
            log.exception("projection failed inside the write; the runner will retry")
            self.recorder.rollback_to(w, "projections")


class Batch:
    """Many commands in one write transaction (``Writer.batch``), each in its own
    savepoint: a command that fails rolls back alone and the others stay. Nothing is
    durable before the block ends; if it raises, nothing of it is, and the cache is reset.

    The application is handed the batch and reads through it what the batch wrote (the
    head, aggregates' events, the command log, changed ids, a tenant's latest instant);
    the cache is told of each command as it is kept, so it carries the new states from
    one command to the next. The projections run once, for the whole batch, before the
    commit. ``snapshots``: what the application writes once the batch has committed
    (written by another connection, which must not wait on this one)."""

    def __init__(self, writer: Writer, w: WriteTx, landed: list[Write]) -> None:
        self._writer = writer
        self._store = writer.recorder
        self._w = w
        self._landed = landed
        self.rows: list[EventRow] = []
        self.snapshots: list[Any] = []
        # Command-log lookups answered ahead (``read_ahead``): a key's row, or None when it
        # was not recorded. A key the batch writes is dropped from it and read again.
        self._records: dict[tuple[UUID, str], CommandRecord | None] = {}

    def write(self, write: Write) -> Written:
        """One command's rows in their own savepoint (the savepoint kept once they are in);
        raises, the command rolled back alone, when they cannot be written."""
        store, w = self._store, self._w
        if write.record is not None:
            self._records.pop((write.record.tenant_id, write.record.key), None)
        try:
            ids = store.append(w, write.events, write.record, write.action)
            store.keep(w, "line")
        except Exception:
            store.rollback_to(w, "line")  # the savepoint stays, for the next command
            store.settle_keys(write.events, landed=False)
            raise
        self._landed.append(write)
        self.rows += new_rows(write.events, ids)
        cache = self._writer.cache
        if ids and cache is not None and write.states is not None:
            cache.saved(write.states, min(ids), max(ids))
        return Written(tuple(ids), ids[-1] if ids else store.head(w), False)

    # ---- reads through the batch's transaction ------------------------------------------

    def head(self) -> int:
        return self._store.head(self._w)

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The library's recorder read (an ``EventStore`` can be built over the batch)."""
        return self._store.select_events_in(self._w, originator_id, gt=gt, lte=lte, desc=desc, limit=limit)

    def read_ahead(self, tenant_id: UUID, keys: Iterable[str]) -> None:
        """Look up these command-log keys now, in one statement, for the commands about to
        be written in the batch (an import knows its next lines' keys): their
        ``command_record`` is then answered without a round trip. Nobody else writes while
        the batch is open, so what is read stays true until the batch writes the key."""
        wanted = [k for k in dict.fromkeys(keys) if (tenant_id, k) not in self._records]
        if not wanted:
            return
        found = self._store.get_command_records(tenant_id, wanted, self._w)
        for key in wanted:
            self._records[(tenant_id, key)] = found.get(key)

    def command_record(self, tenant_id: UUID, key: str) -> CommandRecord | None:
        if (tenant_id, key) in self._records:
            return self._records[(tenant_id, key)]
        return self._store.get_command_record(tenant_id, key, self._w)

    def existing_ids(self, ids: Sequence[UUID]) -> set[UUID]:
        """Which of these aggregates have events, one statement for all."""
        return self._store.existing_ids(ids, self._w)

    def changed_ids(self, after: int, upto: int) -> list[tuple[UUID, int]]:
        return self._store.changed_ids(after, upto, self._w)

    def latest_at(self, tenant_id: UUID) -> int | None:
        return self._store.latest_at(tenant_id, self._w)

    def originator_ids(self, tenant_id: UUID, topic: str) -> list[UUID]:
        return self._store.originator_ids(tenant_id, topic, self._w)

