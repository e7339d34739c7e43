"""The books on both databases (DOMAIN §6): payments, cancellation, compensation,
write-off per city, discounts, balances as of any instant, the trial balance."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classledger.aggregates.books import ClientAccount, account_id
from classledger.aggregates.errors import Conflict, Forbidden, Invalid, NotFound
from classledger.instants import us
from classledger.system import System
from tests.integration.books_support import School

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_payment_then_cancellation_by_reversal(system: System) -> None:
    """DOMAIN §6.3, §6.4: the original stays in the journal as cancelled."""
    s = School(system)
    pay = s.run("receive_payment", {"client_id": s.client, "amount": "50.00", "method": "cash", "branch_id": s.ba})
    assert s.balance() == {"total": "-50.00", "by_city": {"Bratislava": "-50.00"}}  # the centre owes the client
    with pytest.raises(Forbidden):
        s.run("cancel_transaction", {"transaction_id": pay["id"], "reason": "typo"})  # admins may not (§1.4)
    rev = s.run("cancel_transaction", {"transaction_id": pay["id"], "reason": "entered twice"}, who=s.director)
    assert rev["reverses"] == pay["id"]
    assert s.balance() == {"total": "0.00", "by_city": {}}
    journal = s.books.journal(s.tenant_id)
    assert [(j["kind"], j["status"]) for j in journal] == [("payment", "cancelled"), ("reversal", "posted")]
    assert journal[1]["reverses"] == pay["id"]
    with pytest.raises(Conflict) as e:
        s.run("cancel_transaction", {"transaction_id": pay["id"], "reason": "again"}, who=s.director)
    assert e.value.code == "already_cancelled"
    with pytest.raises(Conflict) as e:
        s.run("cancel_transaction", {"transaction_id": rev["id"], "reason": "undo"}, who=s.director)
    assert e.value.code == "cannot_cancel_reversal"


def test_another_tenants_transaction_cannot_be_cancelled(system: System) -> None:
    a, b = School(system), School(system)
    pay = a.run("receive_payment", {"client_id": a.client, "amount": "5.00", "method": "card", "branch_id": a.ba})
    with pytest.raises(NotFound):
        b.run("cancel_transaction", {"transaction_id": pay["id"], "reason": "x"}, who=b.director)


def test_money_is_a_string_of_the_exact_form(system: System) -> None:
    s = School(system)
    for bad in (50, 50.0, "50", "5e1", "-5.00", "0.00"):
        with pytest.raises(Invalid):
            s.run("receive_payment", {"client_id": s.client, "amount": bad, "method": "cash", "branch_id": s.ba})
    assert s.books.journal(s.tenant_id) == []


def test_corrections_write_offs_and_cities(system: System) -> None:
    """DOMAIN §6.4 compensation; §6.6 debts per city, handled by that city's staff."""
    s = School(system)
    s.run("post_correction", {"client_id": s.client, "branch_id": s.ke, "amount": "30.00", "reason": "unbilled lesson"}, who=s.director)
    s.run("post_correction", {"client_id": s.client, "branch_id": s.ba, "amount": "12.50", "reason": "unbilled lesson"}, who=s.director)
    assert s.balance() == {"total": "42.50", "by_city": {"Bratislava": "12.50", "Košice": "30.00"}}
    with pytest.raises(Forbidden):
        s.run("write_off_debt", {"client_id": s.client, "city": "Bratislava", "reason": "uncollectable"}, who=s.kosice_director)
    with pytest.raises(Conflict) as e:
        s.run("write_off_debt", {"client_id": s.client, "city": "Košice", "amount": "31.00", "reason": "x"}, who=s.kosice_director)
    assert e.value.code == "more_than_debt"
    s.run("write_off_debt", {"client_id": s.client, "city": "Košice", "reason": "moved abroad"}, who=s.kosice_director)
    assert s.balance() == {"total": "12.50", "by_city": {"Bratislava": "12.50"}}
    with pytest.raises(Conflict):
        s.run("write_off_debt", {"client_id": s.client, "city": "Košice", "reason": "again"}, who=s.kosice_director)
    tb = s.books.trial_balance(s.tenant_id, as_of=us(s.clock))
    assert tb["total"] == "0.00"
    assert tb["accounts"]["expenses:bad_debt"] == "30.00"


