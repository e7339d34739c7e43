"""The chart of accounts (DOMAIN §6.3): colon-separated names under five fixed roots.

  assets:cash:<branch_id>               assets:bank:<branch_id> (card and transfer)
  assets:receivable:<client_id>:<city>  the client's account, per city (§6.5, §6.6)
  liabilities:deferred:<lesson_type>    prepaid lessons not yet given
  income:lessons:<lesson_type>          lessons given, and breakage
  income:discounts                      contra-income: discounts granted
  income:corrections                    compensations posted by hand (§6.4)
  expenses:bad_debt                     debts written off
  equity:opening                        opening balances of a data import

Names are what the journal stores, so each account has exactly one spelling:
segments are lower case, ids are canonical UUID strings, and a city is stored as its
``city_key`` slug ("Nové Zámky" -> "nove-zamky"); the human city name lives with the
branch (and in the books projection's city table), never in the account.

Character rules, chosen so that the beancount exporter (DOMAIN §6.7) can map names
one-to-one: a segment starts with a letter or digit and continues with letters, digits,
"-" and "_"; ASCII letters are lower case; non-ASCII letters, marks and digits are kept
(beancount accepts UTF-8 in account components, so "москва" or "東京" stay readable). The
exporter capitalises each segment and turns "_" into "-", so a tenant must not add two
accounts that differ only by "_" against "-".

A tenant may add accounts under these prefixes (§6.3). Where the system reads an id
back out of the name (the client's receivable, deferred and lesson income per lesson
type) the shape is exact, so a balance can never hide in a sub-account. Cash and bank
take the tenant's own accounts beside the branches' (``assets:cash:safe``) and deeper
sub-accounts (``assets:bank:<branch_id>:terminal-2``), as do ``income:discounts`` and
``expenses:bad_debt`` (a kind of discount); any other name under the five roots is the
tenant's own (``expenses:card_fees``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from uuid import UUID

ROOTS = ("assets", "liabilities", "income", "expenses", "equity")

INCOME_DISCOUNTS = "income:discounts"
INCOME_CORRECTIONS = "income:corrections"
BAD_DEBT = "expenses:bad_debt"
OPENING = "equity:opening"


class AccountError(ValueError):
    """A name that is not an account of the chart, or an input that cannot make one."""


class Family(StrEnum):
    """What an account is, by its prefix (DOMAIN §6.3)."""

    CASH = "cash"
    BANK = "bank"
    RECEIVABLE = "receivable"
    DEFERRED = "deferred"
    INCOME_LESSONS = "income_lessons"
    DISCOUNTS = "discounts"
    BAD_DEBT = "bad_debt"
    OTHER = "other"  # an account the tenant added under one of the roots


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# An ASCII segment, the form of lesson types (as the tenant defines them) and of nearly
# every other segment.
_ASCII_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]*")
_ASCII_KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _is_word_char(ch: str) -> bool:
    if ch.isascii():
        return ch.isdigit() or "a" <= ch <= "z"
    return unicodedata.category(ch)[0] in "LMN"


def _valid_segment(segment: str) -> bool:
    if _ASCII_SEGMENT.fullmatch(segment):  # nearly every segment: skip the per-character walk
        return True
    return (
        bool(segment)
        and _is_word_char(segment[0])
        and unicodedata.category(segment[0])[0] != "M"
        and all(ch in "-_" or _is_word_char(ch) for ch in segment)
    )


# Letters that Unicode does not decompose into a base letter and a mark, folded by hand
# so that "Łódź" keys as "lodz" rather than losing its first letter.
_FOLD = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i",
     "ħ": "h", "ŧ": "t", "ŀ": "l", "ŋ": "n", "ĸ": "k"}
)


@lru_cache(maxsize=4096)
def city_key(city: str) -> str:
    """The account segment of a city: 'Košice' -> 'kosice', 'Nové Zámky' -> 'nove-zamky'.

    Deterministic and idempotent (a key is its own key): case folded, accents removed,
    every run of other characters one "-". Letters of other scripts are kept ('Москва'
    -> 'москва'). Two spellings of one city ('Nove Zamky') give the same key, on
    purpose: staff type city names by hand.
    """
    if not isinstance(city, str):
        raise AccountError(f"a city is a name, not {type(city).__name__}")
    if _ASCII_KEY.fullmatch(city):
        return city
    # NFKD twice: compatibility forms (fullwidth, mathematical letters) fold to upper case
    # letters that casefold must see, and casefold can produce composed letters again.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", city).casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_FOLD)
    out: list[str] = []
    for ch in plain:
        # a spacing mark belongs to the letter before it; alone it cannot start a segment
        starts = not out or out[-1] == "-"
        word = _is_word_char(ch) and not (starts and unicodedata.category(ch)[0] == "M")
        out.append(ch if word else "-")
    key = "-".join(part for part in "".join(out).split("-") if part)
    if not key:
        raise AccountError(f"a city needs a name with a letter or digit: {city!r}")
    return key


def _code(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _ASCII_SEGMENT.fullmatch(value):
        raise AccountError(f"{kind} {value!r} is not a code of lower-case letters, digits, '_' and '-'")
    return value


def _id(kind: str, value: UUID) -> str:
    if not isinstance(value, UUID):
        raise AccountError(f"{kind} is a UUID, not {type(value).__name__}")
    return str(value)


def cash(branch_id: UUID) -> str:
    return f"assets:cash:{_id('branch_id', branch_id)}"


def bank(branch_id: UUID) -> str:
    return f"assets:bank:{_id('branch_id', branch_id)}"


def receivable(client_id: UUID, city: str) -> str:
    """The client's account in a city (DOMAIN §6.5–6.6); ``city`` is the human name or its key."""
    return f"assets:receivable:{_id('client_id', client_id)}:{city_key(city)}"


