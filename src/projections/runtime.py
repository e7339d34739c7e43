"""The one way projections are run: tracked, exactly once, in pages.

A projection declares its tables (its view) and the event classes it handles. The
``Runner`` reads stored events in notification order, a page at a time (the feed loop,
``feed.py``, in its live mode), decodes each row once (orjson + upcasters, no pydantic),
and applies the page to every projection inside one write transaction that also advances
each projection's recorded position (its tracking record, ``tracking.py``). Positions are
locked in that transaction (``FOR UPDATE`` on PostgreSQL; SQLite's write lock is
exclusive), so any number of processes may run the same projections: every event is
applied exactly once, and a crash leaves rows and position consistent.

Tables are versioned: a projection's physical tables are named ``p_<name>_v<version>_*``,
so changing its code bumps the version and the new tables are built from the first event
while the old ones keep serving (``classledger replay`` switches them).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, TypeVar
from uuid import UUID

import orjson
from eventsourcing.utils import get_topic

from classledger.availability import unavailable
from classledger.projections import failures, feed, tracking
from classledger.projections.batch import PendingInserts
from classledger.projections.failures import FAILURES_DDL, Failure
from classledger.projections.stored import StoredEvents
from classledger.store.codec import open_state, type_name, upcast
from classledger.store.database import Database, Store, Tx, check_identifier
from classledger.store.personal import KeyRing
from classledger.store.recorders import EventRow

log = logging.getLogger(__name__)
PAGE = 2000
RETRY_STUCK = 30.0  # seconds between two attempts to resume a projection stuck for a tenant


@dataclass(slots=True)
class EventRecord:
    """A stored event as projections see it: a plain dict, already upcast."""

    id: int
    # UUIDs, or on a rebuild's bulk path their hyphenated text (what every handler makes
    # of them with ``str()``; building UUID objects was a large part of reading).
    tenant_id: UUID | str
    aggregate_id: UUID | str
    version: int
    type: str
    at_us: int
    data: dict[str, Any]


def decode(row: EventRow, keys: KeyRing | None = None) -> EventRecord:
    """A stored row as projections read it; with the store's ``keys``, a client's personal
    data is opened (store/personal.py), else it stays sealed."""
    state = orjson.loads(row.state)
    return EventRecord(
        row.notification_id,
        row.tenant_id,
        row.originator_id,
        row.originator_version,
        type_name(row.topic),
        row.at_us,
        upcast(row.topic, state) if keys is None else open_state(row.topic, row.originator_id, state, keys),
    )


Handler = Callable[[Any, Tx, EventRecord], None]
_INDEX_NAME = re.compile(r"INDEX IF NOT EXISTS (\S+) ON")


def event_name(event: type[Any]) -> str:
    """The name the runner dispatches an event class on: its stored topic's short name
    (``EventRecord.type``)."""
    return type_name(get_topic(event))


def event_names(*events: type[Any]) -> frozenset[str]:
    return frozenset(event_name(e) for e in events)


def handles(*events: type[Any]) -> Callable[[Handler], Handler]:
    """Mark a projection's method as the handler of these event classes (from
    ``classledger.aggregates``); the runner calls it for every stored event of them."""

    def mark(fn: Handler) -> Handler:
        fn._handles = events  # type: ignore[attr-defined]
        return fn

    return mark


class Projection:
    """Base of every read model. Subclasses set ``name``, ``version`` and ``tables``.

    ``tables`` maps a logical name to DDL with ``{t}`` for the physical table name and
    ``{t_<other>}`` for the projection's other tables; the same DDL runs on both engines.
    ``{clustered}`` after a table's closing parenthesis stores it by its primary key on
    SQLite (``WITHOUT ROWID``: one B-tree instead of a rowid table plus its key's index,
    so a row written costs one page fewer at every commit); PostgreSQL has no such
    choice and gets nothing.
    """

    name: ClassVar[str]
    version: ClassVar[int] = 1
    tables: ClassVar[dict[str, str]] = {}
    indexes: ClassVar[list[str]] = []
    # The indexes (by their name as ``indexes`` writes it, e.g. ``{t_links}_by_client``)
    # the handlers read through, or that enforce a rule, while events are applied. A
    # scratch copy is built with only these; the others would only be kept up to date
    # row by row in event order, so they are created once it is filled (``index_ddl``).
    applies_through: ClassVar[frozenset[str]] = frozenset()
    # Roughly how much work an event costs it, relative to the others: a rebuild with
    # worker processes balances its groups of projections by this (``workers.partition``).
    weight: ClassVar[int] = 1
    # Its handlers only read through ``tx`` and every write waits for ``finish_page``: a
    # rebuild on SQLite may then apply a page in a read transaction and hold the database's
    # single write lock only for the flush (``bulk.bulk_catch_up``).
    stageable: ClassVar[bool] = False
    # A rebuild applies it by statements over the stored events (``apply_stored``), none of
    # its events decoded: every row it writes comes from stored columns and clear fields.
    set_based: ClassVar[bool] = False
    # By the stored event's type name (``event_name``): what the runner dispatches on.
    handlers: ClassVar[dict[str, Handler]]
    # The event class each of those names stands for.
    events: ClassVar[dict[str, type[Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = {}
        cls.events = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                for event in getattr(attr, "_handles", ()):
                    name = event_name(event)
                    cls.handlers[name] = attr
                    cls.events[name] = event

    def __init__(self, db: Database, *, suffix: str = "") -> None:
        self.db = db
        # A suffix builds a scratch copy (verification, rebuild-then-switch).
        self.suffix = suffix
        self._table_names: dict[str, str] = {}

    def t(self, table: str) -> str:
        # Handlers name their tables for every event: checked once, then remembered.
        try:
            return self._table_names[table]
        except KeyError:
            name = self._table_names[table] = check_identifier(f"p_{self.name}_v{self.version}_{table}{self.suffix}")
            return name

    @property
    def key(self) -> str:
        return f"{self.name}{self.suffix}"

    def _names(self) -> dict[str, str]:
        return {"t_" + k: self.t(k) for k in self.tables}

    def ddl(self) -> list[str]:
        """Its tables and indexes; a scratch copy's without the indexes ``index_ddl`` adds."""
        names = self._names()
        clustered = " WITHOUT ROWID" if self.db.dialect == "sqlite" else ""
        out = [ddl.format(t=self.t(k), clustered=clustered, **names) for k, ddl in self.tables.items()]
        out += [ix.format(**names) for ix in self.indexes if not self._deferred(ix)]
        return out

    def index_ddl(self) -> list[str]:
        """The indexes a scratch copy is built without (none for the live tables): created
        once its rows are in, before it takes the live tables' place."""
        names = self._names()
        return [ix.format(**names) for ix in self.indexes if self._deferred(ix)]

    def _deferred(self, index: str) -> bool:
        if not self.suffix:
            return False
        m = _INDEX_NAME.search(index)
        return m is None or m.group(1) not in self.applies_through

    def drop(self, tx: Tx) -> None:
        for k in self.tables:
            tx.execute(f"DROP TABLE IF EXISTS {self.t(k)}")

    def finish_page(self, tx: Tx) -> None:
        """Flush anything a projection batched over the page (optional)."""

    def discard_page(self) -> None:
        """Forget a page applied but not flushed (a staged page whose position moved meanwhile)."""

    def apply_stored(self, tx: Tx, events: StoredEvents, after: int, last: int) -> int:
        """What the handlers do for the stored events after ``after`` up to ``last``, done by
        statements over ``events`` (a ``set_based`` projection's rebuild); the events applied."""
        raise NotImplementedError(f"{self.name} is not set-based")

    def prefetch(self, tx: Tx, records: Sequence[EventRecord]) -> None:
        """Read in bulk the rows ``records`` (this projection's events of a page) will need
        (optional: a rebuild calls it before applying a large page; handlers must work without it)."""


