"""The client directory's matching rules as pure functions (DOMAIN §2.7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classledger.projections.clients import digits, fold, phone_patterns


@pytest.mark.parametrize(
    ("name", "query"),
    [("Ľubica Šťastná", "lubica"), ("Ľubica Šťastná", "ŠŤASTNÁ"), ("Ľubica Šťastná", "ľubica šťastná"),
     ("Šťastný", "stastny"), ("Märt Tamm", "mart"), ("Märt Tamm", "MÄRT"), ("Юлия Смирнова", "юлия"),
     ("Юлия Смирнова", "ЮЛИЯ"), ("Юлия Смирнова", "iuliia"), ("Jürgen  Groß", "jurgen gross")],
)
def test_name_queries_match_by_folded_substring(name: str, query: str) -> None:
    """DOMAIN §2.7: case- and accent-insensitive substring; same-script Cyrillic matches too."""
    assert fold(query) in fold(name)


def test_a_different_transliteration_is_not_promised() -> None:
    # unidecode spells Юлия "iuliia"; "yuliia" is another convention and does not match.
    assert fold("yuliia") not in fold("Юлия")


@given(st.text(max_size=40))
def test_folding_is_idempotent_ascii_and_lowercase(text: str) -> None:
    folded = fold(text)
    assert fold(folded) == folded
    assert folded.isascii()
    assert folded == folded.lower()
    assert "  " not in folded
    assert folded == folded.strip()


@pytest.mark.parametrize(
    ("query", "expected"),
    [("0905 123", ["905123"]), ("(0905) 123-456", ["905123456"]),
     ("+421 905 123 456", ["1905123456", "21905123456", "421905123456", "905123456"]),
     ("00421 905 123 456", ["1905123456", "21905123456", "421905123456", "905123456"]),
     ("+44 20 7946", ["4207946", "44207946"]),  # too short to lose a 2–3 digit code
     ("12", []), ("C-1001", []), ("anna 0905", []), ("", [])],
)
def test_phone_query_patterns(query: str, expected: list[str]) -> None:
    """DOMAIN §2.7: digits only; trunk and international prefixes dropped."""
    assert phone_patterns(query) == expected


separators = st.lists(st.sampled_from(["", " ", "-", "/", ".", " (", ") "]), min_size=20, max_size=20)


def formatted(number: str, seps: list[str]) -> str:
    return "".join(d + seps[i % len(seps)] for i, d in enumerate(number)).strip()


@given(
    national=st.from_regex(r"[1-9][0-9]{6,9}", fullmatch=True),
    country=st.from_regex(r"[1-9][0-9]{0,2}", fullmatch=True),
    stored_form=st.sampled_from(["national", "plus", "double_zero"]),
    query_form=st.sampled_from(["national", "plus", "double_zero"]),
    seps_a=separators,
    seps_b=separators,
)
def test_one_number_in_any_form_finds_itself_in_any_other(
    national: str, country: str, stored_form: str, query_form: str, seps_a: list[str], seps_b: list[str]
) -> None:
    """DOMAIN §2.7: '0905 123 456', '+421 905 123 456' and '00421905123456' are one number."""
    forms = {"national": "0" + national, "plus": "+" + country + national, "double_zero": "00" + country + national}
    stored = formatted(forms[stored_form], seps_a)
    query = formatted(forms[query_form], seps_b)
    if query_form == "plus":
        query = "+" + query.lstrip("+")
    assert any(p in digits(stored) for p in phone_patterns(query))