def deferred(lesson_type: str) -> str:
    return f"liabilities:deferred:{_code('lesson type', lesson_type)}"


def income_lessons(lesson_type: str) -> str:
    return f"income:lessons:{_code('lesson type', lesson_type)}"


PAYMENT_METHODS = ("cash", "card", "bank")


def money_account(method: str, branch_id: UUID) -> str:
    """Where a payment lands or a refund leaves: cash, or the bank for card and transfer (§6.3)."""
    if method == "cash":
        return cash(branch_id)
    if method in ("card", "bank"):
        return bank(branch_id)
    raise AccountError(f"unknown payment method {method!r}: cash, card or bank")


@dataclass(frozen=True, slots=True)
class Account:
    """A parsed account name; the ids are set for the families that carry them."""

    name: str
    family: Family
    segments: tuple[str, ...]
    branch_id: UUID | None = None
    client_id: UUID | None = None
    city: str | None = None  # the city's key, as in the name
    lesson_type: str | None = None

    @property
    def root(self) -> str:
        return self.segments[0]


# Transactions are validated each time a stored one is read, and a tenant's accounts
# are few and recur: parsing each name once keeps replays fast. Results are immutable.
@lru_cache(maxsize=65536)
def parse_account(name: str) -> Account:
    """Check ``name`` against the chart (DOMAIN §6.3) and say what it is; AccountError if not."""
    if not isinstance(name, str):
        raise AccountError(f"an account is a name, not {type(name).__name__}")
    segments = tuple(name.split(":"))
    if segments[0] not in ROOTS or len(segments) < 2:
        raise AccountError(f"{name!r} is not an account: it starts with one of {', '.join(ROOTS)}, then ':'")
    for segment in segments[1:]:
        if not _valid_segment(segment):
            raise AccountError(
                f"{name!r}: segment {segment!r} is not valid: a letter or digit first, then letters, "
                "digits, '-' or '_'; ASCII letters lower case"
            )
    head = segments[:2]

    def shape(expected: str, ok: bool) -> None:
        if not ok:
            raise AccountError(f"{name!r} does not have the shape {expected}")

    if head in (("assets", "cash"), ("assets", "bank")):
        shape(f"{head[0]}:{head[1]}:<branch_id>[:...]", len(segments) >= 3)
        family = Family.CASH if head[1] == "cash" else Family.BANK
        branch = UUID(segments[2]) if _UUID.fullmatch(segments[2]) else None
        return Account(name, family, segments, branch_id=branch)
    if head == ("assets", "receivable"):
        shape("assets:receivable:<client_id>:<city>", len(segments) == 4 and bool(_UUID.fullmatch(segments[2])))
        shape("assets:receivable:<client_id>:<city key>", city_key(segments[3]) == segments[3])
        return Account(name, Family.RECEIVABLE, segments, client_id=UUID(segments[2]), city=segments[3])
    if head in (("liabilities", "deferred"), ("income", "lessons")):
        shape(f"{head[0]}:{head[1]}:<lesson_type>", len(segments) == 3 and bool(_ASCII_SEGMENT.fullmatch(segments[2])))
        family = Family.DEFERRED if head[0] == "liabilities" else Family.INCOME_LESSONS
        return Account(name, family, segments, lesson_type=segments[2])
    if head == ("income", "discounts"):
        return Account(name, Family.DISCOUNTS, segments)
    if head == ("expenses", "bad_debt"):
        return Account(name, Family.BAD_DEBT, segments)
    return Account(name, Family.OTHER, segments)


def is_account(name: str) -> bool:
    try:
        parse_account(name)
    except AccountError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Receivable:
    client_id: UUID
    city: str  # the city's key


def as_receivable(name: str) -> Receivable | None:
    """The client and city key of a client's account; None for any other name."""
    if not name.startswith("assets:receivable:"):
        return None
    try:
        account = parse_account(name)
    except AccountError:
        return None
    if account.client_id is None or account.city is None:
        return None
    return Receivable(account.client_id, account.city)


def is_receivable(name: str) -> bool:
    return as_receivable(name) is not None
