"""Money: an integer number of the currency's minor units, plus the currency (DOMAIN §6.1).

Outside the system money is a decimal string of the currency's exact form: "1000.00"
for EUR, "1000" for JPY, "1.250" for KWD. Anything else is refused, JSON numbers
included: a float has already lost exactness by the time it arrives, and pydantic lets
floats, ints and "1e3" into ``Decimal`` fields even in strict mode. Exactly one text
is accepted per amount (no "+", no leading zeros, no "-0.00"), so ``parse`` and
``format`` are inverse functions and an amount has one spelling in events and exports.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainValidator, ValidationInfo, WithJsonSchema

from classledger.ledger.currency import UnknownCurrencyError, minor_units

MAX_MAJOR_DIGITS = 15
"""Amounts stay below 10^15 major units: far beyond any school's books, so a longer number
is a typo or an attack. For 4-decimal currencies (CLF, UYW) one digit less is allowed, so
that every amount stays below 10^18 minor units and fits a signed 64-bit integer."""
MAX_MINOR_DIGITS = 18
MAX_TOTAL = 10**MAX_MINOR_DIGITS - 1
"""No balance or running total an aggregate keeps (a client's balance in a city, what was
paid for a pass) may go beyond ±MAX_TOTAL minor units: a command that would take it there
is refused before anything is written. One amount already stays within it, and 2^63 − 1
(about 9.2·10^18) leaves room to add one more amount to any total before checking it."""


class MoneyFormatError(ValueError):
    """A money text (or value) that is not the currency's exact decimal form."""


class CurrencyMismatchError(ValueError):
    """Two amounts of different currencies met in one operation."""


def max_major_digits(currency: str) -> int:
    return min(MAX_MAJOR_DIGITS, MAX_MINOR_DIGITS - minor_units(currency))


def expected_form(currency: str) -> str:
    """An example of the currency's exact form, for error messages: '1234.50', '1234'."""
    decimals = minor_units(currency)
    return "1234" if decimals == 0 else "1234." + "5" + "0" * (decimals - 1)


# [0-9], never \d: \d also matches Arabic-Indic and other digits, which int() accepts.
_PATTERNS: dict[str, re.Pattern[str]] = {}


def _pattern(currency: str) -> re.Pattern[str]:
    pattern = _PATTERNS.get(currency)
    if pattern is None:
        decimals = minor_units(currency)
        frac = rf"\.([0-9]{{{decimals}}})" if decimals else "()"
        major = rf"(0|[1-9][0-9]{{0,{max_major_digits(currency) - 1}}})"
        pattern = _PATTERNS[currency] = re.compile(rf"(-?){major}{frac}")
    return pattern


def _describe(currency: str) -> str:
    decimals = minor_units(currency)
    places = "no decimals" if decimals == 0 else f"exactly {decimals} decimal{'s' * (decimals > 1)}"
    return (
        f"a decimal string with {places}, like {expected_form(currency)!r} or "
        f"'-{expected_form(currency)}' (no exponent, plus sign, spaces, separators or leading zeros, "
        f"below 10^{max_major_digits(currency)} {currency})"
    )


def parse_minor(text: object, currency: str) -> int:
    """The minor units of ``text``, which must be the currency's exact decimal form."""
    try:
        pattern = _pattern(currency)
    except UnknownCurrencyError as e:
        raise MoneyFormatError(str(e)) from None
    if not isinstance(text, str):
        # DOMAIN §6.1: never floats; an int is refused too, because 10 might mean 10.00 or 0.10.
        raise MoneyFormatError(
            f"money in {currency} must be {_describe(currency)}; got {type(text).__name__} {str(text)[:40]}"
        )
    match = pattern.fullmatch(text)
    if match is None:
        raise MoneyFormatError(f"{text[:40]!r} is not an amount in {currency}: write {_describe(currency)}")
    sign, major, fraction = match.groups()
    value = int(major + fraction)
    if sign and value == 0:
        raise MoneyFormatError(f"{text!r}: zero has no sign; write {format_minor(0, currency)!r}")
    return -value if sign else value


