"""Freezes over a pass shared by siblings (DOMAIN §2.4, §4.2, §4.6): the pass is paused
while any holder is frozen, and each calendar day moves it at most once, however many
holders are frozen that day (docs/accounting.md, pass lifecycle).

The family pass: 20 lessons, 60 days from 2026-03-02, so valid until 2026-04-30.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classledger.aggregates.errors import Conflict
from classledger.aggregates.passes import Pass, PassValidityChanged, Pause
from classledger.system import System
from tests.acceptance.passes_support import PassSchool
from tests.unit.test_pass_freezes import reference


class Family(PassSchool):
    def __init__(self, system: System) -> None:
        super().__init__(system)
        self.sibling = self.new_client("Adam")
        self.family = self.template("Family", "200.00", 20, 60, "group", multi_client=True)

    def sell_shared(self) -> str:
        return str(self.sell(self.family, [self.client, self.sibling])["id"])

    def freeze(self, client: str, start: str, end: str) -> None:
        self.run("freeze_client", {"client_id": client, "from": start, "to": end})

    def until(self) -> str:
        """Both holders' cards show the one pass with the same validity."""
        mine, theirs = self.card()["passes"], self.card(self.sibling)["passes"]
        assert len(mine) == len(theirs) == 1
        assert mine[0]["valid_until"] == theirs[0]["valid_until"]
        return str(mine[0]["valid_until"])


def test_overlapping_freezes_of_two_siblings_count_each_day_once(system: System) -> None:
    """DOMAIN §2.4, §4.6: Eva frozen 10–19 March (10 days), Adam 15–25 March (11 days):
    16 distinct days, so the pass moves 16 days, not 21."""
    s = Family(system)
    s.sell_shared()
    s.freeze(s.client, "2026-03-10", "2026-03-19")
    assert s.until() == "2026-05-10"
    s.freeze(s.sibling, "2026-03-15", "2026-03-25")
    assert s.until() == "2026-05-16"


def test_siblings_frozen_for_the_same_days_move_the_pass_once(system: System) -> None:
    """DOMAIN §4.6: the same ten days frozen for both holders move the shared pass ten days."""
    s = Family(system)
    s.sell_shared()
    s.freeze(s.client, "2026-03-10", "2026-03-19")
    s.freeze(s.sibling, "2026-03-10", "2026-03-19")
    assert s.until() == "2026-05-10"


def test_one_sibling_frozen_pauses_the_shared_pass(system: System) -> None:
    """DOMAIN §2.4 (the seeds are silent on shared passes): any holder frozen pauses it."""
    s = Family(system)
    s.sell_shared()
    s.freeze(s.sibling, "2026-03-10", "2026-03-19")
    assert s.until() == "2026-05-10"


def test_a_sibling_frozen_over_days_already_paused_after_the_move(system: System) -> None:
    """§4.6 on the moved validity: Eva's freeze 25 April–10 May overlaps ..30 April by 6 days,
    which resume after it (11–16 May); Adam frozen 1–6 May adds nothing, those days were
    paused for Eva already."""
    s = Family(system)
    s.sell_shared()
    s.freeze(s.client, "2026-04-25", "2026-05-10")
    assert s.until() == "2026-05-16"
    s.freeze(s.sibling, "2026-05-01", "2026-05-06")
    assert s.until() == "2026-05-16"
    # A day of Adam's not yet paused for the pass and inside its validity still counts.
    s.freeze(s.sibling, "2026-03-20", "2026-03-21")
    assert s.until() == "2026-05-18"


def test_a_pass_sold_into_overlapping_freezes_of_both_holders(system: System) -> None:
    """DOMAIN §2.4 at sale: freezes already recorded for the holders pause the pass by their
    distinct days (10–25 March: 16), not by the sum of the periods (21)."""
    s = Family(system)
    s.freeze(s.client, "2026-03-10", "2026-03-19")
    s.freeze(s.sibling, "2026-03-15", "2026-03-25")
    s.sell_shared()
    assert s.until() == "2026-05-16"


