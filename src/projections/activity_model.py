"""Who is active, when: the pure rules of DOMAIN §5, shared by the live projection and
the month replay (§5.7), with no I/O.

Eligibility (§5.1) is kept per client as *segments* ``[start, end)`` in microseconds UTC,
one per source: a registered registration (until cancelled, transferred away, or the
midnight after its group's ``ends_on``), a valid credit (until used, voided, or the
midnight after ``expires_on``), a pass valid with lessons left (§5.1 c). Archived and deleted
periods are *blocks*: nobody is eligible inside one.

Active time follows from eligibility (§5.2, §5.3): an eligible piece ``[a, b)`` makes the
client active over ``[a, m)`` where ``m`` is the first tenant-local midnight ≥ ``b``:
activation is immediate, deactivation happens only at midnight. A piece of no length (an
event made the client eligible and another ended it at the same instant) still activates
the client until the next midnight.

Because nobody becomes inactive between midnights, a day's peak is the number of clients
whose active time meets that day, and a month's peak is the largest daily peak (§5.5).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from classledger.instants import day_start, from_us

Interval = tuple[int, int | None]  # [start_us, end_us); None = open


def local_day(instant_us: int, zone: ZoneInfo) -> date:
    return from_us(instant_us).astimezone(zone).date()


def midnight_at_or_after(instant_us: int, zone: ZoneInfo) -> int:
    d = local_day(instant_us, zone)
    start = day_start(d, zone)
    return start if start == instant_us else day_start(d + timedelta(days=1), zone)


def midnight_after(instant_us: int, zone: ZoneInfo) -> int:
    return day_start(local_day(instant_us, zone) + timedelta(days=1), zone)


def end_of_day(d: date, zone: ZoneInfo) -> int:
    """The midnight that ends local day ``d`` (the start of the next day)."""
    return day_start(d + timedelta(days=1), zone)


def month_bounds(month: str, zone: ZoneInfo) -> tuple[date, date, int, int]:
    y, m = (int(p) for p in month.split("-"))
    first = date(y, m, 1)
    last = date(y, m, calendar.monthrange(y, m)[1])
    return first, last, day_start(first, zone), end_of_day(last, zone)


def next_month(month: str) -> str:
    y, m = (int(p) for p in month.split("-"))
    return f"{y + m // 12}-{m % 12 + 1:02d}"


def month_of(instant_us: int, zone: ZoneInfo) -> str:
    d = local_day(instant_us, zone)
    return f"{d.year:04d}-{d.month:02d}"


def _subtract(seg: Interval, blocks: Sequence[Interval]) -> list[Interval]:
    """``seg`` minus every block; keeps zero-length pieces that lie outside all blocks."""
    pieces: list[Interval] = [seg]
    for bs, be in blocks:
        out: list[Interval] = []
        for s, e in pieces:
            if e is not None and e == s:
                inside = bs <= s and (be is None or s < be)
                if not inside:
                    out.append((s, e))
                continue
            # the part before the block
            if s < bs:
                out.append((s, bs if e is None else min(e, bs)))
            # the part after the block
            if be is not None and (e is None or e > be):
                out.append((max(s, be), e))
        pieces = [(s, e) for s, e in out if e is None or e >= s]
    return pieces


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Merge overlapping or touching intervals (open ends stay open)."""
    items = sorted(intervals, key=lambda i: i[0])
    out: list[list[int | None]] = []
    for s, e in items:
        if out:
            pe = out[-1][1]
            if pe is None or s <= pe:
                if pe is not None and (e is None or e > pe):
                    out[-1][1] = e
                continue
        out.append([s, e])
    return [(int(s), e) for s, e in out]  # type: ignore[arg-type]


