"""ISO 4217 minor units (DOMAIN §1.2, §6.1)."""

from __future__ import annotations

import pytest

from classledger.ledger.currency import MINOR_UNITS, UnknownCurrencyError, is_currency, minor_units


@pytest.mark.parametrize(
    ("code", "units"),
    [("EUR", 2), ("USD", 2), ("CZK", 2), ("RUB", 2), ("JPY", 0), ("KRW", 0), ("ISK", 0), ("XOF", 0),
     ("KWD", 3), ("BHD", 3), ("JOD", 3), ("OMR", 3), ("TND", 3), ("IQD", 3), ("LYD", 3),
     ("CLF", 4), ("UYW", 4), ("ZWG", 2), ("XCG", 2), ("SLE", 2), ("VES", 2)],
)
def test_minor_units_follow_iso_4217(code: str, units: int) -> None:
    assert minor_units(code) == units
    assert is_currency(code)


@pytest.mark.parametrize(
    "code",
    # no minor unit (metals, bond units, SDR, testing, no currency), withdrawn, misspelt
    ["XAU", "XAG", "XPT", "XPD", "XBA", "XDR", "XSU", "XUA", "XTS", "XXX",
     "HRK", "SLL", "ZWL", "ANG", "CUC", "eur", "Eur", "EURO", "EU", "", "ZZZ", " EUR"],
)
def test_codes_that_are_not_money_are_refused(code: str) -> None:
    assert not is_currency(code)
    with pytest.raises(UnknownCurrencyError, match="not an ISO 4217 currency"):
        minor_units(code)


def test_unknown_currency_is_a_value_error_and_a_lookup_error() -> None:
    with pytest.raises(ValueError, match="'XAU' is not an ISO 4217"):
        minor_units("XAU")
    with pytest.raises(KeyError):
        minor_units("XAU")
    assert not is_currency(None)  # type: ignore[arg-type]


def test_the_table_is_complete() -> None:
    """Every current currency with a minor unit: 165 codes in the 2026-01-01 list."""
    assert len(MINOR_UNITS) == 165
    assert all(len(c) == 3 and c.isascii() and c.isupper() for c in MINOR_UNITS)
    assert set(MINOR_UNITS.values()) == {0, 2, 3, 4}


def test_the_table_matches_the_iso4217_package_when_installed() -> None:
    """A cross-check against a maintained copy of the ISO list, not a runtime dependency."""
    iso4217 = pytest.importorskip("iso4217")
    published = {c.code: int(c.exponent) for c in iso4217.Currency if c.exponent is not None}
    assert published == MINOR_UNITS