def test_a_sibling_frozen_after_a_sale_paused_for_the_same_days(system: System) -> None:
    """A pass paused at sale remembers why: a sibling's later freeze over those days adds nothing."""
    s = Family(system)
    s.freeze(s.client, "2026-03-10", "2026-03-19")
    pid = s.sell_shared()
    assert s.until() == "2026-05-10"
    s.freeze(s.sibling, "2026-03-12", "2026-03-14")
    assert s.until() == "2026-05-10"
    p = system.app.get(uuid.UUID(pid))
    assert isinstance(p, Pass)
    assert p.paused == (Pause(start=date(2026, 3, 10), end=date(2026, 3, 19)),)


def test_the_freeze_event_says_which_period_and_how_many_days(system: System) -> None:
    """DOMAIN §9.1: the accountant reads, on the pass's own history, each period that paused
    it and the days it moved; the figures add up to the move."""
    s = Family(system)
    pid = s.sell_shared()
    s.freeze(s.client, "2026-03-10", "2026-03-19")
    s.freeze(s.sibling, "2026-03-15", "2026-03-25")
    events = [e for e in system.app.history(uuid.UUID(pid)) if isinstance(e, PassValidityChanged)]
    assert [(e.change, e.frozen_days, e.paused) for e in events] == [
        ("freeze", 10, (Pause(start=date(2026, 3, 10), end=date(2026, 3, 19)),)),
        ("freeze", 6, (Pause(start=date(2026, 3, 15), end=date(2026, 3, 25)),)),
    ]


# (holder 0..2, first day as an offset from the sale's valid_from, length - 1)
freezes = st.lists(st.tuples(st.integers(0, 2), st.integers(-10, 75), st.integers(0, 20)), max_size=6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=freezes, after=freezes)
def test_any_freezes_of_three_siblings(system: System, before: list[tuple[int, int, int]],
                                       after: list[tuple[int, int, int]]) -> None:
    """For any freezes of the holders, recorded before the sale (met in date order) and after
    it (in turn), the shared pass ends where the day-by-day reference says. Each example is a
    tenant of its own."""
    s = Family(system)
    holders = [s.client, s.sibling, s.new_client("Ema")]
    sale = date(2026, 3, 2)

    def record(group: list[tuple[int, int, int]]) -> list[tuple[date, date]]:
        kept = []
        for who, offset, length in group:
            start = sale + timedelta(days=offset)
            try:
                s.freeze(holders[who], start.isoformat(), (start + timedelta(days=length)).isoformat())
            except Conflict:
                continue  # the same holder frozen twice over a day: refused (DOMAIN §2.4)
            kept.append((start, start + timedelta(days=length)))
        return kept

    recorded = sorted(set(record(before)))
    s.sell(s.family, holders, valid_from=sale)
    recorded += record(after)
    expected = reference(sale, date(2026, 4, 30), recorded)
    for h in holders:
        assert s.card(h)["passes"][0]["valid_until"] == expected.isoformat()


def test_a_recalculated_pass_is_paused_by_the_holders_recorded_freezes_like_a_sale(system: System) -> None:
    """DOMAIN §4.7 with §2.4, §4.6: the pass a recalculation sells starts today (2 March) for
    60 days, to 30 April; Eva's freeze of 10–19 March was recorded before, so it runs to
    10 May, as a sale on that day would. The freeze is on the new pass: Adam frozen on the
    same days later moves it no further."""
    s = Family(system)
    old = s.sell_shared()
    s.freeze(s.client, "2026-03-10", "2026-03-19")
    bigger = s.template("Family+", "300.00", 20, 60, "group", multi_client=True)
    new = str(s.run("recalculate_pass", {"pass_id": old, "template_id": bigger})["id"])

    def until() -> tuple[str, str]:  # the new pass on both holders' cards (the old one shows as recalculated)
        mine, theirs = ([p["valid_until"] for p in s.card(c)["passes"] if p["id"] == new] for c in (s.client, s.sibling))
        return mine[0], theirs[0]

    assert until() == ("2026-05-10", "2026-05-10")
    assert system.app.get(uuid.UUID(new)).paused == (Pause(start=date(2026, 3, 10), end=date(2026, 3, 19)),)
    s.freeze(s.sibling, "2026-03-12", "2026-03-15")
    assert until() == ("2026-05-10", "2026-05-10")
