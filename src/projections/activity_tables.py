"""The activity projection's state in its tables, cached over a page and written when it
ends (``TableState``), and its month snapshots.

Snapshots (§5.7): when the first event of a later month reaches the projection, every
month since the last snapshot has ended, and a row of ``month_state`` is written for each
month's start. A row is a *delta*: only the groups, registrations, credits and clients
changed since the tenant's previous row (``null`` for one that is gone), with the
previous month's tier (§5.6) and the tenant's downgrade requests in full. ``changes``
holds the keys changed since the tenant's last row, so that a row costs what changed,
not the tenant's whole state (a full state per month made a tenant's year cost about 13
passes over everything it held). ``activity_months.month_start`` folds a tenant's rows up
to a month back into the state at that month's start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from classledger.projections.activity_model import (
    ClientActivity,
    Interval,
    month_bounds,
)
from classledger.projections.activity_rules import (
    HANDLED_NAMES,
    RULES,
    Reg,
    State,
    TenantInfo,
    info_from_json,
    info_to_json,
)
from classledger.projections.batch import delete_keys, in_keys, insert_many
from classledger.projections.runtime import (
    EventRecord,
)
from classledger.store.database import Tx

if TYPE_CHECKING:
    from classledger.projections.activity import ActivityTimeline

T2, T3, T4, T5 = (("text",) * n for n in (2, 3, 4, 5))  # the column types of a row of 2..5 text columns

class TableState(State):
    """The projection's state in its tables, cached for one page and flushed at its end."""

    def __init__(self, p: ActivityTimeline, tx: Tx) -> None:
        self.p = p
        self.tx = tx
        self.tenants: dict[str, TenantInfo | None] = {}
        self.groups: dict[tuple[str, str], str | None] = {}
        self.regs: dict[tuple[str, str], Reg | None] = {}
        self.credits: dict[tuple[str, str], str | None] = {}
        self.clients: dict[tuple[str, str], tuple[ClientActivity, set[str]]] = {}
        self.dirty: set[tuple[str, str, str]] = set()
        self.dirty_clients: dict[str, set[str]] = {}  # the dirty clients by tenant
        # By tenant, what changed in this page since its last snapshot (kind, key); at the
        # flush it joins the stored ``changes``.
        self.changed: dict[str, set[tuple[str, str]]] = {}
        self.drained: set[str] = set()  # tenants whose stored changes a snapshot of this page took
        # Writes wait for ``flush``: until then the page only reads, so a rebuild may apply
        # it in a read transaction and write it in a short one (``Projection.stageable``).
        self.snapshots: list[tuple[str, str, str]] = []  # month_state rows (tenant, month, state)
        self.prev_tiers: dict[tuple[str, str], str | None] = {}
        self.active: dict[tuple[str, str], list[Interval]] = {}  # a held client's active intervals
        # (tenant, client) -> (the month start it was pruned for, the first end after it, its JSON or None)
        self.pruned: dict[tuple[str, str], tuple[int, int | None, orjson.Fragment | None]] = {}

    def apply_event(self, ev: EventRecord) -> None:
        RULES.apply(self, ev)

    def tenant(self, tenant_id: str) -> TenantInfo | None:
        if tenant_id not in self.tenants:
            row = self.tx.one(f"SELECT info FROM {self.p.t('tenants')} WHERE tenant_id = ?", (tenant_id,))
            self.tenants[tenant_id] = info_from_json(row[0]) if row else None
        return self.tenants[tenant_id]

    def put_tenant(self, tenant_id: str, info: TenantInfo) -> None:
        self.tenants[tenant_id] = info
        self.dirty.add(("tenant", tenant_id, ""))

    def group_end(self, tenant_id: str, group_id: str) -> str | None:
        k = (tenant_id, group_id)
        if k not in self.groups:
            row = self.tx.one(f"SELECT ends_on FROM {self.p.t('groups')} WHERE tenant_id = ? AND group_id = ?", k)
            self.groups[k] = row[0] if row else None
        return self.groups[k]

    def put_group(self, tenant_id: str, group_id: str, ends_on: str) -> None:
        self.groups[(tenant_id, group_id)] = ends_on
        self.dirty.add(("group", tenant_id, group_id))
        self._changed(tenant_id).add(("group", group_id))

    def reg(self, tenant_id: str, reg_id: str) -> Reg | None:
        k = (tenant_id, reg_id)
        if k not in self.regs:
            row = self.tx.one(f"SELECT client_id, group_id, state FROM {self.p.t('regs')} WHERE tenant_id = ? AND reg_id = ?", k)
            self.regs[k] = Reg(row[0], row[1], row[2]) if row else None
        return self.regs[k]

    def put_reg(self, tenant_id: str, reg_id: str, reg: Reg | None) -> None:
        self.regs[(tenant_id, reg_id)] = reg
        self.dirty.add(("reg", tenant_id, reg_id))
        self._changed(tenant_id).add(("reg", reg_id))

    def credit(self, tenant_id: str, credit_id: str) -> str | None:
        k = (tenant_id, credit_id)
        if k not in self.credits:
            row = self.tx.one(f"SELECT client_id FROM {self.p.t('credits')} WHERE tenant_id = ? AND credit_id = ?", k)
            self.credits[k] = row[0] if row else None
        return self.credits[k]

    def put_credit(self, tenant_id: str, credit_id: str, client_id: str | None) -> None:
        self.credits[(tenant_id, credit_id)] = client_id
        self.dirty.add(("credit", tenant_id, credit_id))
        self._changed(tenant_id).add(("credit", credit_id))

    def client(self, tenant_id: str, client_id: str) -> tuple[ClientActivity, set[str]]:
        k = (tenant_id, client_id)
        if k not in self.clients:
            row = self.tx.one(f"SELECT model, flags FROM {self.p.t('clients')} WHERE tenant_id = ? AND client_id = ?", k)
            if row:
                self.clients[k] = (ClientActivity.from_json(orjson.loads(row[0])), set(orjson.loads(row[1])))
            else:
                self.clients[k] = (ClientActivity(), set())
        return self.clients[k]

    def touch_client(self, tenant_id: str, client_id: str) -> None:
        self.dirty.add(("client", tenant_id, client_id))
        self.dirty_clients.setdefault(tenant_id, set()).add(client_id)
        self._changed(tenant_id).add(("client", client_id))
        self.pruned.pop((tenant_id, client_id), None)
        self.active.pop((tenant_id, client_id), None)

    def _changed(self, tenant_id: str) -> set[tuple[str, str]]:
        changed = self.changed.get(tenant_id)
        if changed is None:
            changed = self.changed[tenant_id] = set()
        return changed

    def month_started(self, tenant_id: str, month: str) -> None:
        info = self.tenant(tenant_id)
        assert info is not None
        _, _, start, _ = month_bounds(month, info.zone)
        prev = self._previous_tier(tenant_id, info, month, start) if month > (info.last_month or month) else None
        # The row below holds this prev_tier whether it is inserted now or was already there.
        self.prev_tiers[(tenant_id, month)] = prev
        state = self._delta(tenant_id, start, prev)
        self.snapshots.append((tenant_id, month, orjson.dumps(state).decode()))  # written by flush

    def _previous_tier(self, tenant_id: str, info: TenantInfo, month: str, as_of: int) -> str | None:
        """``ActivityTimeline.previous_tier`` on the page's state: rows not written yet count."""
        return self.p.previous_tier(self.tx, tenant_id, info, month, as_of, self.prev_tiers,
                                    lambda lo, hi: self._intervals(tenant_id, info, lo, hi))

    def _active(self, tenant_id: str, client_id: str, info: TenantInfo) -> list[Interval]:
        k = (tenant_id, client_id)
        ivs = self.active.get(k)
        if ivs is None:
            ivs = self.active[k] = self.clients[k][0].active_intervals(info.zone)
        return ivs

    def _intervals(self, tenant_id: str, info: TenantInfo, lo: int, hi: int) -> list[Interval]:
        """The tenant's active intervals meeting [lo, hi): stored rows, but held ones for clients changed since."""
        changed = self.dirty_clients.get(tenant_id, set())
        out = [
            (int(r[1]), None if r[2] is None else int(r[2]))
            for r in self.tx.execute(
                f"SELECT client_id, start_us, end_us FROM {self.p.t('intervals')} WHERE tenant_id = ? AND start_us < ? "
                "AND (end_us IS NULL OR end_us > ?)",
                (tenant_id, hi, lo),
            )
            if r[0] not in changed
        ]
        active, clients, zone = self.active, self.clients, info.zone
        for cid in changed:  # ``_active`` inlined: this runs for every changed client at every month start
            k = (tenant_id, cid)
            ivs = active.get(k)
            if ivs is None:
                ivs = active[k] = clients[k][0].active_intervals(zone)
            out += [(s, e) for s, e in ivs if s < hi and (e is None or e > lo)]
        return out

    def _delta(self, tenant_id: str, start: int, prev_tier: str | None) -> dict[str, Any]:
        """The month_state row of the month starting at ``start``: what changed since the
        tenant's previous row (stored ``changes`` and this page's), as of now, in key order.

        A client's entry is pruned to ``start`` (``_pruned``); one with nothing left, and a
        registration or credit that is gone, is ``null``. ``month_start`` folds these."""
        p, tx = self.p, self.tx
        keys = self.changed.pop(tenant_id, set())
        if tenant_id not in self.drained:
            rows = tx.execute(f"SELECT kind, key FROM {p.t('changes')} WHERE tenant_id = ?", (tenant_id,))
            keys.update((str(r[0]), str(r[1])) for r in rows)
            self.drained.add(tenant_id)  # flush deletes its stored changes
        by_kind: dict[str, list[str]] = {"group": [], "reg": [], "credit": [], "client": []}
        for kind, key in keys:
            by_kind[kind].append(key)
        self._hold(tenant_id, by_kind)
        info = self.tenant(tenant_id)
        assert info is not None
        clients: dict[str, orjson.Fragment | None] = {}
        pruned = self.pruned
        for cid in sorted(by_kind["client"]):
            k = (tenant_id, cid)
            done = pruned.get(k)
            if done is None or start < done[0] or (done[1] is not None and done[1] <= start):
                held, flags = self.clients[k]
                done = pruned[k] = _pruned(held, flags, start)
            clients[cid] = done[2]
        regs: dict[str, list[str] | None] = {}
        for rid in sorted(by_kind["reg"]):
            reg = self.regs[(tenant_id, rid)]
            regs[rid] = None if reg is None else [reg.client_id, reg.group_id, reg.state]
        return {
            "prev_tier": prev_tier,
            "downgrades": info.downgrades,
            "groups": {g: self.groups[(tenant_id, g)] for g in sorted(by_kind["group"])},
            "regs": regs,
            "credits": {c: self.credits[(tenant_id, c)] for c in sorted(by_kind["credit"])},
            "clients": clients,
        }

    def _hold(self, tenant_id: str, by_kind: dict[str, list[str]]) -> None:
        """Read, a few statements per table, the rows of these keys not held yet."""
        p, d = self.p, self.p.db.dialect
        # Membership tests, not ``set - dict.keys()``: that builds a set of every held key.
        want = {(tenant_id, k) for k in by_kind["group"] if (tenant_id, k) not in self.groups}
        found = _load(self.tx, d, p.t("groups"), "group_id", "ends_on", want)
        for k in want:
            row = found.get(k)
            self.groups[k] = row[0] if row else None
        want = {(tenant_id, k) for k in by_kind["reg"] if (tenant_id, k) not in self.regs}
        found = _load(self.tx, d, p.t("regs"), "reg_id", "client_id, group_id, state", want)
        for k in want:
            row = found.get(k)
            self.regs[k] = Reg(row[0], row[1], row[2]) if row else None
        want = {(tenant_id, k) for k in by_kind["credit"] if (tenant_id, k) not in self.credits}
        found = _load(self.tx, d, p.t("credits"), "credit_id", "client_id", want)
        for k in want:
            row = found.get(k)
            self.credits[k] = row[0] if row else None
        want = {(tenant_id, k) for k in by_kind["client"] if (tenant_id, k) not in self.clients}
        found = _load(self.tx, d, p.t("clients"), "client_id", "model, flags", want)
        for k in want:
            row = found.get(k)
            if row:
                self.clients[k] = (ClientActivity.from_json(orjson.loads(row[0])), set(orjson.loads(row[1])))
            else:
                self.clients[k] = (ClientActivity(), set())

    def prefetch(self, records: Sequence[EventRecord]) -> None:
        """Read, in a few statements, every row the page's events will ask for (by key)."""
        tenants: set[str] = set()
        regs: set[tuple[str, str]] = set()
        credits: set[tuple[str, str]] = set()
        clients: set[tuple[str, str]] = set()
        groups: set[tuple[str, str]] = set()
        for ev in records:
            if ev.type not in HANDLED_NAMES:
                continue
            t, rid, d = str(ev.tenant_id), str(ev.aggregate_id), ev.data
            tenants.add(t)
            kind = ev.type
            if kind.startswith("Registration"):
                regs.add((t, rid))
                if "client_id" in d:
                    clients.add((t, str(d["client_id"])))
                for g in ("group_id", "to_group_id"):
                    if g in d:
                        groups.add((t, str(d[g])))
            elif kind.startswith("Credit"):
                credits.add((t, rid))
                if "client_id" in d:
                    clients.add((t, str(d["client_id"])))
            elif kind.startswith("Client"):
                clients.add((t, rid))
        p = self.p
        for t in sorted(tenants - self.tenants.keys()):
            self.tenant(t)
        found = _load(self.tx, p.db.dialect, p.t("regs"), "reg_id", "client_id, group_id, state", regs - self.regs.keys())
        for k in regs - self.regs.keys():
            row = found.get(k)
            self.regs[k] = Reg(row[0], row[1], row[2]) if row else None
        found = _load(self.tx, p.db.dialect, p.t("credits"), "credit_id", "client_id", credits - self.credits.keys())
        for k in credits - self.credits.keys():
            row = found.get(k)
            self.credits[k] = row[0] if row else None
        for (t, _), reg in list(self.regs.items()):
            if reg is not None:
                clients.add((t, reg.client_id))
                groups.add((t, reg.group_id))
        for (t, _), cid in list(self.credits.items()):
            if cid is not None:
                clients.add((t, cid))
        found = _load(self.tx, p.db.dialect, p.t("groups"), "group_id", "ends_on", groups - self.groups.keys())
        for k in groups - self.groups.keys():
            row = found.get(k)
            self.groups[k] = row[0] if row else None
        found = _load(self.tx, p.db.dialect, p.t("clients"), "client_id", "model, flags", clients - self.clients.keys())
        for k in clients - self.clients.keys():
            row = found.get(k)
            if row:
                self.clients[k] = (ClientActivity.from_json(orjson.loads(row[0])), set(orjson.loads(row[1])))
            else:
                self.clients[k] = (ClientActivity(), set())

    def flush(self) -> None:
        """Write what changed: a few multi-row statements per table, in a fixed order."""
        p, tx, d = self.p, self.tx, self.p.db.dialect
        tenants: list[tuple[Any, ...]] = []
        groups: list[tuple[Any, ...]] = []
        regs_gone: list[tuple[str, str]] = []
        regs: list[tuple[Any, ...]] = []
        credits_gone: list[tuple[str, str]] = []
        credits: list[tuple[Any, ...]] = []
        clients: list[tuple[Any, ...]] = []
        intervals: list[tuple[Any, ...]] = []
        for kind, t, key in sorted(self.dirty):
            if kind == "tenant":
                info = self.tenants[t]
                assert info is not None
                tenants.append((t, info_to_json(info)))
            elif kind == "group":
                groups.append((t, key, self.groups[(t, key)]))
            elif kind == "reg":
                reg = self.regs[(t, key)]
                if reg is None:
                    regs_gone.append((t, key))
                else:
                    regs.append((t, key, reg.client_id, reg.group_id, reg.state))
            elif kind == "credit":
                client = self.credits[(t, key)]
                if client is None:
                    credits_gone.append((t, key))
                else:
                    credits.append((t, key, client))
            else:
                act, flags = self.clients[(t, key)]
                info = self.tenant(t)
                assert info is not None
                clients.append((t, key, orjson.dumps(act.to_json()).decode(), orjson.dumps(sorted(flags)).decode()))
                intervals += [(t, key, s, e) for s, e in self._active(t, key, info)]
        insert_many(tx, d, f"INSERT INTO {p.t('tenants')} (tenant_id, info)", T2, tenants,
                    "ON CONFLICT (tenant_id) DO UPDATE SET info = excluded.info")
        insert_many(tx, d, f"INSERT INTO {p.t('groups')} (tenant_id, group_id, ends_on)", T3, groups,
                    "ON CONFLICT (tenant_id, group_id) DO UPDATE SET ends_on = excluded.ends_on")
        delete_keys(tx, d, p.t("regs"), "reg_id", regs_gone)
        insert_many(tx, d, f"INSERT INTO {p.t('regs')} (tenant_id, reg_id, client_id, group_id, state)", T5, regs,
                    "ON CONFLICT (tenant_id, reg_id) DO UPDATE SET client_id = excluded.client_id, "
                    "group_id = excluded.group_id, state = excluded.state")
        delete_keys(tx, d, p.t("credits"), "credit_id", credits_gone)
        insert_many(tx, d, f"INSERT INTO {p.t('credits')} (tenant_id, credit_id, client_id)", T3, credits,
                    "ON CONFLICT (tenant_id, credit_id) DO NOTHING")
        insert_many(tx, d, f"INSERT INTO {p.t('clients')} (tenant_id, client_id, model, flags)", T4, clients,
                    "ON CONFLICT (tenant_id, client_id) DO UPDATE SET model = excluded.model, flags = excluded.flags")
        delete_keys(tx, d, p.t("intervals"), "client_id", [(c[0], c[1]) for c in clients])
        insert_many(tx, d, f"INSERT INTO {p.t('intervals')} (tenant_id, client_id, start_us, end_us)",
                    ("text", "text", "bigint", "bigint"), intervals)
        for t in sorted(self.drained):
            tx.execute(f"DELETE FROM {p.t('changes')} WHERE tenant_id = ?", (t,))
        insert_many(tx, d, f"INSERT INTO {p.t('month_state')} (tenant_id, month, state)", T3, self.snapshots,
                    "ON CONFLICT (tenant_id, month) DO NOTHING")
        changes = sorted((t, kind, key) for t, keys in self.changed.items() for kind, key in keys)
        insert_many(tx, d, f"INSERT INTO {p.t('changes')} (tenant_id, kind, key)", T3, changes,
                    "ON CONFLICT (tenant_id, kind, key) DO NOTHING")
        self.dirty.clear()
        self.dirty_clients.clear()
        self.changed.clear()
        self.drained.clear()
        self.snapshots.clear()


