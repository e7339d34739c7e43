"""The bulk feed: how a rebuild applies events to scratch tables, a large page at a time.

Per page it reads the stored rows as text (``EventRecorder.read_texts``), decodes only the
events some projection being built handles (the others' topics are then not even fetched),
lets each projection read in a few statements the rows the page will touch (``prefetch``),
applies the page in memory and writes it with the page's positions in one transaction
(``finish_page``, ``tracking.record``): exactly once, and a killed build resumes.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

import orjson

from classledger.projections import feed, tracking
from classledger.projections.runtime import EventRecord, Projection, Runner
from classledger.projections.stored import StoredEvents
from classledger.store.codec import event_class, open_state, type_name, upcast
from classledger.store.database import Tx
from classledger.store.personal import KeyRing, declares_personal
from classledger.store.recorders import hyphenated

BULK_PAGE = 20_000  # events per transaction of a rebuild: large, and memory stays flat
SQLITE_CACHE_KB = 65_536  # the page cache of a rebuild's SQLite connection (KiB)
SQLITE_CHECKPOINT_PAGES = 16_384  # database pages a rebuild's SQLite connection logs between checkpoints
ANALYZE_AFTER = (1, 4, 16)  # pages of a rebuild after which PostgreSQL gathers the tables' statistics
ANALYZE_TARGET = 10  # PostgreSQL's statistics target for those (its default: 100)


@dataclass(slots=True)
class _Topic:
    name: str
    upcast: bool  # the class has later versions than 1: run its upcasters
    personal: bool  # it may carry a client's sealed personal data, or destroy a key (store/personal.py)
    wanted: bool  # some projection being built handles it (else it is not even decoded)


Stored = tuple[int, str, int, str, bytes, str, int]  # ``EventRecorder.read_texts``' rows


def _decoder(
    wanted: Collection[str], unwanted: list[str], keys: KeyRing | None = None
) -> Callable[[Stored], EventRecord | None]:
    """``runtime.decode`` with what depends only on the topic worked out once per topic,
    on rows whose ids are text (``read_texts``); ``None`` for an event of a type no
    projection in ``wanted`` handles (nearly half of a school's events: seats, waitlists),
    whose topic is then added to ``unwanted``."""
    topics: dict[str, _Topic] = {}
    loads = orjson.loads

    def decode(row: Stored) -> EventRecord | None:
        nid, oid, version, topic, raw, tenant, at_us = row
        info = topics.get(topic)
        if info is None:
            cls = event_class(topic)
            name = type_name(topic)
            info = topics[topic] = _Topic(
                name=name, upcast=getattr(cls, "class_version", 1) != 1, wanted=name in wanted,
                personal=keys is not None and (declares_personal(cls) or getattr(cls, "SHREDS_KEY", False)),
            )
            if not info.wanted:
                unwanted.append(topic)
        if not info.wanted:
            return None
        state = loads(raw)
        if info.personal and keys is not None:
            state = open_state(topic, oid, state, keys)
        elif info.upcast or "class_version" in state:
            state = upcast(topic, state)
        return EventRecord(nid, tenant if len(tenant) == 36 else hyphenated(tenant),
                           oid if len(oid) == 36 else hyphenated(oid), version, info.name, at_us, state)

    return decode


def _apply(p: Projection, tx: Tx, records: list[EventRecord], after: int) -> int:
    """Apply to ``p`` (not flushed yet) the records past ``after`` it handles; how many."""
    handlers = p.handlers
    mine = [ev for ev in records if ev.id > after and ev.type in handlers]
    if mine:
        p.prefetch(tx, mine)
    for ev in mine:
        handlers[ev.type](p, tx, ev)
    return len(mine)


def bulk_catch_up(
    runner: Runner,
    *,
    page: int = BULK_PAGE,
    upto: int | None = None,
    tenant_id: UUID | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """``Runner.catch_up`` for a rebuild: the feed loop in its bulk mode. Large pages, each
    projection first reads the rows the page will touch in a few statements
    (``prefetch``), then applies the page in memory and writes its rows with
    ``executemany`` (``finish_page``). Each page commits with the positions, as in the
    live mode: exactly once, and a killed build resumes.

    On SQLite, whose write lock is one for the whole database, ``stageable`` projections
    apply the page in a read transaction first and only flush under the lock, so worker
    processes building other projections are not kept waiting meanwhile. The write
    transaction then checks each staged projection's position: one that moved (another
    process applied those events) has its staged page discarded and not written."""
    head = upto if upto is not None else (runner.store.recorder.max_notification_id() or 0)
    positions = runner.positions()
    start = min((positions.get(p.key, 0) for p in runner.projections), default=head)
    reader = BulkReader(runner, page=page, tenant_id=tenant_id)
    writer = BulkWriter(runner, page=page, tenant_id=tenant_id)
    with _no_cycle_collection():
        return feed.run(reader, writer, start=start, head=head, progress=progress)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while a rebuild runs. A page is tens of thousands
    of decoded events (a dict each, nested), and every few hundred objects made set off a
    collection that walks the young ones, every few of those the older ones too: about a
    quarter of a rebuild's CPU went there, for no garbage (decoded events and queued rows
    hold no cycles; they are freed by reference counting when the page ends). Resumed after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class BulkReader:
    """Reads pages as text (``read_texts``) and decodes only the events some projection
    of the runner handles. Topics seen and handled by none of them are not even fetched by
    later pages (not for one tenant's build, whose progress counts that tenant's events)."""

    def __init__(self, runner: Runner, *, page: int, tenant_id: UUID | None) -> None:
        self.recorder = runner.store.recorder
        self.page = page
        self.tenant_id = tenant_id
        self.unwanted: list[str] = []
        self.skip = self.unwanted if tenant_id is None else []
        # A set-based projection reads the events table itself: its events need no decoding.
        self.decode = _decoder({t for p in runner.projections if not p.set_based for t in p.handlers}, self.unwanted,
                               runner.store.mapper.keyring)
        self.skipped = False  # some page left unwanted topics unread

    def read(self, start: int, head: int) -> feed.Batch | None:
        rows = self.recorder.read_texts(start, self.page, upto=head, tenant_id=self.tenant_id,
                                        skip_topics=tuple(self.skip))
        self.skipped = self.skipped or bool(self.skip)
        if not rows:
            return None
        last = rows[-1][0]
        decode = self.decode
        records = [ev for r in rows if (ev := decode(r)) is not None]
        covered = last - start if self.skipped else len(rows)  # about: the ids passed over are events too
        return feed.Batch(records, len(rows), last, covered)

    def passed_over(self, start: int, head: int) -> int:
        return head - start if self.skipped else 0

    def events_read(self, rows: int, first: int, end: int) -> int:
        # every event replayed, fetched or passed over
        return self.recorder.count_between(first, end) if self.skipped else rows


class BulkWriter:
    """Applies a page with prefetching, staged outside the write lock where it can be, in a
    non-durable transaction (a rebuild's pages are repeated after a crash anyway). A
    ``set_based`` projection applies the page's range of stored events by statements
    (``Projection.apply_stored``) instead."""

    def __init__(self, runner: Runner, *, page: int = BULK_PAGE, tenant_id: UUID | None = None) -> None:
        self.runner = runner
        self.db = runner.db
        self.page = page
        self.stage = ([p for p in runner.projections if p.stageable and not p.set_based]
                      if self.db.dialect == "sqlite" else [])
        self.set_based = [p for p in runner.projections if p.set_based]
        self.stored = StoredEvents(self.db.dialect, runner.store.recorder.events_table,
                                   str(tenant_id) if tenant_id is not None else None)
        self.pages = 0

    def advance(self, to: int) -> None:
        """Move every projection to ``to``: the reader found nothing more that the decoded
        projections handle, but the set-based ones read every event, so they are brought
        there a page of ids at a time first."""
        if self.set_based:
            positions = self.runner.positions()
            at = min(positions.get(p.key, 0) for p in self.set_based)
            while at < to:
                at = min(at + self.page, to)
                self.write(feed.Batch([], 0, at, 0))
        self.runner.advance(to)

    def write(self, batch: feed.Batch) -> None:
        db, records, last = self.db, batch.records, batch.last
        staged: dict[str, tuple[int, int]] = {}  # key -> (position applied after, events applied)
        if self.stage:
            with db.read() as rtx:
                now = tracking.read_in(rtx)
                for p in self.stage:
                    pos = now.get(p.key, 0)
                    if pos < last:
                        staged[p.key] = (pos, _apply(p, rtx, records, pos))
        with db.write(durable=False) as tx:
            if db.dialect == "postgresql":
                # A page's statements are planned for the rows they name, never by a generic
                # plan made while the scratch tables were empty (which walks a whole tenant).
                tx.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            else:
                # A page's rows land all over the tables' B-trees (a client's trail, a pass):
                # SQLite's default 2 MB page cache would write and read the same pages again.
                tx.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
                # Each checkpoint copies the log into the database and syncs it: after every
                # page by default (a page logs far more than the default 4 MB).
                tx.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}")
            held = self.runner.lock_positions(tx)
            moved: list[tracking.Move] = []
            for p in self.runner.projections:
                pos = held.get(p.key, 0)
                ahead = staged.get(p.key)
                if pos >= last:
                    if ahead is not None:
                        p.discard_page()
                    continue  # another process got here first
                if p.set_based:
                    applied = p.apply_stored(tx, self.stored, pos, last)
                elif ahead is not None and ahead[0] == pos:
                    applied = ahead[1]  # staged on exactly these rows: write it
                else:
                    if ahead is not None:
                        p.discard_page()
                    applied = _apply(p, tx, records, pos)
                p.finish_page(tx)
                moved.append((last, applied, p.key))
            tracking.record(tx, moved)
        self.pages += 1
        if db.dialect == "postgresql" and self.pages in ANALYZE_AFTER:
            _analyze(self.runner)


def _analyze(runner: Runner) -> None:
    """Give PostgreSQL the statistics of the tables being built: created empty, they would
    otherwise be planned as empty until autovacuum comes by (a join by key then walks
    every row of a tenant instead of using the key)."""
    with runner.db.write(durable=False) as tx:
        # A sample of 3,000 rows a table instead of 30,000: the handlers look rows up by key,
        # which needs the tables' sizes and keys' spread, not fine histograms; a fifth of
        # the time.
        tx.execute(f"SET LOCAL default_statistics_target = {ANALYZE_TARGET}")
        for p in runner.projections:
            for table in p.tables:
                tx.execute(f"ANALYZE {p.t(table)}")
