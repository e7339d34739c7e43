"""DOMAIN §6.1: money is integer minor units inside, the currency's exact decimal string outside."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classledger.ledger.currency import is_currency, minor_units
from classledger.ledger.money import (
    CurrencyMismatchError,
    Money,
    MoneyFormatError,
    format_minor,
    round_half_up,
)


@pytest.mark.parametrize(("code", "units"), [("EUR", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4), ("CZK", 2)])
def test_minor_units_follow_iso_4217(code: str, units: int) -> None:
    assert minor_units(code) == units


@pytest.mark.parametrize("code", ["XAU", "EURO", "eur", "", "ZZZ"])
def test_codes_that_are_not_money_are_refused(code: str) -> None:
    assert not is_currency(code)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("1000.00", "EUR", 100000), ("0.50", "EUR", 50), ("-3.10", "EUR", -310), ("0.00", "EUR", 0),
     ("1000", "JPY", 1000), ("1.234", "KWD", 1234)],
)
def test_parse_accepts_the_exact_form(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("value", "currency"),
    [(12.5, "EUR"), (1000, "EUR"), ("1e3", "EUR"), ("10", "EUR"), ("10.5", "EUR"), ("10.000", "EUR"),
     ("+1.00", "EUR"), (" 1.00", "EUR"), ("1,00", "EUR"), ("NaN", "EUR"), ("Infinity", "EUR"),
     ("007.00", "EUR"), ("1.00", "JPY"), ("1" * 16 + ".00", "EUR"), (None, "EUR"), (True, "EUR"), ("-", "EUR"),
     ("1.00", "XAU")],
)
def test_parse_refuses_everything_else(value: object, currency: str) -> None:
    with pytest.raises(MoneyFormatError):
        Money.parse(value, currency)


@given(st.sampled_from(["EUR", "JPY", "KWD", "CLF"]), st.integers(min_value=-(10**17), max_value=10**17))
def test_format_and_parse_round_trip(currency: str, minor: int) -> None:
    text = format_minor(minor, currency)
    if len(text.lstrip("-").split(".")[0]) <= 15:
        assert Money.parse(text, currency).minor == minor


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(min_value=1, max_value=10**6))
def test_round_half_up_matches_decimal(numerator: int, denominator: int) -> None:
    expected = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert round_half_up(numerator, denominator) == int(expected)


def test_arithmetic_never_mixes_currencies() -> None:
    a, b = Money(150, "EUR"), Money(50, "EUR")
    assert (a + b, a - b, -a, a * 3) == (Money(200, "EUR"), Money(100, "EUR"), Money(-150, "EUR"), Money(450, "EUR"))
    assert b < a
    with pytest.raises(CurrencyMismatchError):
        _ = a + Money(1, "CZK")