def _pruned(act: ClientActivity, flags: set[str], start: int) -> tuple[int, int | None, orjson.Fragment | None]:
    """The client's entry of a month snapshot (``ClientActivity.prune`` then ``to_json``),
    and the first end after ``start``: the entry stays the same for any later start before it."""
    ends: list[int] = []
    segments = {}
    for k, v in act.segments.items():
        kept = [seg for seg in v if seg[1] is None or seg[1] > start]
        if kept:
            segments[k] = kept
            ends += [e for _, e in kept if e is not None]
    blocks = [b for b in act.blocks if b[1] is None or b[1] > start]
    ends += [e for _, e in blocks if e is not None]
    first_end = min(ends) if ends else None
    if not segments and not blocks and not flags:
        return start, first_end, None
    return start, first_end, orjson.Fragment(orjson.dumps([{"segments": segments, "blocks": blocks}, sorted(flags)]))


def _load(tx: Tx, dialect: str, table: str, key: str, columns: str, keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Rows of ``table`` by (tenant_id, ``key``): one statement per tenant and 500 keys."""
    out: dict[tuple[str, str], tuple[Any, ...]] = {}
    chunk: list[str] = []
    ordered = sorted(keys)
    for i, (t, k) in enumerate(ordered):
        chunk.append(k)
        if len(chunk) == 500 or i + 1 == len(ordered) or ordered[i + 1][0] != t:
            where, params = in_keys(dialect, chunk)
            for r in tx.execute(f"SELECT {key}, {columns} FROM {table} WHERE tenant_id = ? AND {key} {where}", (t, *params)):
                out[(t, r[0])] = tuple(r[1:])
            chunk = []
    return out