class Page(Protocol):
    """A page's changes held in memory: written once, by ``flush``, at the page's end."""

    tx: Tx

    def flush(self) -> None: ...


PageT = TypeVar("PageT", bound=Page)


class PagedProjection(Projection, Generic[PageT]):
    """A projection whose handlers change rows held in memory for the page (``new_page``)
    and write them in a few statements when the page ends: no read or write per event."""

    def __init__(self, db: Database, *, suffix: str = "") -> None:
        super().__init__(db, suffix=suffix)
        self._current: PageT | None = None

    @abstractmethod
    def new_page(self, tx: Tx) -> PageT:
        """A fresh page of held changes, written with ``tx`` when the page ends."""

    def _page(self, tx: Tx) -> PageT:
        page = self._current
        if page is None or page.tx is not tx:
            page = self._current = self.new_page(tx)
        return page

    def finish_page(self, tx: Tx) -> None:
        page = self._current
        if page is not None:
            page.tx = tx  # a staged page was applied in a read transaction: write with this one
            page.flush()
            self._current = None

    def discard_page(self) -> None:
        self._current = None


class QueuedProjection(Projection):
    """A projection whose inserts wait in a queue over the page and go out in a few
    multi-row statements when it ends (``batch.PendingInserts``): one statement per event
    is a round trip each on PostgreSQL. Any other statement goes through ``_sql``, which
    sends the queue first, so the statements keep the events' order. What a projection
    holds besides (rows' latest figures, counters) is written after the inserts by
    ``flush_held`` and dropped with a discarded page by ``forget_held``."""

    def __init__(self, db: Database, *, suffix: str = "") -> None:
        super().__init__(db, suffix=suffix)
        self._queue = PendingInserts()

    def _sql(self, tx: Tx, sql: str, params: Sequence[Any] = ()) -> None:
        self._queue.flush(tx, self.db.dialect)
        tx.execute(sql, params)

    def finish_page(self, tx: Tx) -> None:
        self._queue.flush(tx, self.db.dialect)
        self.flush_held(tx)

    def discard_page(self) -> None:
        self._queue.clear()
        self.forget_held()

    def flush_held(self, tx: Tx) -> None:
        """Write what the page holds besides its queued inserts (after them)."""

    def forget_held(self) -> None:
        """Drop what the page holds besides its queued inserts."""