def test_balances_as_of_past_instants(system: System) -> None:
    """DOMAIN §6.5."""
    s = School(system)
    s.run("post_correction", {"client_id": s.client, "branch_id": s.ba, "amount": "100.00", "reason": "opening debt"}, who=s.director)
    after_debt = s.clock
    s.run("receive_payment", {"client_id": s.client, "amount": "40.00", "method": "bank", "branch_id": s.ba})
    assert s.balance(T0)["total"] == "0.00"
    assert s.balance(after_debt)["total"] == "100.00"
    assert s.balance()["total"] == "60.00"


def test_discounts_are_given_and_removed(system: System) -> None:
    s = School(system)
    s.run("give_discount", {"client_id": s.client, "kind": "percent", "value": "12.5", "reason": "large family"}, who=s.director)
    account: ClientAccount = system.app.get(account_id(uuid.UUID(s.client)))
    assert (account.discount.kind, account.discount.value) == ("percent", 1250)
    with pytest.raises(Invalid):
        s.run("give_discount", {"client_id": s.client, "kind": "percent", "value": "120", "reason": "x"}, who=s.director)
    s.run("remove_discount", {"client_id": s.client}, who=s.director)
    with pytest.raises(Conflict):
        s.run("remove_discount", {"client_id": s.client}, who=s.director)


ops = st.lists(st.tuples(st.sampled_from(["pay", "correct", "cancel", "write_off"]), st.integers(1, 20000),
                         st.booleans(), st.integers(0, 50)), min_size=1, max_size=25)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops)
def test_any_sequence_keeps_the_books_balanced(system: System, plan: list[tuple[str, int, bool, int]]) -> None:
    """Every transaction sums to zero, so does the trial balance at every instant; the
    client account (what commands decide on) agrees with the projection's balance."""
    s = School(system)
    done: list[str] = []
    instants = []
    for op, cents, in_kosice, pick in plan:
        branch = s.ke if in_kosice else s.ba
        amount = f"{cents // 100}.{cents % 100:02d}"
        try:
            if op == "pay":
                done.append(s.run("receive_payment", {"client_id": s.client, "amount": amount, "method": "cash", "branch_id": branch})["id"])
            elif op == "correct":
                done.append(s.run("post_correction", {"client_id": s.client, "branch_id": branch, "amount": amount, "reason": "r"}, who=s.director)["id"])
            elif op == "cancel" and done:
                s.run("cancel_transaction", {"transaction_id": done[pick % len(done)], "reason": "r"}, who=s.director)
            elif op == "write_off":
                s.run("write_off_debt", {"client_id": s.client, "city": "Košice" if in_kosice else "Bratislava", "reason": "r"}, who=s.director)
        except (Conflict, Invalid):
            pass
        instants.append(s.clock)
    for at in instants:
        assert s.books.trial_balance(s.tenant_id, as_of=us(at))["total"] == "0.00"
    for j in s.books.journal(s.tenant_id):
        assert sum(int(p["amount"].replace(".", "")) for p in j["postings"]) == 0
    account = system.app.get(account_id(uuid.UUID(s.client))) if done else None
    expected = dict(account.by_city) if account else {}
    names = {"bratislava": "Bratislava", "kosice": "Košice"}
    got = s.balance()["by_city"]
    assert {k: int(v.replace(".", "")) for k, v in got.items()} == {names[k]: v for k, v in expected.items()}
    # history is immutable: a balance as of an instant never changes when later facts arrive
    seen_then = [s.balance(at) for at in instants]
    s.run("post_correction", {"client_id": s.client, "branch_id": s.ba, "amount": "1.00", "reason": "later"}, who=s.director)
    assert [s.balance(at) for at in instants] == seen_then
