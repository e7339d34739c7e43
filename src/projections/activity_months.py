"""The month replay (DOMAIN §5.7): a month's activity report from the state at its start
plus that tenant's events of that month only.

The state at the month's start comes from the projection's month snapshots
(``month_state``, folded by ``month_start``) or, for a month the snapshots do not reach
yet, from the projection's current tables (``dump_state``). The same ``Rules`` then apply
the month's events to that state held in dicts (``DictState``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

from classledger.projections.activity import ActivityTimeline
from classledger.projections.activity_model import (
    ClientActivity,
    Interval,
    month_bounds,
    month_report,
    peak_clients,
)
from classledger.projections.activity_rules import (
    RULES,
    Reg,
    State,
    TenantInfo,
    info_from_json,
)
from classledger.projections.runtime import (
    decode,
)
from classledger.store.database import Store, Tx


def dump_state(
    tx: Tx,
    p: ActivityTimeline,
    tenant_id: str,
    start: int,
    prev_tier: str | None,
    known: dict[tuple[str, str], tuple[ClientActivity, set[str]]] | None = None,
) -> dict[str, Any]:
    """The state the rules need from ``start`` (a month's first instant) on.

    ``known``: clients already in memory and written (a page's cache, just flushed), used
    instead of decoding their stored rows again; the rows still give the order.
    """
    t = (tenant_id,)
    clients = {}
    known = known or {}
    for cid, model, flags in tx.execute(f"SELECT client_id, model, flags FROM {p.t('clients')} WHERE tenant_id = ?", t):
        held = known.get((tenant_id, cid))
        if held is not None:
            act = ClientActivity(segments=held[0].segments, blocks=held[0].blocks)  # prune replaces, never mutates
            flag_list = sorted(held[1])
        else:
            act = ClientActivity.from_json(orjson.loads(model))
            flag_list = orjson.loads(flags)
        act.prune(start)
        if not act.is_empty() or flag_list:
            clients[cid] = [act.to_json(), flag_list]
    info_row = tx.one(f"SELECT info FROM {p.t('tenants')} WHERE tenant_id = ?", t)
    return {
        "prev_tier": prev_tier,
        "downgrades": info_from_json(info_row[0]).downgrades if info_row else {},
        "groups": dict(tx.execute(f"SELECT group_id, ends_on FROM {p.t('groups')} WHERE tenant_id = ?", t)),
        "regs": {r[0]: [r[1], r[2], r[3]] for r in tx.execute(f"SELECT reg_id, client_id, group_id, state FROM {p.t('regs')} WHERE tenant_id = ?", t)},
        "credits": dict(tx.execute(f"SELECT credit_id, client_id FROM {p.t('credits')} WHERE tenant_id = ?", t)),
        "clients": clients,
    }


class DictState(State):
    """The state in memory: the month replay."""

    def __init__(self, tenant_id: str, info: TenantInfo, snapshot: dict[str, Any]) -> None:
        self.info = {tenant_id: info}
        self.groups: dict[str, str] = dict(snapshot.get("groups", {}))
        self.regs: dict[str, Reg] = {k: Reg(*v) for k, v in snapshot.get("regs", {}).items()}
        self.credits: dict[str, str] = dict(snapshot.get("credits", {}))
        self.clients: dict[str, tuple[ClientActivity, set[str]]] = {
            k: (ClientActivity.from_json(v[0]), set(v[1])) for k, v in snapshot.get("clients", {}).items()
        }

    def tenant(self, tenant_id: str) -> TenantInfo | None:
        return self.info.get(tenant_id)

    def put_tenant(self, tenant_id: str, info: TenantInfo) -> None:
        self.info[tenant_id] = info

    def group_end(self, tenant_id: str, group_id: str) -> str | None:
        return self.groups.get(group_id)

    def put_group(self, tenant_id: str, group_id: str, ends_on: str) -> None:
        self.groups[group_id] = ends_on

    def reg(self, tenant_id: str, reg_id: str) -> Reg | None:
        return self.regs.get(reg_id)

    def put_reg(self, tenant_id: str, reg_id: str, reg: Reg | None) -> None:
        if reg is None:
            self.regs.pop(reg_id, None)
        else:
            self.regs[reg_id] = reg

    def credit(self, tenant_id: str, credit_id: str) -> str | None:
        return self.credits.get(credit_id)

    def put_credit(self, tenant_id: str, credit_id: str, client_id: str | None) -> None:
        if client_id is None:
            self.credits.pop(credit_id, None)
        else:
            self.credits[credit_id] = client_id

    def client(self, tenant_id: str, client_id: str) -> tuple[ClientActivity, set[str]]:
        return self.clients.setdefault(client_id, (ClientActivity(), set()))

    def touch_client(self, tenant_id: str, client_id: str) -> None:
        pass


def month_start(deltas: Sequence[dict[str, Any]], start: int) -> dict[str, Any]:
    """The state at a month's start (the instant ``start``) from the tenant's month_state
    rows up to that month, oldest first: each row's entries replace the earlier ones
    (``null``: gone), and each client is pruned to ``start`` as a full snapshot would be."""
    groups: dict[str, str | None] = {}
    regs: dict[str, list[str] | None] = {}
    credits: dict[str, str | None] = {}
    entries: dict[str, list[Any] | None] = {}
    for delta in deltas:
        groups.update(delta.get("groups", {}))
        regs.update(delta.get("regs", {}))
        credits.update(delta.get("credits", {}))
        entries.update(delta.get("clients", {}))
    clients: dict[str, list[Any]] = {}
    for cid, entry in entries.items():
        if entry is None:
            continue
        act = ClientActivity.from_json(entry[0])
        act.prune(start)
        if not act.is_empty() or entry[1]:
            clients[cid] = [act.to_json(), entry[1]]
    last = deltas[-1]
    return {
        "prev_tier": last.get("prev_tier"),
        "downgrades": last.get("downgrades", {}),
        "groups": {k: v for k, v in groups.items() if v is not None},
        "regs": {k: v for k, v in regs.items() if v is not None},
        "credits": {k: v for k, v in credits.items() if v is not None},
        "clients": clients,
    }


@dataclass
class ReplayResult:
    report: dict[str, Any]
    events_read: int
    tenant_events: int
    snapshot: str  # where the state at the month's start came from


def replay_month(store: Store, view: ActivityTimeline, tenant_id: UUID, month: str, *, as_of: int) -> ReplayResult | None:
    """DOMAIN §5.7: the month's report from the state at its start plus that month's events only."""
    with view.db.read() as tx:
        info = view.tenant_info(tx, tenant_id)
        if info is None:
            return None
        _, _, lo, hi = month_bounds(month, info.zone)
        deltas = tx.execute(
            f"SELECT month, state FROM {view.t('month_state')} WHERE tenant_id = ? AND month <= ? ORDER BY month",
            (str(tenant_id), month),
        )
        if deltas and deltas[-1][0] == month:
            snapshot, source = month_start([orjson.loads(r[1]) for r in deltas], lo), "month_state"
        elif info.last_month is not None and month > info.last_month:
            # Nothing has happened since this month began: the current state is its start.
            prev = view.stored_previous_tier(tx, tenant_id, info, month, as_of)
            snapshot, source = dump_state(tx, view, str(tenant_id), lo, prev), "current"
        else:
            snapshot, source = {"prev_tier": None, "downgrades": {}}, "empty"
    total = store.recorder.count_events(tenant_id)
    tid = str(tenant_id)
    # Requests recorded before the month began are part of its start; later ones are replayed.
    replay_info = TenantInfo(info.zone, info.tiers, month, dict(snapshot.get("downgrades", {})))
    state = DictState(tid, replay_info, snapshot)
    read = 0
    after = 0
    while True:
        rows = store.recorder.read_rows(after, 5000, tenant_id=tenant_id, at_from_us=lo, at_to_us=min(hi, as_of + 1))
        if not rows:
            break
        for r in rows:
            RULES.apply(state, decode(r))
        read += len(rows)
        after = rows[-1].notification_id
    intervals: list[Interval] = []
    for act, _flags in state.clients.values():
        intervals.extend(act.active_intervals(info.zone))
    final = state.info[tid]
    report = month_report(
        month, intervals, info.zone, as_of=as_of, tiers=info.tiers, previous_tier=snapshot.get("prev_tier"),
        requested_downgrade=final.downgrades.get(month),
    )
    report["peak_clients"] = peak_clients([(k, act) for k, (act, _) in state.clients.items()], report["peak_day"],
                                          info.zone)
    return ReplayResult(report, read, int(total), source)
