"""What the writer is handed (``Write``) and what it answers (``Written``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import StoredEvent

from classledger.store.recorders import CommandRecord
from classledger.store.staff_actions import ActionRecord


@dataclass(frozen=True)
class Write:
    """One command's write: its events (mapped, tenant-stamped), its command-log row, its
    staff action row, and the aggregates' new states the application's cache learns
    once the write has landed (opaque here: the writer only hands them on)."""

    events: Sequence[StoredEvent] = ()
    record: CommandRecord | None = None
    action: ActionRecord | None = None
    states: Iterable[Any] | None = None


@dataclass(frozen=True)
class Written:
    """What a write left: its events' notification ids; ``position``, the last id it
    wrote (the store's head when it wrote no event), which the read models must reach
    for a reader to see it; ``inline``, whether the projections were applied in the
    same transaction (then they are there already)."""

    ids: tuple[int, ...]
    position: int
    inline: bool
