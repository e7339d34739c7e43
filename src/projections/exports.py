"""Exports an accountant can check (DOMAIN §6.7): the journal as CSV, XLSX and beancount.

All three are made from the journal's items (``Books.journal``), amounts as the
currency's decimal strings. Beancount account components must start with a capital
letter or a digit, so ids are prefixed (``B-`` branch, ``C-`` client) and other segments
capitalised; the mapping is deterministic, so the same books give the same file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

COLUMNS = ["id", "at", "kind", "status", "reverses", "account", "amount", "actor", "reason", "memo", "client_id"]


# What makes a spreadsheet read a cell as a formula (or, for tab and CR, a cell split or
# joined before one): a text cell starting with one of these is exported with a leading
# apostrophe, the spreadsheets' own "this is text" mark, so a note typed as
# ``=HYPERLINK(...)`` stays a note. Money is never text: an amount such as ``-120.00`` is a
# number and is exported as it is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
AMOUNT = COLUMNS.index("amount")


def neutral(cell: Any) -> Any:
    """A text cell that a spreadsheet would take for a formula, made plain text."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def rows(items: Iterable[dict[str, Any]]) -> Iterable[list[Any]]:
    """One row per posting, the transaction's fields repeated: what a spreadsheet wants.
    Text cells are ``neutral``; the amount is a number and stays as it is."""
    for t in items:
        for p in t["postings"]:
            row = [t["id"], t["at"], t["kind"], t["status"], t.get("reverses") or "", p["account"], p["amount"],
                   t.get("actor") or "", t.get("reason") or "", t.get("memo") or "", t.get("client_id") or ""]
            yield [cell if i == AMOUNT else neutral(cell) for i, cell in enumerate(row)]


def to_csv(items: Iterable[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(rows(items))
    return buf.getvalue().encode()


def to_xlsx(items: Iterable[dict[str, Any]], title: str = "Journal", zone: ZoneInfo | None = None) -> bytes:
    """A sheet an accountant can sum and sort: a bold, frozen header row, amounts as numeric
    cells (exact decimals, shown with the currency's places), instants as date cells in the
    tenant's time (a spreadsheet's dates have no zone), columns wide enough to read."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title[:31]
    ws.append(COLUMNS)
    at, amount = COLUMNS.index("at"), COLUMNS.index("amount")
    for r in rows(items):
        r[at] = _local(r[at], zone)
        r[amount] = Decimal(r[amount])
        ws.append(r)
    _format_sheet(ws, at, amount)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _local(at: str, zone: ZoneInfo | None) -> datetime:
    instant = datetime.fromisoformat(at)
    return (instant.astimezone(zone) if zone is not None else instant).replace(tzinfo=None)


def _format_sheet(ws: Worksheet, at: int, amount: int) -> None:
    widths = {"id": 38, "at": 20, "kind": 14, "status": 10, "reverses": 38, "account": 60, "amount": 14, "actor": 20,
              "reason": 30, "memo": 30, "client_id": 38}
    for n, name in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(n)].width = widths.get(name, 16)
        ws.cell(row=1, column=n).font = Font(bold=True)
    ws.freeze_panes = "A2"
    for (at_cell,) in ws.iter_rows(min_row=2, min_col=at + 1, max_col=at + 1):
        at_cell.number_format = "yyyy-mm-dd hh:mm:ss"
    for (amount_cell,) in ws.iter_rows(min_row=2, min_col=amount + 1, max_col=amount + 1):
        exponent = amount_cell.value.as_tuple().exponent if isinstance(amount_cell.value, Decimal) else -2
        places = -exponent if isinstance(exponent, int) else 2
        amount_cell.number_format = "#,##0" + ("." + "0" * places if places > 0 else "")


def bean_account(account: str) -> str:
    parts = account.split(":")
    out = [parts[0].capitalize()]
    for i, seg in enumerate(parts[1:], start=1):
        if len(seg) == 36 and seg.count("-") == 4:  # a UUID: say what it is
            prefix = {"cash": "B", "bank": "B", "receivable": "C"}.get(parts[i - 1], "X")
            out.append(f"{prefix}-{seg}")
        else:
            word = seg.replace("_", "-")
            out.append(word[:1].upper() + word[1:])
    return ":".join(out)


def _quote(text: str | None) -> str:
    return '"' + (text or "").replace("\\", "\\\\").replace('"', "'") + '"'


def to_beancount(items: list[dict[str, Any]], currency: str, zone: ZoneInfo, title: str = "classledger") -> bytes:
    """The whole journal as beancount text that ``bean-check`` accepts (§6.7)."""
    lines = [f'option "title" {_quote(title)}', f'option "operating_currency" "{currency}"', ""]
    accounts = sorted({bean_account(p["account"]) for t in items for p in t["postings"]})
    first = min((_day(t["at"], zone) for t in items), default="1970-01-01")
    lines += [f"{first} open {a}" for a in accounts]
    lines.append("")
    for t in items:
        flag = "*"
        narration = f"{t['kind']}" + (f": {t['reason']}" if t.get("reason") else "")
        lines.append(f"{_day(t['at'], zone)} {flag} {_quote(t.get('actor'))} {_quote(narration)}")
        lines.append(f'  id: "{t["id"]}"')
        lines.append(f'  status: "{t["status"]}"')
        if t.get("reverses"):
            lines.append(f'  reverses: "{t["reverses"]}"')
        for p in t["postings"]:
            lines.append(f"  {bean_account(p['account'])}  {p['amount']} {currency}")
        lines.append("")
    return "\n".join(lines).encode()


def _day(at: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(at).astimezone(zone).date().isoformat()
