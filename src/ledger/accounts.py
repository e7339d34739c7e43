"""The chart of accounts (DOMAIN §6.3). Names are colon-separated paths under fixed roots.

  assets:cash:<branch_id>            assets:bank:<branch_id> (card and transfer)
  assets:receivable:<client_id>:<city>   the client's account, per city (§6.6)
  liabilities:deferred:<lesson_type>     prepaid lessons not yet given
  income:lessons:<lesson_type>       income:discounts (contra-income)
  expenses:bad_debt                  equity:opening (opening balances of an import)

A tenant may add accounts under these prefixes. City names may contain spaces and
diacritics (Košice, Pärnu), so the account segment is a deterministic key of the name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from uuid import UUID

ROOTS = ("assets", "liabilities", "income", "expenses", "equity")
INCOME_DISCOUNTS = "income:discounts"
BAD_DEBT = "expenses:bad_debt"
OPENING = "equity:opening"
_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class AccountError(ValueError):
    pass


def city_key(city: str) -> str:
    """'Košice' -> 'kosice', 'Nové Zámky' -> 'nove-zamky': stable, ASCII where it can be."""
    decomposed = unicodedata.normalize("NFKD", city.strip())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    key = re.sub(r"[^0-9a-z\u0400-\u04ff]+", "-", plain).strip("-")
    if not key:
        raise AccountError(f"a city needs a name: {city!r}")
    return key


def cash(branch_id: UUID) -> str:
    return f"assets:cash:{branch_id}"


def bank(branch_id: UUID) -> str:
    return f"assets:bank:{branch_id}"


def receivable(client_id: UUID, city: str) -> str:
    return f"assets:receivable:{client_id}:{city_key(city)}"


def deferred(lesson_type: str) -> str:
    return f"liabilities:deferred:{lesson_type}"


def income_lessons(lesson_type: str) -> str:
    return f"income:lessons:{lesson_type}"


def money_account(method: str, branch_id: UUID) -> str:
    """Where a payment lands: cash, or the bank for card and transfer (§6.3)."""
    if method == "cash":
        return cash(branch_id)
    if method in ("card", "bank"):
        return bank(branch_id)
    raise AccountError(f"unknown payment method {method!r}: cash, card or bank")


def parse(name: str) -> list[str]:
    parts = name.split(":")
    if parts[0] not in ROOTS or len(parts) < 2 or not all(p and ":" not in p for p in parts):
        raise AccountError(f"{name!r} is not an account under {', '.join(ROOTS)}")
    for p in parts[1:]:
        if not (_SEGMENT.match(p) or re.fullmatch(r"[0-9a-f-]{36}", p) or re.fullmatch(r"[a-z0-9\u0400-\u04ff-]+", p)):
            raise AccountError(f"{name!r}: segment {p!r} is not a valid account segment")
    return parts


@dataclass(frozen=True)
class Receivable:
    client_id: UUID
    city: str


def as_receivable(name: str) -> Receivable | None:
    """The client and city of a client account, or None for any other account."""
    parts = name.split(":")
    if len(parts) == 4 and parts[:2] == ["assets", "receivable"]:
        return Receivable(UUID(parts[2]), parts[3])
    return None