class LiveReader:
    """The live mode's pages: ``PAGE`` stored events at a time, every one decoded."""

    def __init__(self, store: Store, *, page: int = PAGE, tenant_id: UUID | None = None) -> None:
        self.store = store
        self.page = page
        self.tenant_id = tenant_id

    def read(self, start: int, head: int) -> feed.Batch | None:
        rows = self.store.recorder.read_rows(start, self.page, upto=head, tenant_id=self.tenant_id)
        if not rows:
            return None
        keys = self.store.mapper.keyring
        return feed.Batch([decode(r, keys) for r in rows], len(rows), rows[-1].notification_id, len(rows))

    def passed_over(self, start: int, head: int) -> int:
        return 0

    def events_read(self, rows: int, first: int, end: int) -> int:
        return rows


class Runner:
    """Feeds stored events to a set of projections, exactly once.

    A projection whose handler raises on an event is stuck for that event's tenant only
    (``failures``): the event is set aside, the projection goes on with the other
    tenants' events, and the runner retries the tenant's events now and then. With
    ``isolate=False`` (a rebuild's scratch tables) such an error is raised instead.
    """

    def __init__(self, store: Store, projections: Sequence[Projection], *, isolate: bool = True) -> None:
        self.store = store
        self.db = store.db
        self.projections = list(projections)
        self.isolate = isolate
        self._lock = threading.Lock()
        self._known_head = 0
        self._stuck: list[Failure] = []
        self._next_retry = 0.0  # monotonic: the first catch-up of a process retries at once
        self.setup()
        if isolate:
            self.refresh_stuck()

    def setup(self) -> None:
        with self.db.write() as tx:
            tracking.create(tx)
            tx.execute(FAILURES_DDL)
            for p in self.projections:
                built_by = tracking.version(tx, p.key)
                if built_by is not None and built_by != p.version:
                    # The code changed shape: start the new version from the first event.
                    tracking.forget(tx, p.key)
                    tx.execute("DELETE FROM projection_failures WHERE name = ?", (p.key,))
                    built_by = None
                for stmt in p.ddl():
                    tx.execute(stmt)
                if built_by is None:
                    tracking.start(tx, p.key, p.version)

    @property
    def keys(self) -> list[str]:
        """The tracking keys of the projections this runner feeds."""
        return [p.key for p in self.projections]

    def positions(self) -> dict[str, int]:
        return tracking.read(self.db)

    def lock_positions(self, tx: Tx) -> dict[str, int]:
        """This runner's projections' positions, held until ``tx`` ends."""
        return tracking.lock(tx, self.db.dialect, self.keys)

    def advance(self, position: int) -> None:
        """Move every projection of this runner forward to ``position`` (none handles
        anything between: a tenant's events, or the wanted topics, end before it)."""
        with self.db.write() as tx:
            tracking.advance(tx, self.keys, position)

    def join(self, builder: Runner, stop: threading.Event) -> bool:
        """Build ``builder``'s projections apart (a new or changed projection from the
        first event, while this runner's keep serving and writes do not wait for it), then
        take them into this runner once nothing is left between them and the head.
        Returns whether they joined (``False``: ``stop`` was set first)."""
        while not stop.is_set():
            builder.catch_up()
            with self._lock:
                head = self.store.recorder.max_notification_id() or 0
                positions = builder.positions()
                if min((positions.get(key, 0) for key in builder.keys), default=head) >= head:
                    self.projections.extend(builder.projections)
                    self._known_head = 0
                    return True
        return False

    def catch_up(
        self,
        *,
        page: int = PAGE,
        upto: int | None = None,
        tenant_id: UUID | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Apply everything recorded so far (or up to ``upto``); returns the events read.

        With ``tenant_id`` only that tenant's events are read: a scratch rebuild of one
        tenant. Each page commits with its position, so an interrupted run resumes.
        """
        if self._stuck and self.isolate and upto is None and tenant_id is None:
            if time.monotonic() >= self._next_retry:
                self.resume()
            else:
                self.refresh_stuck()  # another process may have resumed them
        with self._lock:
            head = upto if upto is not None else (self.store.recorder.max_notification_id() or 0)
            if upto is None and tenant_id is None and head and head <= self._known_head:
                return 0
            positions = self.positions()
            start = min((positions.get(p.key, 0) for p in self.projections), default=head)
            reader = LiveReader(self.store, page=page, tenant_id=tenant_id)
            total = feed.run(reader, self, start=start, head=head, progress=progress)
            if upto is None and tenant_id is None:
                self._known_head = head
        if self.isolate:
            # New events reached the store: this catch-up, or another process's, may have set
            # some aside (a read must not serve a stuck read model until the next poll).
            self.refresh_stuck()
        return total

    def wait(self, position: int) -> None:
        """Return once every projection stands at or past ``position`` (a notification id,
        as a write answers it): at once when this runner has been there already, else
        after a catch-up (which reaches the store's head, past it)."""
        if position <= self._known_head:
            return
        self.catch_up()

    # ---- projections stuck for a tenant (failures.py) ----------------------------------

    def stuck(self, tenant_id: UUID | str | None = None) -> list[Failure]:
        """The projections stuck (for ``tenant_id``, or for any tenant), as of this
        process's last catch-up; ``refresh_stuck`` reads them afresh."""
        if tenant_id is None:
            return list(self._stuck)
        t = str(tenant_id)
        return [f for f in self._stuck if f.tenant_id == t]

    def refresh_stuck(self) -> list[Failure]:
        """Read afresh what is stuck (any process may set events aside or resume them)."""
        self._stuck = failures.read_failures(self.db)
        return list(self._stuck)

    def resume(self) -> list[Failure]:
        """Try again every projection stuck for a tenant: apply that tenant's events from
        the one that failed up to the projection's position, in order, in one transaction
        per projection and tenant. What applies is kept; an event that still fails stays
        recorded (its error and attempts updated). Returns what is still stuck."""
        self._next_retry = time.monotonic() + RETRY_STUCK
        by_key = {p.key: p for p in self.projections}
        with self._lock:
            for f in self.refresh_stuck():
                if f.projection not in by_key:
                    continue  # another runner's (a build apart, a rebuild's scratch tables)
                try:
                    self._resume_one(by_key[f.projection], f.tenant_id)
                except Exception as e:
                    if unavailable(e):
                        raise
                    log.exception("projection %s: resuming tenant %s failed", f.projection, f.tenant_id)
        return self.refresh_stuck()

    def _resume_one(self, p: Projection, tenant: str) -> None:
        with self.db.write() as tx:
            position = tracking.lock(tx, self.db.dialect, [p.key]).get(p.key, 0)
            row = tx.one(
                "SELECT notification_id, attempts FROM projection_failures WHERE name = ? AND tenant_id = ?",
                (p.key, tenant),
            )
            if row is None:
                return  # another process resumed it meanwhile
            start, attempts = int(row[0]) - 1, int(row[1])
            applied = 0
            while start < position:
                rows = self.store.recorder.read_rows(start, PAGE, upto=position, tenant_id=UUID(tenant))
                if not rows:
                    break
                records = [decode(r, self.store.mapper.keyring) for r in rows]
                n, failed = self._run_isolated(p, tx, records, start, set(), stop_at_failure=True)
                applied += n
                if failed is not None:
                    ev, exc = failed
                    tx.execute(
                        "UPDATE projection_failures SET notification_id = ?, event_type = ?, error = ?, attempts = ? "
                        "WHERE name = ? AND tenant_id = ?",
                        (ev.id, ev.type, failures.describe(exc), attempts + 1, p.key, tenant),
                    )
                    self._log_failure(p, ev, exc, retry=True)
                    tracking.count(tx, p.key, applied)
                    return
                start = rows[-1].notification_id
            tx.execute("DELETE FROM projection_failures WHERE name = ? AND tenant_id = ?", (p.key, tenant))
            tracking.count(tx, p.key, applied)
        log.warning("projection %s resumed for tenant %s: %d events applied", p.key, tenant, applied)

    @staticmethod
    def _log_failure(p: Projection, ev: EventRecord, exc: BaseException, *, retry: bool = False) -> None:
        log.error(
            "projection %s cannot apply event %d (%s) of tenant %s%s; that tenant's events wait for it "
            "in this projection, the other tenants' go on",
            p.key, ev.id, ev.type, ev.tenant_id, " (again)" if retry else "", exc_info=exc,
        )

    def _run_isolated(
        self, p: Projection, tx: Tx, records: list[EventRecord], after: int, skip: set[str], *,
        stop_at_failure: bool = False,
    ) -> tuple[int, tuple[EventRecord, BaseException] | None]:
        """``_run`` that sets aside an event whose handler raises: the page first in one
        go, and if that fails one event at a time, each in a savepoint. A failed event's
        tenant joins ``skip`` (its later events wait too) and the failure is recorded;
        with ``stop_at_failure`` nothing is recorded and the first failure ends the run.
        Returns the events applied and the first failure."""
        tx.execute("SAVEPOINT projection_page")
        try:
            applied = self._run(p, tx, records, after, skip)
        except Exception as e:
            if unavailable(e):
                raise
            tx.execute("ROLLBACK TO SAVEPOINT projection_page")
            p.discard_page()
        else:
            tx.execute("RELEASE SAVEPOINT projection_page")
            return applied, None
        applied = 0
        first: tuple[EventRecord, BaseException] | None = None
        handlers = p.handlers
        for ev in records:
            if ev.id <= after or ev.type not in handlers:
                continue
            tenant = str(ev.tenant_id)
            if tenant in skip:
                continue
            tx.execute("SAVEPOINT projection_event")
            try:
                handlers[ev.type](p, tx, ev)
                p.finish_page(tx)
            except Exception as e:
                if unavailable(e):
                    raise
                tx.execute("ROLLBACK TO SAVEPOINT projection_event")
                tx.execute("RELEASE SAVEPOINT projection_event")
                p.discard_page()
                first = first or (ev, e)
                if stop_at_failure:
                    break
                skip.add(tenant)
                failures.record(tx, p.key, tenant, ev.id, ev.type, failures.describe(e))
                self._log_failure(p, ev, e)
                continue
            tx.execute("RELEASE SAVEPOINT projection_event")
            applied += 1
        tx.execute("RELEASE SAVEPOINT projection_page")
        return applied, first

    def write(self, batch: feed.Batch) -> None:
        """The live mode's page: applied in one write transaction with the positions it
        moves. A projection that raises is then given the page again on its own, and the
        event that fails is set aside for its tenant (``failures.py``): the loop goes on."""
        records, last = batch.records, batch.last
        try:
            with self.db.write() as tx:
                positions = self.lock_positions(tx)
                skip = failures.parked(tx, [p.key for p in self.projections]) if self.isolate else {}
                self._apply(tx, records, positions, last, self.projections, skip)
        except Exception as e:
            for p in self.projections:
                p.discard_page()
            if not self.isolate or unavailable(e):
                raise
        else:
            return
        # One read model's bug must not hold back the others, nor one tenant's event the
        # other tenants: each projection applies the page in its own savepoint, and one
        # that fails sets the failing event (and its tenant's later ones) aside.
        with self.db.write() as tx:
            positions = self.lock_positions(tx)
            skip = failures.parked(tx, [p.key for p in self.projections])
            self._apply(tx, records, positions, last, self.projections, skip, isolated=True)

    def _apply(
        self, tx: Tx, records: list[EventRecord], positions: dict[str, int], last: int,
        projections: Sequence[Projection], skip: dict[str, set[str]], *, isolated: bool = False,
    ) -> None:
        """Apply decoded events to the projections not yet past them, and move their positions."""
        moved: list[tracking.Move] = []
        for p in projections:
            pos = positions.get(p.key, 0)
            if pos >= last:
                continue  # another process got here first
            if isolated:
                applied, _ = self._run_isolated(p, tx, records, pos, skip.setdefault(p.key, set()))
            else:
                applied = self._run(p, tx, records, pos, skip.get(p.key, ()))
            moved.append((last, applied, p.key))
        tracking.record(tx, moved)

    @staticmethod
    def _run(p: Projection, tx: Tx, records: list[EventRecord], after: int, skip: Collection[str] = ()) -> int:
        """One projection's handlers over the records past ``after`` (but those of the
        tenants in ``skip``); how many it handled."""
        applied = 0
        handlers = p.handlers
        for ev in records:
            if ev.id > after and ev.type in handlers:
                if skip and str(ev.tenant_id) in skip:
                    continue
                handlers[ev.type](p, tx, ev)
                applied += 1
        p.finish_page(tx)
        return applied

    def apply_inline(self, tx: Tx, rows: list[EventRow], prev_head: int) -> bool:
        """Apply a command's own new events inside its writing transaction (handed to the
        writer as its ``project``: classledger.writer), so events and read models commit
        together.

        Only when every projection stands exactly at ``prev_head`` (the last event before
        these); otherwise (another process wrote without applying, a projection is behind)
        nothing happens here and ``catch_up`` does the work after the commit, as it always
        could. A projection that raises makes the writer roll the write back and redo it
        without projections: the write never fails for a read model, and the runner
        retries (and logs) the event later.
        """
        if not self.projections:
            return True
        if not self._lock.acquire(blocking=False):
            return False  # a catch-up of this process is running: it will see these events
        try:
            records = [decode(r, self.store.mapper.keyring) for r in rows]
            applied = {p.key: sum(1 for ev in records if ev.type in p.handlers) for p in self.projections}
            # Claim every position at once: only if each stands at the previous head (and
            # is stuck for no tenant, whose events it would have to skip); otherwise
            # nothing moves and catch-up does the work.
            if not tracking.claim(tx, applied, prev_head, rows[-1].notification_id):
                return False
            # A handler that raises aborts the whole write, which the writer then redoes
            # without this step (writer/writer.py): no savepoint on every write.
            try:
                for p in self.projections:
                    self._run(p, tx, records, prev_head)
            except BaseException:
                for p in self.projections:
                    p.discard_page()  # rolled back with the write: nothing held may leak into the next
                raise
            return True
        finally:
            self._lock.release()

    def run_forever(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Keep the projections current until ``stop`` is set (serve's background loop)."""
        while not stop.is_set():
            try:
                self.catch_up()
                if self.isolate and not self._stuck:
                    self.refresh_stuck()  # what another process set aside
            except Exception:  # pragma: no cover - logged and retried; the store is the truth
                log.exception("projection catch-up failed; retrying")
            stop.wait(interval)