@dataclass
class ClientActivity:
    """One client's eligibility sources and blocks; everything else is derived."""

    segments: dict[str, list[list[int | None]]] = field(default_factory=dict)
    blocks: list[list[int | None]] = field(default_factory=list)

    # ---- changes ------------------------------------------------------------------

    def open(self, source: str, at: int, end: int | None) -> None:
        """``source`` makes the client eligible from ``at`` (until ``end``, if known)."""
        if end is not None and end <= at:
            return  # already over (a credit granted after its expiry): never eligible
        self.segments.setdefault(source, []).append([at, end])

    def close(self, source: str, at: int) -> None:
        """``source`` stops making the client eligible at ``at``."""
        for seg in self.segments.get(source, []):
            s, e = seg
            assert s is not None
            if e is None or e > at:
                seg[1] = max(s, at)

    def block(self, at: int) -> None:
        if not self.blocks or self.blocks[-1][1] is not None:
            self.blocks.append([at, None])

    def unblock(self, at: int) -> None:
        if self.blocks and self.blocks[-1][1] is None:
            start = self.blocks[-1][0]
            assert start is not None
            self.blocks[-1][1] = max(start, at)

    # ---- derived ------------------------------------------------------------------

    def eligible_pieces(self) -> list[Interval]:
        blocks: list[Interval] = [(int(s), e) for s, e in self.blocks]  # type: ignore[arg-type]
        out: list[Interval] = []
        for segs in self.segments.values():
            for s, e in segs:
                assert s is not None
                out.extend(_subtract((s, e), blocks))
        return out

    def active_intervals(self, zone: ZoneInfo) -> list[Interval]:
        actives: list[Interval] = []
        for s, e in self.eligible_pieces():
            if e is None:
                actives.append((s, None))
            elif e == s:
                actives.append((s, midnight_after(s, zone)))
            else:
                actives.append((s, midnight_at_or_after(e, zone)))
        return union(actives)

    def sources_meeting(self, lo: int, hi: int, zone: ZoneInfo) -> list[str]:
        """The sources whose own active time meets ``[lo, hi)``: why the client counts in a
        day's peak (§5.8). Each source's eligible pieces (outside blocks) extend to the
        midnight after them, as in ``active_intervals``."""
        blocks: list[Interval] = [(int(s), e) for s, e in self.blocks]  # type: ignore[arg-type]
        out = []
        for source, segs in self.segments.items():
            for seg_start, seg_end in segs:
                assert seg_start is not None
                if any(_meets(piece, lo, hi, zone) for piece in _subtract((seg_start, seg_end), blocks)):
                    out.append(source)
                    break
        return sorted(out)

    def prune(self, before: int) -> None:
        """Forget what cannot matter from ``before`` (a midnight) on: the month snapshot."""
        self.segments = {
            k: kept for k, v in self.segments.items() if (kept := [seg for seg in v if seg[1] is None or seg[1] > before])
        }
        self.blocks = [b for b in self.blocks if b[1] is None or b[1] > before]

    def is_empty(self) -> bool:
        return not self.segments and not self.blocks

    def to_json(self) -> dict[str, Any]:
        return {"segments": self.segments, "blocks": self.blocks}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClientActivity:
        return cls(
            segments={k: [list(s) for s in v] for k, v in data.get("segments", {}).items()},
            blocks=[list(b) for b in data.get("blocks", [])],
        )


def _meets(piece: Interval, lo: int, hi: int, zone: ZoneInfo) -> bool:
    s, e = piece
    if e is None:
        end = None
    elif e == s:
        end = midnight_after(s, zone)
    else:
        end = midnight_at_or_after(e, zone)
    return s < hi and (end is None or end > lo)


SOURCE_KINDS = {"r": "registration", "c": "credit", "p": "pass"}


