"""Properties of passes under any sequence of commands (DOMAIN §4, §6.3):

- remainders and lessons left are never negative;
- a lesson transfer conserves lessons: the giver loses exactly what the receiver gains;
- recognised lesson revenue plus the deferred balance equals the list price of the
  passes sold (not voided) net of what refunds settled, plus single-visit charges;
- the journal stays balanced, and every live projection equals a rebuild (API §5).
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from classledger.aggregates.errors import Refused
from classledger.application.principal import Principal
from classledger.instants import us
from classledger.projections.books import Books
from classledger.projections.passes import PassBook
from classledger.projections.verify import verify
from classledger.system import System
from tests.builders import School

SVP = 700  # single-visit price, minor units
TEMPLATES = [("120.00", 10, 40), ("100.00", 3, 20), ("0.07", 12, 30)]


def minor(text: str) -> int:
    return int(Decimal(text) * 100)


@dataclass
class Sold:
    price: int  # what the sale put into deferred revenue
    voided: bool = False


class PassMachine(RuleBasedStateMachine):
    @initialize()
    def open(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.system = System.open(f"sqlite:///{self.dir.name}/db.sqlite")
        self.at = datetime(2026, 3, 1, 9, tzinfo=UTC)
        school = School.open(self.system, name="S", at=self.at, timezone="Europe/Tallinn")
        self.tid = school.tenant_id
        self.admin = school.principal("admin", "Kadri")
        self.director = school.principal("director", "Mari")
        self.regional = school.principal("regional_director", "Rein")
        school.admin, school.director = self.admin, self.director
        self.branch = school.branch("Kesklinn", "Tallinn")
        school.lesson_type("group", "G", "7.00")
        self.templates = [school.pass_template(f"T{i}", p, n, d, "group", allow_overlap=True)
                          for i, (p, n, d) in enumerate(TEMPLATES)]
        self.prices = {t: minor(p) for t, (p, _, _) in zip(self.templates, TEMPLATES, strict=True)}
        self.clients = [school.client(n, self.branch) for n in ("A", "B", "C")]
        self.at = school.clock
        self.sold: dict[str, Sold] = {}
        self.settled = 0
        self.visits: dict[str, bool] = {}  # visit id -> charged at the single-visit price
        self.charged = 0

    def run(self, command: str, args: dict, minutes: int = 1, who: Principal | None = None) -> dict | None:
        self.at += timedelta(minutes=minutes)
        try:
            return self.system.execute(who or self.admin, command, args, at=self.at)
        except Refused:
            return None

    def day(self) -> date:
        return self.at.date()

    def card(self, client: str) -> dict:
        return self.system.view(PassBook).card_part(self.tid, uuid.UUID(client), self.day())

    @rule(c=st.integers(0, 2), t=st.integers(0, 2), mode=st.sampled_from(["paid", "on_credit", "no_payment"]),
          back=st.integers(0, 5))
    def sell(self, c: int, t: int, mode: str, back: int) -> None:
        args = {"template_id": self.templates[t], "client_ids": [self.clients[c]], "branch_id": self.branch,
                "valid_from": (self.day() - timedelta(days=back)).isoformat(), "payment": mode}
        if mode == "paid":
            args["method"] = "cash"
        ans = self.run("sell_pass", args)
        assert ans is not None
        self.sold[ans["id"]] = Sold(0 if mode == "no_payment" else self.prices[self.templates[t]])

    @rule(c=st.integers(0, 2), minutes=st.integers(1, 4000), absent=st.booleans())
    def visit(self, c: int, minutes: int, absent: bool) -> None:
        ans = self.run("record_visit", {"client_id": self.clients[c], "lesson_type": "group",
                                        "date": self.day().isoformat(), "status": "absent" if absent else "attended"},
                       minutes)
        assert ans is not None
        self.visits[ans["id"]] = ans["charged"]
        self.charged += SVP if ans["charged"] else 0

    @rule(i=st.integers(0, 50))
    def cancel_visit(self, i: int) -> None:
        if self.visits:
            vid = list(self.visits)[i % len(self.visits)]
            if self.run("cancel_visit", {"visit_id": vid, "reason": "x"}) is not None and self.visits[vid]:
                self.charged -= SVP

    @rule(i=st.integers(0, 50), n=st.integers(1, 4))
    def virtual(self, i: int, n: int) -> None:
        if self.sold:
            self.run("add_virtual_visits", {"pass_id": list(self.sold)[i % len(self.sold)], "count": n})

    @rule(a=st.integers(0, 2), b=st.integers(0, 2), n=st.integers(1, 5))
    def transfer(self, a: int, b: int, n: int) -> None:
        giver, taker = self.clients[a], self.clients[b]
        before = (self.card(giver)["remainders"].get("group", 0), self.card(taker)["remainders"].get("group", 0))
        ans = self.run("transfer_lessons", {"from_client_id": giver, "to_client_id": taker, "lesson_type": "group",
                                            "count": n}, who=self.regional)
        after = (self.card(giver)["remainders"].get("group", 0), self.card(taker)["remainders"].get("group", 0))
        if ans is None:
            assert after == before
        else:
            assert a != b
            assert after == (before[0] - n, before[1] + n)  # lessons conserved (§4.10)
            for pid in ans["pass_ids"]:
                self.sold[pid] = Sold(0)  # its value came from the giving pass

    @rule(i=st.integers(0, 50))
    def refund(self, i: int) -> None:
        if self.sold:
            pid = list(self.sold)[i % len(self.sold)]
            ans = self.run("refund_pass", {"pass_id": pid, "method": "bank", "comment": "x"}, who=self.director)
            if ans is not None:
                self.settled += minor(ans["settled"])  # the pass's charge the refund cancels (§4.8)

    @rule(i=st.integers(0, 50), t=st.integers(0, 2))
    def recalculate(self, i: int, t: int) -> None:
        if self.sold:
            pid = list(self.sold)[i % len(self.sold)]
            ans = self.run("recalculate_pass", {"pass_id": pid, "template_id": self.templates[t]})
            if ans is not None:
                # §4.7: the old pass leaves deferred at its actual value; the new one enters at its price
                self.settled += minor(ans["actual_value"])
                self.sold[ans["id"]] = Sold(self.prices[self.templates[t]])

    @rule(i=st.integers(0, 50))
    def void(self, i: int) -> None:
        if self.sold:
            pid = list(self.sold)[i % len(self.sold)]
            if self.run("void_pass", {"pass_id": pid, "reason": "x"}, who=self.director) is not None:
                self.sold[pid].voided = True

    @rule(i=st.integers(0, 50), days=st.integers(0, 30), bonus=st.integers(0, 3))
    def extend(self, i: int, days: int, bonus: int) -> None:
        if self.sold:
            self.run("extend_pass", {"pass_id": list(self.sold)[i % len(self.sold)],
                                     "valid_until": (self.day() + timedelta(days=days)).isoformat(),
                                     "bonus_lessons": bonus})

    @rule(i=st.integers(0, 50), days=st.integers(1, 30))
    def expire(self, i: int, days: int) -> None:
        if self.sold:
            self.at += timedelta(days=days)
            self.run("expire_pass", {"pass_id": list(self.sold)[i % len(self.sold)]})

    @rule(c=st.integers(0, 2), start=st.integers(0, 10), length=st.integers(0, 10))
    def freeze(self, c: int, start: int, length: int) -> None:
        s = self.day() + timedelta(days=start)
        self.run("freeze_client", {"client_id": self.clients[c], "from": s.isoformat(),
                                   "to": (s + timedelta(days=length)).isoformat()})

    @invariant()
    def never_negative(self) -> None:
        if not hasattr(self, "clients"):
            return
        for c in self.clients:
            card = self.card(c)
            assert all(n >= 0 for n in card["remainders"].values())
            assert all(p["lessons_remaining"] >= 0 for p in card["passes"])

    @invariant()
    def revenue_plus_deferred_is_sales_net_of_refunds(self) -> None:
        if not hasattr(self, "clients"):
            return
        tb = self.system.view(Books).trial_balance(self.tid, as_of=us(self.at + timedelta(seconds=1)))
        assert tb["total"] == "0.00"
        acc = tb["accounts"]
        held = -(minor(acc.get("liabilities:deferred:group", "0.00")) + minor(acc.get("income:lessons:group", "0.00")))
        sales = sum(s.price for s in self.sold.values() if not s.voided)
        assert held == sales - self.settled + self.charged

    def teardown(self) -> None:
        if hasattr(self, "system"):
            try:
                result = verify(self.system.store, ["all"])
                assert result.ok, result.as_json()
            finally:
                self.system.close()
                self.dir.cleanup()


TestPassProperties = PassMachine.TestCase
TestPassProperties.settings = settings(max_examples=20, stateful_step_count=30, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
