"""Phone numbers compare as numbers, not strings (DOMAIN §1.6, §2.3, §8.2).

``+421 905 000 111``, ``00421905000111`` and ``0905 000 111`` (written in a Slovak school)
are one number. ``phone_number`` gives the one form every rule compares: the E.164 form
(``+421905000111``) whenever the country is known, from the number itself
(``+``/``00`` and a country code) or from the tenant's country (its time zone's: a school
in ``Europe/Bratislava`` writes Slovak numbers nationally); failing both, the national
digits without their trunk ``0``. The same function decides whether a parent's proof
names a client's phone (the family cabinet) and whether two clients share a number
(unique phones): the parsing rules are those of the ``phonenumbers`` library.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat

MIN_NATIONAL_DIGITS = 6  # shorter tails would let "+1 23456" equal too many numbers


def phone_digits(phone: str) -> str:
    """The digits of a phone, whatever the formatting (search matches on these, DOMAIN §2.7)."""
    return re.sub(r"\D", "", phone)


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for row in text.splitlines():
        if row and not row.startswith("#"):
            country, _, zone, *_ = row.split("\t")
            out[zone] = country
    return out


def region_of_timezone(timezone: str) -> str | None:
    """The ISO 3166 country of an IANA zone (``Europe/Bratislava`` → ``SK``), or None
    for zones of no one country (``UTC``)."""
    return _zone_countries().get(timezone)


def _international(raw: str) -> PhoneNumber | None:
    text = raw.strip()
    digits = phone_digits(text)
    if text.startswith("+"):
        candidate = "+" + digits
    elif digits.startswith("00"):
        candidate = "+" + digits[2:]
    else:
        return None
    try:
        return phonenumbers.parse(candidate, None)
    except NumberParseException:
        return None


def _national(raw: str, region: str | None) -> PhoneNumber | None:
    if region is None:
        return None
    try:
        n = phonenumbers.parse(phone_digits(raw), region)
    except NumberParseException:
        return None
    return n if phonenumbers.is_possible_number(n) else None


def phone_number(raw: str, region: str | None = None) -> str:
    """The number ``raw`` stands for: ``+CC…`` (E.164) when its country is known, else its
    national digits without the trunk ``0``."""
    n = _international(raw) or _national(raw, region)
    if n is not None and len(str(n.national_number)) >= MIN_NATIONAL_DIGITS:
        return phonenumbers.format_number(n, PhoneNumberFormat.E164)
    digits = phone_digits(raw)
    if raw.strip().startswith("+"):
        return "+" + digits  # international, but of no country the library knows
    if digits.startswith("00"):
        return "+" + digits[2:]
    return digits[1:] if digits.startswith("0") else digits


def phones_match(a: str, b: str, region: str | None = None) -> bool:
    """One number in any formatting. Where the tenant's country is unknown, a national
    form matches an international one whose number behind the country code is the same
    (``0905 111 222`` is ``+421 905 111 222``); two international forms never match across
    country codes."""
    ka, kb = phone_number(a, region), phone_number(b, region)
    if ka.startswith("+") == kb.startswith("+"):
        return bool(phone_digits(ka)) and ka == kb
    intl, national = (a, kb) if ka.startswith("+") else (b, ka)
    n = _international(intl)
    return (n is not None and len(national) >= MIN_NATIONAL_DIGITS
            and str(n.national_number) == national)
