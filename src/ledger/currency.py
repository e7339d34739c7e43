"""ISO 4217 currencies and their minor units (EUR 2, JPY 0, KWD 3, CLF 4).

The data comes from the maintained ``iso4217`` package. Codes without a minor unit
(precious metals, testing codes) are not money a school is paid in, and are refused.
"""

from __future__ import annotations

from functools import cache

from iso4217 import Currency


@cache
def minor_units(code: str) -> int:
    """The number of decimals of the currency's minor unit; KeyError if not a currency."""
    try:
        exponent = Currency(code.upper()).exponent
    except ValueError:
        raise KeyError(code) from None
    if exponent is None or code != code.upper():
        raise KeyError(code)
    return int(exponent)


def is_currency(code: str) -> bool:
    try:
        minor_units(code)
    except KeyError:
        return False
    return True
