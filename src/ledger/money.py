"""Money: an integer number of the currency's minor units, plus the currency (DOMAIN §6.1).

Outside the system money is a decimal string of the currency's exact form ("1000.00" for
EUR, "1000" for JPY). Anything else is refused, JSON numbers included: a float has
already lost exactness by the time it arrives, and pydantic accepts floats and "1e3"
into decimal fields even in strict mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from classledger.ledger.currency import minor_units

MAX_MAJOR_DIGITS = 15  # 10^15 major units: beyond any school's books, within int64 minor units


class MoneyFormatError(ValueError):
    pass


class CurrencyMismatchError(ValueError):
    pass


def _pattern(decimals: int) -> re.Pattern[str]:
    frac = rf"\.\d{{{decimals}}}" if decimals else ""
    return re.compile(rf"^(-)?(0|[1-9]\d{{0,{MAX_MAJOR_DIGITS - 1}}}){frac}$")


_PATTERNS: dict[int, re.Pattern[str]] = {}


def expected_form(currency: str) -> str:
    d = minor_units(currency)
    return "1234" if d == 0 else "1234." + "5" * d


def round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to an integer, halves away from zero (DOMAIN §4.7)."""
    if denominator == 0:
        raise ZeroDivisionError("division by zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


@dataclass(frozen=True, slots=True, order=False)
class Money:
    minor: int
    currency: str

    @classmethod
    def parse(cls, text: Any, currency: str) -> Money:
        """The only way money enters: a string of the currency's exact decimal form."""
        try:
            decimals = minor_units(currency)
        except KeyError:
            raise MoneyFormatError(f"{currency!r} is not an ISO 4217 currency") from None
        if not isinstance(text, str):
            raise MoneyFormatError(
                f"money must be a decimal string like {expected_form(currency)!r} for {currency}, "
                f"not a {type(text).__name__}"
            )
        pattern = _PATTERNS.setdefault(decimals, _pattern(decimals))
        m = pattern.match(text)
        if m is None:
            raise MoneyFormatError(
                f"{text!r} is not an amount in {currency}: write it like {expected_form(currency)!r} "
                f"({decimals} decimals, no exponent, no spaces, no plus sign)"
            )
        digits = text.lstrip("-").replace(".", "")
        value = int(digits)
        return cls(-value if m.group(1) else value, currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def format(self) -> str:
        return format_minor(self.minor, self.currency)

    def __str__(self) -> str:
        return self.format()

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if not isinstance(factor, int) or isinstance(factor, bool):
            return NotImplemented
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    @property
    def is_zero(self) -> bool:
        return self.minor == 0


def format_minor(minor: int, currency: str) -> str:
    """Minor units as the currency's canonical decimal string."""
    decimals = minor_units(currency)
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if decimals == 0:
        return sign + digits
    digits = digits.rjust(decimals + 1, "0")
    return f"{sign}{digits[:-decimals]}.{digits[-decimals:]}"
