"""Phones compare as numbers, not strings (DOMAIN §1.6): one function decides for unique
phones (§2.3) and for a parent's proof in the family cabinet (§8.2)."""

from __future__ import annotations

import pytest

from classledger.aggregates import cabinet_user, phones
from classledger.aggregates.phones import phone_number, phones_match, region_of_timezone


@pytest.mark.parametrize("written", ["+421 905 000 111", "00421905000111", "0905 000 111", "905 000 111",
                                     "+421 (905) 000-111", "00 421 905 000 111"])
def test_every_form_of_a_slovak_number_is_one_number_in_a_slovak_school(written: str) -> None:
    assert phone_number(written, "SK") == "+421905000111"
    assert phones_match(written, "+421 905 000 111", "SK")


def test_the_schools_country_decides_what_a_national_number_is() -> None:
    assert region_of_timezone("Europe/Bratislava") == "SK"
    assert region_of_timezone("Europe/Tallinn") == "EE"
    assert region_of_timezone("UTC") is None
    assert phone_number("8 905 111 22 33", "RU") == "+79051112233"  # a Russian trunk prefix
    assert phones_match("8 905 111 22 33", "+7 905 111-22-33", "RU")
    assert not phones_match("0905 000 111", "+420 905 000 111", "SK")  # a Czech number is another one


def test_two_countries_never_match_and_short_tails_never_do() -> None:
    assert not phones_match("+421 905 111 222", "+420 905 111 222")
    assert not phones_match("+421 905 111 222", "+420 905 111 222", "SK")
    assert not phones_match("12345", "+4212345")
    assert not phones_match("0905 111 222", "0905 111 223", "SK")


def test_the_family_cabinet_proves_phones_with_the_same_function() -> None:
    assert cabinet_user.phones_match is phones.phones_match
