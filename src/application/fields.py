"""What a command or a query accepts: the constrained input types, in one place.

The rule they keep: **what a command accepts, every projection can apply.** A value that
passes here can be stored by both databases (PostgreSQL refuses a NUL in text), keyed
(a city must fold to an account key, ``ledger.accounts.city_key``), turned into instants
and month bounds without leaving the calendar, and summed without leaving 64 bits.

- Text: no NUL, no other control character (a ``Paragraph`` keeps line breaks and tabs),
  no lone surrogate; trimmed; a ``Label`` (a name, a reason, a tag) needs at least one
  visible character, so one made only of spaces or zero-width characters is refused.
- Days lie in 1900-01-01 … 2199-12-31 and are written ``YYYY-MM-DD``, nothing else
  (no time part, no number of seconds); months ``YYYY-MM`` in the same range.
- Money is the currency's exact decimal string (``ledger.money.MoneyStr``); a percent
  is a decimal string of at most 2 decimals, more than 0 and at most 100.

Every refusal is a 422 whose ``errors[].type`` is one of the stable codes below.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, PlainSerializer, PlainValidator, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from classledger.ledger.accounts import AccountError, city_key
from classledger.ledger.money import MoneyFormatError, MoneyStr, check_money_text

EXACT_INT = 2**53 - 1
"""Whole numbers a command keeps (a custom field's value, a tier's size) stay within
±(2^53 − 1): exact in every JSON reader (RFC 7493), and far inside 64 bits."""


def exact_number(value: object) -> object:
    """``value`` unchanged, unless it is a whole number beyond ±EXACT_INT."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > EXACT_INT:
        raise PydanticCustomError("number_out_of_range", "whole numbers lie within ±{limit}", {"limit": EXACT_INT})
    return value


MIN_DAY = date(1900, 1, 1)
MAX_DAY = date(2199, 12, 31)
MIN_MONTH = "1900-01"
MAX_MONTH = "2199-12"

# Line breaks and tabs belong in notes and comments; every other control character
# (NUL above all: PostgreSQL cannot store it in text) belongs in no text at all.
_PARAGRAPH_CONTROLS = frozenset("\t\n\r")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_PERCENT = re.compile(r"(0|[1-9][0-9]{0,2})(\.[0-9]{1,2})?")


# Control characters (Unicode category Cc) and lone surrogates (Cs), as one scan in C; a
# line also refuses the line and paragraph separators (Zl, Zp).
_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]")
_IN_PARAGRAPH = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _bad_character(text: str, allowed: frozenset[str]) -> str | None:
    found = (_IN_PARAGRAPH if allowed else _IN_LINE).search(text)
    return found.group() if found else None


def _refuse_controls(text: str, allowed: frozenset[str]) -> str:
    ch = _bad_character(text, allowed)
    if ch is not None:
        raise PydanticCustomError(
            "control_character",
            "text may not hold control characters (found U+{code})",
            {"code": f"{ord(ch):04X}"},
        )
    return text


def _line(value: str) -> str:
    return _refuse_controls(value, frozenset())


def _paragraph(value: str) -> str:
    return _refuse_controls(value, _PARAGRAPH_CONTROLS)


def visible(text: str) -> bool:
    """Whether the text shows anything: not only spaces, format (zero-width) or control characters."""
    return any(unicodedata.category(ch)[0] not in ("Z", "C") for ch in text)


def _label(value: str) -> str:
    _line(value)
    if not visible(value):
        raise PydanticCustomError("blank_text", "the text has no visible character")
    return value


def _city(value: str) -> str:
    _label(value)
    try:
        city_key(value)
    except AccountError:
        raise PydanticCustomError("city_without_key", "a city's name needs a letter or a digit") from None
    return value


Line = Annotated[str, AfterValidator(_line)]
"""One line of text, possibly empty (the field's own ``Field`` sets its lengths)."""
Paragraph = Annotated[str, AfterValidator(_paragraph)]
"""Free text that may hold line breaks and tabs (notes, comments, descriptions)."""
Label = Annotated[str, AfterValidator(_label)]
"""One line with something to see: a name, a tag, a reason."""
City = Annotated[str, AfterValidator(_city)]
"""A city's name: a ``Label`` whose account key (``city_key``) is not empty."""


def check_day(d: date) -> date:
    if isinstance(d, datetime):
        raise PydanticCustomError("date_format", "a date is written YYYY-MM-DD, without a time")
    if not MIN_DAY <= d <= MAX_DAY:
        raise PydanticCustomError(
            "date_out_of_range", "a date lies between {min} and {max}", {"min": MIN_DAY.isoformat(), "max": MAX_DAY.isoformat()}
        )
    return d