def peak_clients(models: Iterable[tuple[str, ClientActivity]], peak_day: str | None, zone: ZoneInfo) -> list[dict[str, Any]]:
    """§5.8: the clients active at the peak (whose active time meets the peak day: nobody
    turns inactive before its closing midnight), each with the sources that made them
    eligible, ``{"kind": registration|credit|pass, "id"}``, by client id."""
    if peak_day is None:
        return []
    day = date.fromisoformat(peak_day)
    lo, hi = day_start(day, zone), end_of_day(day, zone)
    out = []
    for cid, act in sorted(models, key=lambda m: m[0]):
        sources = act.sources_meeting(lo, hi, zone)
        if sources:
            out.append({"id": cid, "sources": [{"kind": SOURCE_KINDS.get(k[:1], k[:1]), "id": k[2:]} for k in sources]})
    return out


def daily_counts(intervals: Iterable[Interval], first: date, last: date, zone: ZoneInfo) -> list[int]:
    """For each day first..last: how many of the (per-client disjoint) intervals meet it."""
    n = (last - first).days + 1
    diff = [0] * (n + 1)
    lo = day_start(first, zone)
    hi = end_of_day(last, zone)
    for s, e in intervals:
        if s >= hi or (e is not None and e <= lo):
            continue
        a = 0 if s < lo else (local_day(s, zone) - first).days
        b = n - 1 if e is None or e >= hi else (local_day(e - 1, zone) - first).days
        if b >= a:
            diff[a] += 1
            diff[b + 1] -= 1
    out, running = [], 0
    for i in range(n):
        running += diff[i]
        out.append(running)
    return out


def count_at(intervals: Iterable[Interval], instant: int) -> int:
    return sum(1 for s, e in intervals if s <= instant and (e is None or e > instant))


@dataclass(frozen=True)
class Tier:
    name: str
    max_active: int


def tier_for(peak: int, tiers: Sequence[Tier]) -> Tier | None:
    """The smallest tier whose limit covers the peak (§5.6); the largest if none does."""
    ordered = sorted(tiers, key=lambda t: t.max_active)
    for t in ordered:
        if t.max_active >= peak:
            return t
    return ordered[-1] if ordered else None


def tier_in_force(
    peak: int, tiers: Sequence[Tier], previous: str | None, requested_downgrade: str | None
) -> str | None:
    """§5.6: moving up is automatic; moving down only by the tenant's written request."""
    needed = tier_for(peak, tiers)
    if needed is None:
        return None
    rank = {t.name: t.max_active for t in tiers}
    floor = requested_downgrade if requested_downgrade is not None else previous
    if floor is not None and floor in rank and rank[floor] > needed.max_active:
        return floor
    return needed.name


def month_report(
    month: str,
    intervals: Iterable[Interval],
    zone: ZoneInfo,
    *,
    as_of: int,
    tiers: Sequence[Tier],
    previous_tier: str | None,
    requested_downgrade: str | None,
) -> dict[str, Any]:
    """The body of ``GET /v1/reports/activity`` (API §3, DOMAIN §5.5–5.6).

    Days after ``as_of`` are not reported; for a month still running, ``end_of_month``
    is the count at ``as_of``. Activity recorded for instants after ``as_of`` (a business
    clock a few minutes ahead of the server's) is not counted yet: the report is what
    the month's events up to ``as_of`` give, as a replay of them gives it (DOMAIN §5.7).
    """
    first, last, _, month_end = month_bounds(month, zone)
    ivs = [iv for iv in intervals if iv[0] <= as_of]
    upto = last
    if as_of < month_end:
        upto = local_day(as_of, zone) if as_of >= day_start(first, zone) else first - timedelta(days=1)
    days = daily_counts(ivs, first, upto, zone) if upto >= first else []
    peak = max(days) if days else 0
    peak_day = first + timedelta(days=days.index(peak)) if days and peak > 0 else None
    end_count = count_at(ivs, min(month_end - 1, as_of)) if upto >= first else 0
    return {
        "month": month,
        "peak": peak,
        "peak_day": peak_day.isoformat() if peak_day else None,
        "end_of_month": end_count,
        "tier": tier_in_force(peak, tiers, previous_tier, requested_downgrade),
        "days": [{"date": (first + timedelta(days=i)).isoformat(), "peak": c} for i, c in enumerate(days)],
    }
