"""Verification: build scratch copies up to the live position and compare them with the
live tables, row by row in a canonical order (``classledger replay --verify``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from classledger import projections as registry
from classledger.projections.replay import build_scratch, reset_scratch, where
from classledger.projections.runtime import Projection, Runner
from classledger.store.database import Store, Tx


@dataclass
class Difference:
    projection: str
    table: str
    only_live: int
    only_rebuilt: int
    examples: list[str]


@dataclass
class VerifyResult:
    ok: bool
    differences: list[Difference]
    events: int

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "differences": [d.__dict__ for d in self.differences],
        }


def dump(tx: Tx, p: Projection, table: str, tenant_id: UUID | None = None) -> list[tuple[Any, ...]]:
    """A table's rows in a canonical order: the unit of comparison."""
    where_tenant, params = where(tenant_id)
    rows = tx.execute(f"SELECT * FROM {p.t(table)} {where_tenant}", params)
    return sorted((tuple(_canon(v) for v in r) for r in rows), key=repr)


def _canon(v: Any) -> Any:
    if isinstance(v, memoryview | bytearray):
        return bytes(v)
    if isinstance(v, bool):
        return int(v)
    return v



def verify(
    store: Store,
    names: Sequence[str],
    *,
    tenant_id: UUID | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> VerifyResult:
    live = registry.select(store.db, names)
    live_runner = Runner(store, live)
    live_runner.catch_up()
    positions = live_runner.positions()
    target = min(positions.get(p.key, 0) for p in live)
    scratch, read, _ = build_scratch(store, names, tenant_id=tenant_id, upto=target, fresh=True, progress=progress,
                                     workers=workers)
    differences: list[Difference] = []
    with store.db.read() as tx:
        for s, lv in zip(scratch, live, strict=True):
            for table in lv.tables:
                a = dump(tx, lv, table, tenant_id)
                b = dump(tx, s, table, tenant_id)
                if a != b:
                    sa, sb = set(a), set(b)
                    only_live = sorted(sa - sb, key=repr)
                    only_new = sorted(sb - sa, key=repr)
                    differences.append(
                        Difference(lv.name, table, len(only_live), len(only_new),
                                   [f"live: {r!r}" for r in only_live[:3]] + [f"rebuilt: {r!r}" for r in only_new[:3]])
                    )
    reset_scratch(store, scratch)
    return VerifyResult(not differences, differences, read)
