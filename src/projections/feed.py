"""The feed loop: stored events, a page at a time, into a runner's projections.

Every way projections are fed runs this one loop, in one of its modes:

- **live** (``Runner.catch_up``): pages of ``runtime.PAGE`` events, each applied in one
  write transaction with the positions it moves; a projection whose handler raises is
  stuck for that event's tenant only (``failures.py``) and the loop goes on with the
  other projections and tenants, so a failing read model never takes reads down;
- **bulk** (``bulk.bulk_catch_up``, a rebuild into scratch tables): large pages, events
  no projection handles left unread, rows prefetched, pages staged outside the write lock;
- **inline** (``Runner.apply_inline``): a write's own events, one page inside the write's
  transaction, claimed rather than read from the store (it needs no loop).

A mode is a ``Reader`` (how a page is read and decoded) and a ``Writer`` (how it is
applied and its positions recorded). Each page commits with its positions: exactly once,
and an interrupted feed resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from classledger.projections.runtime import EventRecord


@dataclass(slots=True)
class Batch:
    """A page read from the store."""

    records: list[EventRecord]  # decoded, the events some projection may handle
    rows: int  # stored events read
    last: int  # the notification id the page ends at
    covered: int  # notification ids it moves past (its progress)


class Reader(Protocol):
    def read(self, start: int, head: int) -> Batch | None:
        """The page after ``start`` up to ``head``; ``None`` when nothing is left to read."""

    def passed_over(self, start: int, head: int) -> int:
        """Progress when nothing was left between ``start`` and ``head``."""

    def events_read(self, rows: int, first: int, end: int) -> int:
        """How many events the feed from ``first`` to ``end`` replayed, ``rows`` of them read."""


class Writer(Protocol):
    def write(self, batch: Batch) -> None:
        """Apply the page to the projections not yet past it, with their positions."""

    def advance(self, to: int) -> None:
        """Move every projection to ``to``: none handles anything left before it."""


def run(
    reader: Reader,
    writer: Writer,
    *,
    start: int,
    head: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Feed the events after ``start`` up to ``head``; returns the events replayed."""
    first = start
    rows = 0
    while start < head:
        batch = reader.read(start, head)
        if batch is None:
            writer.advance(head)  # a tenant's events, or the wanted topics, end before the head
            passed = reader.passed_over(start, head)
            if passed:
                if progress:
                    progress(passed)
                start = head
            break
        writer.write(batch)
        start = batch.last
        rows += batch.rows
        if progress:
            progress(batch.covered)
    return reader.events_read(rows, first, start)
