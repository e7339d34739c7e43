"""DOMAIN §6.7: the journal exported as CSV, XLSX and beancount; the beancount file passes
the real beancount loader and its account balances equal the trial balance."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

from beancount import loader
from beancount.core import data
from openpyxl import load_workbook

from classledger.instants import us
from classledger.projections import exports
from classledger.system import System
from tests.integration.books_support import School


def books_with_history(s: School) -> None:
    s.run("post_correction", {"client_id": s.client, "branch_id": s.ke, "amount": "30.00", "reason": "lesson \"extra\""}, who=s.director)
    s.run("post_correction", {"client_id": s.client, "branch_id": s.ba, "amount": "120.00", "reason": "pass"}, who=s.director)
    pay = s.run("receive_payment", {"client_id": s.client, "amount": "50.00", "method": "cash", "branch_id": s.ba})
    s.run("receive_payment", {"client_id": s.client, "amount": "70.00", "method": "card", "branch_id": s.ba})
    s.run("cancel_transaction", {"transaction_id": pay["id"], "reason": "wrong client"}, who=s.director)
    s.run("write_off_debt", {"client_id": s.client, "city": "Košice", "reason": "moved"}, who=s.director)


def test_beancount_export_passes_the_checker_and_matches_the_trial_balance(system: System) -> None:
    s = School(system)
    books_with_history(s)
    items = s.books.journal(s.tenant_id)
    text = exports.to_beancount(items, "EUR", ZoneInfo("Europe/Bratislava"), title="Škola").decode()
    entries, errors, _ = loader.load_string(text)
    assert errors == [], errors
    balances: dict[str, Decimal] = {}
    for e in entries:
        if isinstance(e, data.Transaction):
            for p in e.postings:
                balances[p.account] = balances.get(p.account, Decimal(0)) + p.units.number
    tb = s.books.trial_balance(s.tenant_id, as_of=us(s.clock))
    expected = {exports.bean_account(a): Decimal(v) for a, v in tb["accounts"].items()}
    assert {a: v for a, v in balances.items() if v != 0} == expected
    assert sum(balances.values()) == 0


def test_csv_and_xlsx_have_a_row_per_posting(system: System) -> None:
    s = School(system)
    books_with_history(s)
    items = s.books.journal(s.tenant_id)
    postings = sum(len(t["postings"]) for t in items)
    table = list(csv.reader(io.StringIO(exports.to_csv(items).decode())))
    assert table[0] == exports.COLUMNS
    assert len(table) == postings + 1
    assert sum(Decimal(r[6]) for r in table[1:]) == 0
    ws = load_workbook(io.BytesIO(exports.to_xlsx(items))).active
    values = list(ws.iter_rows(values_only=True))
    assert list(values[0]) == exports.COLUMNS
    assert len(values) == postings + 1
    assert sum(Decimal(str(r[6])) for r in values[1:]) == 0
    assert all(isinstance(r[6], int | float) for r in values[1:])  # API §7: amounts are numeric cells
