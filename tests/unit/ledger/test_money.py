"""DOMAIN §6.1: money is integer minor units inside and the currency's exact decimal string outside."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from classledger.ledger.currency import MINOR_UNITS
from classledger.ledger.money import (
    CurrencyMismatchError,
    Money,
    MoneyFormatError,
    MoneyStr,
    allocate,
    check_money_text,
    format_minor,
    round_half_up,
    split,
)

from .support import CURRENCIES, currencies, max_minor

# ---- parse and format ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("1000.00", "EUR", 100000), ("0.50", "EUR", 50), ("-3.10", "EUR", -310), ("0.00", "EUR", 0),
     ("0.01", "EUR", 1), ("999999999999999.99", "EUR", 99999999999999999),
     ("1000", "JPY", 1000), ("0", "JPY", 0), ("-7", "JPY", -7),
     ("1.234", "KWD", 1234), ("0.005", "BHD", 5), ("-12.000", "TND", -12000),
     ("0.0001", "CLF", 1), ("99999999999999.9999", "CLF", 999999999999999999)],
)
def test_parse_accepts_the_exact_form(text: str, currency: str, minor: int) -> None:
    money = Money.parse(text, currency)
    assert money == Money(minor, currency)
    assert str(money) == money.format() == text


@pytest.mark.parametrize(
    ("value", "currency"),
    [
        # not strings: a float has lost exactness already, an int is ambiguous (DOMAIN §6.1)
        (12.5, "EUR"), (1000, "EUR"), (0, "JPY"), (Decimal("1.00"), "EUR"), (None, "EUR"), (True, "EUR"),
        (b"1.00", "EUR"), (["1.00"], "EUR"),
        # exponents, special values, signs, spaces, separators
        ("1e3", "EUR"), ("1E3", "JPY"), ("1.00e0", "EUR"), ("NaN", "EUR"), ("nan", "EUR"), ("Infinity", "EUR"),
        ("-Infinity", "EUR"), ("inf", "JPY"), ("+1.00", "EUR"), (" 1.00", "EUR"), ("1.00 ", "EUR"),
        ("1.00\n", "EUR"), ("1,00", "EUR"), ("1,000.00", "EUR"), ("1 000.00", "EUR"), ("1_000.00", "EUR"),
        ("1'000.00", "CHF"), ("0x10", "JPY"), ("", "EUR"), ("-", "EUR"), (".", "EUR"), ("--1.00", "EUR"),
        # the wrong number of decimals for the currency
        ("10", "EUR"), ("10.5", "EUR"), ("10.000", "EUR"), (".50", "EUR"), ("5.", "EUR"),
        ("1.00", "JPY"), ("1.", "JPY"), ("1.00", "KWD"), ("1.0000", "KWD"), ("1.00", "CLF"),
        # leading zeros and a signed zero: one spelling per amount
        ("007.00", "EUR"), ("00.00", "EUR"), ("01", "JPY"), ("-0.00", "EUR"), ("-0", "JPY"),
        # digits that are not ASCII: int() would take them
        ("١٢.٠٠", "EUR"), ("１.００", "EUR"), ("12.٠٠", "EUR"),
        # absurd magnitudes: 10^15 major units and more; CLF one digit less (int64)
        ("1000000000000000.00", "EUR"), ("-1000000000000000.00", "EUR"), ("1" * 16, "JPY"),
        ("1" * 40 + ".00", "EUR"), ("100000000000000.0000", "CLF"),
        # not a currency
        ("1.00", "XAU"), ("1.00", "eur"), ("1.00", ""),
    ],
)
def test_parse_refuses_everything_else(value: object, currency: str) -> None:
    with pytest.raises(MoneyFormatError):
        Money.parse(value, currency)


@pytest.mark.parametrize(
    ("currency", "form"), [("EUR", "'1234.50'"), ("JPY", "'1234'"), ("KWD", "'1234.500'"), ("CLF", "'1234.5000'")]
)
def test_the_error_names_the_expected_form(currency: str, form: str) -> None:
    with pytest.raises(MoneyFormatError) as err:
        Money.parse("1e3", currency)
    assert form in str(err.value)
    assert currency in str(err.value)
    with pytest.raises(MoneyFormatError, match=r"got float 10\.5"):
        Money.parse(10.5, currency)


@pytest.mark.parametrize("currency", CURRENCIES)
def test_round_trip_in_every_currency(currency: str) -> None:
    """Each of the 165 currencies: its extremes, zero, one minor unit, and a typical amount."""
    for minor in (0, 1, -1, 12345, -987654321, max_minor(currency), -max_minor(currency)):
        text = format_minor(minor, currency)
        assert Money.parse(text, currency).minor == minor
        decimals = MINOR_UNITS[currency]
        assert ("." in text) == (decimals > 0)
        if decimals:
            assert len(text.split(".")[1]) == decimals
    with pytest.raises(MoneyFormatError):
        Money.parse(format_minor(max_minor(currency) + 1, currency), currency)


@given(currencies, st.data())
def test_format_then_parse_is_the_identity(currency: str, data: st.DataObject) -> None:
    bound = max_minor(currency)
    minor = data.draw(st.integers(min_value=-bound, max_value=bound))
    assert Money.parse(Money(minor, currency).format(), currency) == Money(minor, currency)


@given(st.text(alphabet="0123456789.-+eE, _", max_size=22), st.sampled_from(["EUR", "JPY", "KWD", "CLF"]))
@example("0.00", "EUR")
@example("-0.00", "EUR")
def test_parse_then_format_is_the_identity(text: str, currency: str) -> None:
    """Whatever parse accepts is already canonical: one spelling per amount."""
    try:
        money = Money.parse(text, currency)
    except MoneyFormatError:
        return
    assert money.format() == text


def test_money_is_built_only_from_int_minor_units_of_a_currency() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "EUR")
    with pytest.raises(ValueError, match="not an ISO 4217"):
        Money(1, "XAU")
    with pytest.raises(AttributeError):
        Money(1, "EUR").minor = 2  # type: ignore[misc]


# ---- arithmetic ----------------------------------------------------------------------

small = st.integers(min_value=-(10**15), max_value=10**15)


@given(small, small, small, st.integers(-1000, 1000), st.integers(-1000, 1000))
def test_arithmetic_laws(a: int, b: int, c: int, n: int, m: int) -> None:
    x, y, z = Money(a, "EUR"), Money(b, "EUR"), Money(c, "EUR")
    zero = Money.zero("EUR")
    assert x + y == y + x
    assert (x + y) + z == x + (y + z)
    assert x + zero == x
    assert (x - x).is_zero
    assert -x + x == Money.zero("EUR")
    assert (-x).minor == -a
    assert x - y == x + (-y)
    assert x * n + x * m == x * (n + m)
    assert n * x == x * n
    assert (x + y) * n == x * n + y * n
    assert abs(x).minor == abs(a)
    assert (x < y) == (a < b)
    assert (x <= y) == (a <= b)
    assert (x > y) == (a > b)
    assert (x >= y) == (a >= b)
    assert (x == y) == (a == b)


def test_currencies_never_mix() -> None:
    eur, czk = Money(150, "EUR"), Money(150, "CZK")
    for op in (lambda: eur + czk, lambda: eur - czk, lambda: eur < czk, lambda: eur <= czk,
               lambda: eur > czk, lambda: eur >= czk):
        with pytest.raises(CurrencyMismatchError):
            op()
    assert eur != czk  # equal minor units, different money


def test_money_multiplies_only_by_whole_numbers() -> None:
    eur = Money(150, "EUR")
    with pytest.raises(TypeError):
        _ = eur * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = eur * True
    with pytest.raises(TypeError):
        _ = eur + 1  # type: ignore[operator]
    assert Money.zero("JPY").is_zero
    assert not eur.is_zero


# ---- rounding and splitting ----------------------------------------------------------


@given(st.integers(min_value=-(10**20), max_value=10**20), st.integers(min_value=-(10**7), max_value=10**7))
@example(5, 2)
@example(-5, 2)
@example(5, -2)
@example(-15, 10)
@example(0, 7)
def test_round_half_up_matches_decimal(numerator: int, denominator: int) -> None:
    """DOMAIN §4.7 "half up to the minor unit": halves away from zero, like ROUND_HALF_UP."""
    if denominator == 0:
        with pytest.raises(ZeroDivisionError):
            round_half_up(numerator, denominator)
        return
    with localcontext() as ctx:
        ctx.prec = 80  # far more digits than the operands: the reference quotient is exact enough
        reference = (Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert round_half_up(numerator, denominator) == int(reference)


def test_round_half_up_worked_values() -> None:
    assert [round_half_up(n, 2) for n in (-3, -2, -1, 1, 2, 3)] == [-2, -1, -1, 1, 1, 2]
    assert round_half_up(20000, 3) == 6667  # 66.666… -> 66.67 (DOMAIN §4.7)
    assert round_half_up(10000, 3) == 3333


@given(st.integers(min_value=-(10**15), max_value=10**15), st.integers(min_value=1, max_value=500))
def test_split_is_exact_and_the_last_takes_the_remainder(total: int, parts: int) -> None:
    shares = split(total, parts)
    assert len(shares) == parts
    assert sum(shares) == total
    assert len(set(shares[:-1])) <= 1
    assert all(s * total >= 0 for s in shares)  # every share carries the total's sign
    assert abs(shares[-1]) - abs(shares[0]) < parts


@given(st.integers(min_value=-(10**12), max_value=10**12),
       st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(lambda w: sum(w) > 0))
def test_allocate_is_exact_and_proportional(total: int, weights: list[int]) -> None:
    shares = allocate(total, weights)
    assert sum(shares) == total
    whole = sum(weights)
    for share, weight in zip(shares[:-1], weights[:-1], strict=True):
        assert abs(share * whole - total * weight) < whole  # within one minor unit of its exact share
    money = Money(total, "EUR").allocate(weights)
    assert [m.minor for m in money] == shares


def test_split_and_allocate_refuse_nonsense() -> None:
    assert Money(10000, "EUR").split(3) == (Money(3333, "EUR"), Money(3333, "EUR"), Money(3334, "EUR"))
    with pytest.raises(ValueError, match="at least one part"):
        split(100, 0)
    with pytest.raises(ValueError, match="weights"):
        allocate(100, [0, 0])
    with pytest.raises(ValueError, match="weights"):
        allocate(100, [1, -1, 2])


# ---- the pydantic field type -----------------------------------------------------------


class Payment(BaseModel):
    amount: MoneyStr


@pytest.mark.parametrize("raw", ['{"amount": 10}', '{"amount": 10.5}', '{"amount": 1e3}', '{"amount": null}',
                                 '{"amount": true}'])
def test_money_str_refuses_json_numbers(raw: str) -> None:
    """API §2: money is a decimal string; a JSON number is refused even when it looks exact."""
    with pytest.raises(ValidationError, match="decimal string"):
        Payment.model_validate_json(raw)
    with pytest.raises(ValidationError):
        Payment.model_validate_json(raw, context={"currency": "EUR"})


def test_money_str_checks_the_currency_given_as_context() -> None:
    assert Payment.model_validate({"amount": "10.50"}, context={"currency": "EUR"}).amount == "10.50"
    assert Payment.model_validate_json('{"amount": "1000"}', context={"currency": "JPY"}).amount == "1000"
    for text, currency in [("10.5", "EUR"), ("1000.00", "JPY"), ("1.00", "KWD")]:
        with pytest.raises(ValidationError, match="is not an amount in"):
            Payment.model_validate({"amount": text}, context={"currency": currency})


def test_money_str_without_a_currency_checks_the_shape_only() -> None:
    assert Payment.model_validate({"amount": "10.5"}).amount == "10.5"
    for text in ["1e3", "-0.00", "+1.00", "007", "1.23456", "NaN", " 1"]:
        with pytest.raises(ValidationError):
            Payment.model_validate({"amount": text})
    assert check_money_text("-3.10", "EUR") == "-3.10"


def test_money_str_json_schema_is_a_string_with_a_pattern() -> None:
    schema = Payment.model_json_schema()["properties"]["amount"]
    assert schema["type"] == "string"
    assert schema["pattern"].startswith("^")
    assert schema["pattern"].endswith("$")