def format_minor(minor: int, currency: str) -> str:
    """Minor units as the currency's canonical decimal string: 12345 EUR -> '123.45'."""
    decimals = minor_units(currency)
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if decimals == 0:
        return sign + digits
    digits = digits.rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves away from zero (DOMAIN §4.7).

    Exact integer arithmetic: "half up to the minor unit" on a money amount, where the
    amount is already in minor units. Negative quotients mirror positive ones
    (-2.5 -> -3), as Decimal's ROUND_HALF_UP does.
    """
    if denominator == 0:
        raise ZeroDivisionError("round_half_up: the denominator is zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def split(total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` equal shares; the last takes the remainder (DOMAIN §6.3).

    Shares are truncated toward zero, so every share has the total's sign and none is
    larger than the last: the shares always add up to ``total`` exactly.
    """
    if parts < 1:
        raise ValueError("split: at least one part")
    share = abs(total) // parts * (1 if total >= 0 else -1)
    return [share] * (parts - 1) + [total - share * (parts - 1)]


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` in shares proportional to ``weights``; the last share takes the remainder.

    Each share but the last is ``total × weight / Σweights`` truncated toward zero, so
    the shares add up to ``total`` exactly and carry its sign.
    """
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError("allocate: weights are non-negative and not all zero")
    whole = sum(weights)
    sign = 1 if total >= 0 else -1
    shares = [sign * (abs(total) * w // whole) for w in weights[:-1]]
    return [*shares, total - sum(shares)]


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: ``minor`` units of ``currency`` (12345 EUR is 123.45 EUR)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        # A float or a bool in `minor` would slip through arithmetic unnoticed.
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError(f"Money.minor is an int of minor units, not {type(self.minor).__name__}")
        minor_units(self.currency)

    @classmethod
    def parse(cls, text: object, currency: str) -> Money:
        """The way money enters from outside: a string of the currency's exact form.

        EUR accepts "1000.00", "0.50", "-3.10", "0.00"; JPY "1000". Refused, with a
        ``MoneyFormatError`` that shows the expected form: non-strings (floats, ints),
        "1e3", "10", "10.5", "10.000" (for EUR), "+1.00", " 1.00", "1,000.00",
        "NaN", "Infinity", "007.00", "-0.00", and 16 or more digits before the point.
        """
        return cls(parse_minor(text, currency), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def is_zero(self) -> bool:
        return self.minor == 0

    def format(self) -> str:
        return format_minor(self.minor, self.currency)

    def __str__(self) -> str:
        return self.format()

    def _check(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.minor), self.currency)

    def __mul__(self, factor: int) -> Money:
        # Only whole multiples: a fractional factor needs a rounding rule, which the
        # caller states with round_half_up, split or allocate.
        if not isinstance(factor, int) or isinstance(factor, bool):
            return NotImplemented
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.minor >= other.minor

    def split(self, parts: int) -> tuple[Money, ...]:
        """Equal shares, the last taking the remainder: 100.00 / 3 = 33.33, 33.33, 33.34."""
        return tuple(Money(m, self.currency) for m in split(self.minor, parts))

    def allocate(self, weights: Sequence[int]) -> tuple[Money, ...]:
        """Shares in proportion to ``weights``, the last taking the remainder."""
        return tuple(Money(m, self.currency) for m in allocate(self.minor, weights))


# Any currency's form: what can be checked before the tenant's currency is known.
_ANY_FORM = re.compile(rf"-?(0|[1-9][0-9]{{0,{MAX_MAJOR_DIGITS - 1}}})(\.[0-9]{{1,4}})?")


def check_money_text(value: object, currency: str | None = None) -> str:
    """``value`` unchanged if it is a money string; in ``currency``'s exact form when given.

    Without a currency only the general shape is checked (digits, at most 4 decimals),
    and the caller still parses it with ``Money.parse`` once the currency is known.
    """
    if currency is not None:
        # format(parse(text)) == text for every accepted text, so this returns value itself
        return format_minor(parse_minor(value, currency), currency)
    if not isinstance(value, str):
        raise MoneyFormatError(f"money is a decimal string like '1000.00', not a {type(value).__name__}")
    negative_zero = value.startswith("-") and set(value[1:]) <= {"0", "."}
    if _ANY_FORM.fullmatch(value) is None or negative_zero:
        raise MoneyFormatError(f"{value[:40]!r} is not a money amount: write a decimal string like '1000.00'")
    return value


def _validate_money_str(value: Any, info: ValidationInfo) -> str:
    context = info.context if isinstance(info.context, dict) else {}
    currency = context.get("currency")
    return check_money_text(value, currency if isinstance(currency, str) else None)


MoneyStr = Annotated[
    str,
    PlainValidator(_validate_money_str, json_schema_input_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^{_ANY_FORM.pattern}$",
            "description": "an amount as a decimal string with the currency's exact number of decimals",
            "examples": ["1000.00", "-3.10"],
        }
    ),
]
"""A pydantic field type for money in JSON (API §2): a string, never a JSON number.

Validated in the currency given as validation context, ``Model.model_validate(data,
context={"currency": "EUR"})``, and by its general shape otherwise. The field stays a
``str``; turn it into minor units with ``Money.parse(value, currency)``.
"""
