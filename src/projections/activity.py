"""The activity timeline: active clients as of any instant, and the monthly peak (DOMAIN §5).

One set of rules (``activity_rules.Rules``) applies events to a state of groups,
registrations, credits and per-client eligibility (``activity_model.ClientActivity``).
This projection keeps that state in tables (``activity_tables``: cached over a page,
flushed at its end, with a snapshot at every month's start) and derives each client's
active intervals into ``intervals``. The month replay (§5.7, ``activity_months``) keeps it
in dicts. Both produce the report through ``activity_model.month_report``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

import orjson

from classledger.instants import day_start
from classledger.projections.activity_model import (
    ClientActivity,
    Interval,
    end_of_day,
    month_bounds,
    month_report,
    peak_clients,
)
from classledger.projections.activity_rules import HANDLED, TenantInfo, info_from_json
from classledger.projections.activity_tables import TableState
from classledger.projections.runtime import (
    EventRecord,
    PagedProjection,
    handles,
)
from classledger.store.database import Tx


class ActivityTimeline(PagedProjection[TableState]):
    name = "activity"
    version = 3  # 2: passes make clients eligible (DOMAIN §5.1 (c)); 3: month_state rows are deltas
    weight = 3
    stageable = True  # handlers only read; month_state and changes are written by the flush
    tables = {
        "tenants": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT PRIMARY KEY, info TEXT NOT NULL)",
        "groups": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, group_id TEXT NOT NULL, ends_on TEXT NOT NULL, PRIMARY KEY (tenant_id, group_id))",
        "regs": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, reg_id TEXT NOT NULL, client_id TEXT NOT NULL, group_id TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (tenant_id, reg_id))",
        "credits": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, credit_id TEXT NOT NULL, client_id TEXT NOT NULL, PRIMARY KEY (tenant_id, credit_id))",
        "clients": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, model TEXT NOT NULL, flags TEXT NOT NULL, PRIMARY KEY (tenant_id, client_id))",
        "intervals": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, start_us BIGINT NOT NULL, end_us BIGINT)",
        "month_state": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, month TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (tenant_id, month))",
        # What changed since the tenant's last month_state row (kind: group, reg, credit, client).
        "changes": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tenant_id, kind, key))",
    }
    indexes = [
        "CREATE INDEX IF NOT EXISTS {t_intervals}_by_client ON {t_intervals} (tenant_id, client_id)",
        "CREATE INDEX IF NOT EXISTS {t_intervals}_by_start ON {t_intervals} (tenant_id, start_us)",
    ]
    applies_through = frozenset({"{t_intervals}_by_client", "{t_intervals}_by_start"})


    @handles(*HANDLED)
    def _on_event(self, tx: Tx, ev: EventRecord) -> None:
        self._page(tx).apply_event(ev)

    def prefetch(self, tx: Tx, records: Sequence[EventRecord]) -> None:
        self._page(tx).prefetch(records)


    def new_page(self, tx: Tx) -> TableState:
        return TableState(self, tx)

    # ---- reads -------------------------------------------------------------------

    def tenant_info(self, tx: Tx, tenant_id: UUID) -> TenantInfo | None:
        row = tx.one(f"SELECT info FROM {self.t('tenants')} WHERE tenant_id = ?", (str(tenant_id),))
        return info_from_json(row[0]) if row else None

    def intervals(self, tx: Tx, tenant_id: UUID, lo: int, hi: int) -> list[Interval]:
        rows = tx.execute(
            f"SELECT start_us, end_us FROM {self.t('intervals')} WHERE tenant_id = ? AND start_us < ? "
            "AND (end_us IS NULL OR end_us > ?)",
            (str(tenant_id), hi, lo),
        )
        return [(int(r[0]), None if r[1] is None else int(r[1])) for r in rows]

    def active_counts(self, tenant_id: UUID, at: int) -> dict[str, int]:
        """``GET /v1/reports/active-clients``: active, and inactive = known, not deleted, not active."""
        with self.db.read() as tx:
            (active,) = tx.one(
                f"SELECT COUNT(DISTINCT client_id) FROM {self.t('intervals')} WHERE tenant_id = ? AND start_us <= ? "
                "AND (end_us IS NULL OR end_us > ?)",
                (str(tenant_id), at, at),
            ) or (0,)
            (known,) = tx.one(
                f"SELECT COUNT(*) FROM {self.t('clients')} WHERE tenant_id = ? AND flags NOT LIKE ?",
                (str(tenant_id), '%deleted%'),
            ) or (0,)
        return {"active": int(active), "inactive": max(0, int(known) - int(active))}

    def is_active(self, tenant_id: UUID, client_id: UUID, at: int) -> bool:
        with self.db.read() as tx:
            row = tx.one(
                f"SELECT 1 FROM {self.t('intervals')} WHERE tenant_id = ? AND client_id = ? AND start_us <= ? "
                "AND (end_us IS NULL OR end_us > ?)",
                (str(tenant_id), str(client_id), at, at),
            )
        return row is not None

    def active_among(self, tenant_id: UUID, client_ids: list[str], at: int) -> set[str]:
        """Which of ``client_ids`` are active at ``at`` (``is_active`` for a page of clients)."""
        if not client_ids:
            return set()
        marks = ", ".join("?" * len(client_ids))
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT DISTINCT client_id FROM {self.t('intervals')} WHERE tenant_id = ? AND client_id IN ({marks}) "
                "AND start_us <= ? AND (end_us IS NULL OR end_us > ?)",
                (str(tenant_id), *client_ids, at, at),
            )
        return {str(r[0]) for r in rows}

    def registrations_of(self, tenant_id: UUID, client_id: UUID) -> list[dict[str, str]]:
        """The client's open registrations for the card (API §3)."""
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT reg_id, group_id, state FROM {self.t('regs')} WHERE tenant_id = ? AND client_id = ? ORDER BY reg_id",
                (str(tenant_id), str(client_id)),
            )
        return [{"id": r[0], "group_id": r[1], "state": r[2]} for r in rows]

    def active_subquery(self, tenant_id: UUID, at: int) -> tuple[str, tuple[Any, ...]]:
        """SQL selecting the ids of clients active at ``at`` (for the client list filter)."""
        return (
            f"SELECT client_id FROM {self.t('intervals')} WHERE tenant_id = ? AND start_us <= ? "
            "AND (end_us IS NULL OR end_us > ?)",
            (str(tenant_id), at, at),
        )

    def report(self, tenant_id: UUID, month: str, *, as_of: int) -> dict[str, Any] | None:
        """The live monthly report (§5.5–5.6) from the projection's intervals, with the
        clients counted in its peak and why (§5.8, ``peak_clients``)."""
        with self.db.read() as tx:
            info = self.tenant_info(tx, tenant_id)
            if info is None:
                return None
            _, _, lo, hi = month_bounds(month, info.zone)
            ivs = self.intervals(tx, tenant_id, lo, hi)
            previous = self.stored_previous_tier(tx, tenant_id, info, month, as_of)
        report = month_report(
            month, ivs, info.zone, as_of=as_of, tiers=info.tiers, previous_tier=previous,
            requested_downgrade=info.downgrades.get(month),
        )
        report["peak_clients"] = self.peak_clients(tenant_id, report["peak_day"])
        return report

    def peak_clients(self, tenant_id: UUID, peak_day: str | None) -> list[dict[str, Any]]:
        """§5.8: the clients counted in the peak of ``peak_day`` and why (``activity_model.peak_clients``)."""
        with self.db.read() as tx:
            info = self.tenant_info(tx, tenant_id)
            if info is None or peak_day is None:
                return []
            day = date.fromisoformat(peak_day)
            lo, hi = day_start(day, info.zone), end_of_day(day, info.zone)
            rows = tx.execute(
                f"SELECT c.client_id, c.model FROM {self.t('clients')} c WHERE c.tenant_id = ? AND c.client_id IN "
                f"(SELECT DISTINCT client_id FROM {self.t('intervals')} WHERE tenant_id = ? AND start_us < ? "
                "AND (end_us IS NULL OR end_us > ?))",
                (str(tenant_id), str(tenant_id), hi, lo),
            )
        models = [(str(r[0]), ClientActivity.from_json(orjson.loads(r[1]))) for r in rows]
        return peak_clients(models, peak_day, info.zone)

    def stored_previous_tier(self, tx: Tx, tenant_id: UUID, info: TenantInfo, month: str, as_of: int) -> str | None:
        """``previous_tier`` from the tables alone."""
        return self.previous_tier(tx, str(tenant_id), info, month, as_of, {},
                                  lambda lo, hi: self.intervals(tx, tenant_id, lo, hi))

    def previous_tier(
        self, tx: Tx, tenant_id: str, info: TenantInfo, month: str, as_of: int,
        known: Mapping[tuple[str, str], str | None], intervals: Callable[[int, int], list[Interval]],
    ) -> str | None:
        """The tier of the month before ``month`` (DOMAIN §5.6: moving down needs a request).
        ``known`` holds prev_tiers of month_state rows not written yet (a page's), and
        ``intervals(lo, hi)`` the activity intervals meeting [lo, hi), from wherever the
        caller's current state lives (the tables, or a page in memory)."""
        # A month no event has reached yet takes its previous month's tier, computed the same
        # way: walk back to a month whose answer is known, then forward (a loop, not
        # recursion: a report may lie years after the tenant's last event).
        pending: list[str] = []
        before: str | None
        while True:
            if (tenant_id, month) in known:
                before = known[(tenant_id, month)]
                break
            row = tx.one(f"SELECT state FROM {self.t('month_state')} WHERE tenant_id = ? AND month = ?", (tenant_id, month))
            if row is not None:
                before = orjson.loads(row[0]).get("prev_tier")
                break
            last = info.last_month
            if last is None or month <= last:
                before = None
                break
            pending.append(month)
            month = _prev_month(month)
        for later in reversed(pending):
            prev_month = _prev_month(later)
            _, _, lo, hi = month_bounds(prev_month, info.zone)
            rep = month_report(prev_month, intervals(lo, hi), info.zone, as_of=as_of, tiers=info.tiers,
                               previous_tier=before, requested_downgrade=info.downgrades.get(prev_month))
            before = rep["tier"]
        return before


def _prev_month(month: str) -> str:
    y, m = (int(p) for p in month.split("-"))
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"