def parse_day(value: object) -> date:
    """A calendar day: the string ``YYYY-MM-DD`` (or a ``date``), within the sane range."""
    if isinstance(value, date):
        return check_day(value)
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise PydanticCustomError("date_format", "a date is a string YYYY-MM-DD, without a time")
    try:
        d = date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date_format", "{value} is not a calendar date", {"value": value}) from None
    return check_day(d)


def check_instant(at: datetime) -> datetime:
    """An instant whose day, as written, lies within the sane range (so that it stays in
    the calendar in UTC and in every tenant's zone)."""
    check_day(at.date())
    return at


REPORT_YEARS_AHEAD = 10


def report_horizon(at: datetime) -> str:
    """The last month a report may be asked for at ``at``: ten years ahead. A report of a
    later month would only repeat the last known one, at the cost of every month between."""
    return f"{at.year + REPORT_YEARS_AHEAD}-{at.month:02d}"


def parse_month(value: object) -> str:
    """A calendar month ``YYYY-MM`` within the sane range."""
    if not isinstance(value, str) or not _MONTH.fullmatch(value):
        raise PydanticCustomError("month_format", "a month is a string YYYY-MM")
    if not MIN_MONTH <= value <= MAX_MONTH:
        raise PydanticCustomError("month_out_of_range", "a month lies between {min} and {max}", {"min": MIN_MONTH, "max": MAX_MONTH})
    return value


Day = Annotated[
    date,
    PlainValidator(parse_day, json_schema_input_type=str),
    PlainSerializer(date.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date", "description": "YYYY-MM-DD, from 1900-01-01 to 2199-12-31"}),
]
Month = Annotated[
    str,
    PlainValidator(parse_month, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$", "description": "YYYY-MM, from 1900-01 to 2199-12"}),
]


def check_money(value: object, info: ValidationInfo | None = None) -> str:
    """A money string (``ledger.money.check_money_text``), in the currency of the
    validation context when one is given."""
    context = info.context if info is not None and isinstance(info.context, dict) else {}
    currency = context.get("currency")
    try:
        return check_money_text(value, currency if isinstance(currency, str) else None)
    except MoneyFormatError as e:
        raise PydanticCustomError("money_format", "{message}", {"message": str(e)}) from None


MoneyText = Annotated[str, PlainValidator(check_money, json_schema_input_type=str), *MoneyStr.__metadata__[1:]]
"""Money: the currency's exact decimal string (API §2), never a number, no spaces."""


def strict_text(value: object) -> str:
    """A short string taken exactly as sent (no trimming): a number's text, checked further."""
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "a string is expected")
    if len(value) > 40:
        raise PydanticCustomError("string_too_long", "at most 40 characters")
    return value


def check_percent(value: str) -> int:
    """A percent as basis points: "10" -> 1000, "12.5" -> 1250; more than 0, at most 100."""
    if not _PERCENT.fullmatch(value):
        raise PydanticCustomError("percent_format", "a percent is a decimal string like '10' or '12.5' (at most 2 decimals)")
    whole, _, fraction = value.partition(".")
    basis_points = int(whole) * 100 + int(fraction.ljust(2, "0") or 0)
    if not 0 < basis_points <= 10_000:
        raise PydanticCustomError("percent_out_of_range", "a percent is more than 0 and at most 100")
    return basis_points


# ---- the net under every command ---------------------------------------------------------


def _strings(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            key = str(k)
            yield (*path, key), key
            yield from _strings(v, (*path, key))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, str(i)))


def _holds_unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return _bad_character(value, _PARAGRAPH_CONTROLS) is not None
    if isinstance(value, Mapping):
        return any(_holds_unstorable(str(k)) or _holds_unstorable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_unstorable(item) for item in value)
    return False


def unstorable_text(raw: Any) -> list[dict[str, Any]]:
    """Every string in a command's raw arguments (keys included) that no database may be
    given: one with a NUL or another control character other than a line break or a tab,
    or a lone surrogate. Checked before any field's own type, so no field can forget it."""
    errors: list[dict[str, Any]] = []
    if not _holds_unstorable(raw):  # the usual case: one scan of each string, no paths built
        return errors
    for path, text in _strings(raw, ()):
        ch = _bad_character(text, _PARAGRAPH_CONTROLS)
        if ch is not None:
            errors.append({"field": ".".join(path), "problem": f"text may not hold control characters (found U+{ord(ch):04X})",
                           "type": "control_character"})
    return errors
