"""The aggregate cache, kept current by the store's notification log instead of per load.

The library's cache fast-forwards every cached aggregate on every load: one query per
aggregate a command touches (three or four for a payment). Ours records the store's
``head`` (the last notification id its entries are known to be current with). Before a
command decides, ``refresh`` asks the store for its head, one cheap query; when another
writer has moved it, the aggregates written in between are read with their latest
version in that range, and an entry older than that is evicted. A command that only
meets this process's own writes therefore loads nothing at all, and neither does one
that meets another process's writes to other aggregates: this process's own saves in
the same range are already at their version and stay (two server processes taking
turns would otherwise reload every aggregate they had just written).

Known absences are cached too (a create checks that its id is free), and are evicted the
same way when the id appears in the log.

Threads: several commands may run at once (the HTTP thread pool). A load that raced a
refresh could put back a state that refresh meant to evict, so a loaded state is put
only if no eviction happened since the load began (``generation``), and never over a
newer version. A command's own saved states go in only while no refresh has passed
their notification ids (a refresh that did may have evicted them for a later write).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

from classledger.aggregates.base import Aggregate

ABSENT = None  # a cached "no such aggregate"
WIDE_GAP = 20_000  # beyond this many foreign events, clearing beats reading their ids


@dataclass(frozen=True)
class Ticket:
    """Taken before a load; a put with a stale ticket is dropped."""

    generation: int


class AggregateCache:
    def __init__(self, maxsize: int = 20_000) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[UUID, Aggregate | None] = OrderedDict()
        self._lock = threading.Lock()
        self.head = 0  # every entry is current with the store up to this notification id
        self.generation = 0  # bumped by every eviction

    # ---- keeping current ---------------------------------------------------------

    def refresh(self, store_head: int, changed: Callable[[int, int], Iterable[tuple[UUID, int]]]) -> None:
        """Evict what other writers changed since ``head``; ``changed(after, upto)`` lists
        the aggregates written by the events in that range, each with the highest version
        written there."""
        with self._lock:
            known = self.head
            if store_head > known and not self._items:
                # Nothing cached (a fresh process): nothing to evict, so no ids to read.
                # Loads in flight may predate ``store_head``: their results are dropped.
                self.generation += 1
                self.head = store_head
                return
        if store_head <= known:
            return
        written = None if store_head - known > WIDE_GAP else list(changed(known, store_head))
        with self._lock:
            self.generation += 1
            if written is None:
                self._items.clear()
            else:
                for i, version in written:
                    cached = self._items.get(i)
                    # Versions are unique per aggregate: a state at ``version`` or later
                    # already holds every event of it in the range (our own saves).
                    if cached is None or cached.version < version:
                        self._items.pop(i, None)
            # Two threads may refresh at once; each evicted its own range, so the larger
            # head is covered by one of them and the ranges below it by both.
            self.head = max(self.head, store_head)

    def saved(self, states: Iterable[Aggregate], first: int, last: int) -> None:
        """States this process just committed as notification ids ``first..last``."""
        with self._lock:
            if first <= self.head:
                # A refresh already passed these events and may have evicted one of these
                # aggregates for a later write by another process: drop them instead.
                self.generation += 1
                for s in states:
                    self._items.pop(s.id, None)
                return
            for s in states:
                self._put(s.id, s)
            if first == self.head + 1:
                # Nothing else was written between: the whole cache is current with ``last``.
                self.head = last

    def forget(self, ids: Iterable[UUID]) -> None:
        with self._lock:
            self.generation += 1
            for i in ids:
                self._items.pop(i, None)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._items.clear()

    def reset(self) -> None:
        """Forget everything, the head too: states this process was told of never landed
        (a write batch rolled back), so the head it reached may be ahead of the store's."""
        with self._lock:
            self.generation += 1
            self._items.clear()
            self.head = 0

    # ---- reading -------------------------------------------------------------------

    def lookup(self, aggregate_id: UUID) -> tuple[bool, Aggregate | None]:
        """(hit, state): a hit with ``None`` means "known not to exist"."""
        with self._lock:
            if aggregate_id not in self._items:
                return False, None
            self._items.move_to_end(aggregate_id)
            return True, self._items[aggregate_id]

    def ticket(self) -> Ticket:
        with self._lock:
            return Ticket(self.generation)

    def loaded(self, ticket: Ticket, aggregate_id: UUID, state: Aggregate | None) -> None:
        """Put what a load found, unless an eviction happened since its ticket."""
        with self._lock:
            if ticket.generation != self.generation:
                return
            if state is None and aggregate_id in self._items:
                return  # a concurrent save of this process created it meanwhile
            self._put(aggregate_id, state)

    def _put(self, aggregate_id: UUID, state: Aggregate | None) -> None:
        cached = self._items.get(aggregate_id)
        if cached is not None and state is not None and cached.version >= state.version:
            self._items.move_to_end(aggregate_id)
            return
        self._items[aggregate_id] = state
        self._items.move_to_end(aggregate_id)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
