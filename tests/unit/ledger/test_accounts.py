"""The chart of accounts (DOMAIN §6.3) and the city key of client accounts (§6.6)."""

from __future__ import annotations

import re
import unicodedata
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classledger.ledger import accounts as acc
from classledger.ledger.accounts import AccountError, Family, parse_account

from .support import BRANCH, CLIENT


def test_constructors_spell_the_chart() -> None:
    """DOMAIN §6.3."""
    assert acc.cash(BRANCH) == f"assets:cash:{BRANCH}"
    assert acc.bank(BRANCH) == f"assets:bank:{BRANCH}"
    assert acc.receivable(CLIENT, "Nové Zámky") == f"assets:receivable:{CLIENT}:nove-zamky"
    assert acc.deferred("group") == "liabilities:deferred:group"
    assert acc.income_lessons("individual") == "income:lessons:individual"
    assert acc.INCOME_DISCOUNTS == "income:discounts"
    assert acc.BAD_DEBT == "expenses:bad_debt"
    assert acc.money_account("cash", BRANCH) == acc.cash(BRANCH)
    assert acc.money_account("card", BRANCH) == acc.money_account("bank", BRANCH) == acc.bank(BRANCH)


@pytest.mark.parametrize(
    "call",
    [lambda: acc.money_account("crypto", BRANCH), lambda: acc.deferred("Group"), lambda: acc.deferred("a b"),
     lambda: acc.income_lessons(""), lambda: acc.deferred("group:x"), lambda: acc.cash(str(BRANCH)),  # type: ignore[arg-type]
     lambda: acc.receivable(str(CLIENT), "Košice"),  # type: ignore[arg-type]
     lambda: acc.receivable(CLIENT, " - ")],
)
def test_constructors_refuse_what_cannot_be_an_account(call: object) -> None:
    with pytest.raises(AccountError):
        call()  # type: ignore[operator]


def test_parse_tells_each_family_and_its_ids() -> None:
    cash = parse_account(acc.cash(BRANCH))
    assert (cash.family, cash.branch_id, cash.root) == (Family.CASH, BRANCH, "assets")
    assert parse_account(acc.bank(BRANCH)).family is Family.BANK
    rec = parse_account(acc.receivable(CLIENT, "Košice"))
    assert (rec.family, rec.client_id, rec.city) == (Family.RECEIVABLE, CLIENT, "kosice")
    d = parse_account(acc.deferred("group"))
    assert (d.family, d.lesson_type) == (Family.DEFERRED, "group")
    i = parse_account(acc.income_lessons("group"))
    assert (i.family, i.lesson_type) == (Family.INCOME_LESSONS, "group")
    assert parse_account(acc.INCOME_DISCOUNTS).family is Family.DISCOUNTS
    assert parse_account(acc.BAD_DEBT).family is Family.BAD_DEBT
    assert parse_account(acc.INCOME_CORRECTIONS).family is Family.OTHER


@pytest.mark.parametrize(
    "name",
    # "A tenant may add accounts under these prefixes" (DOMAIN §6.3)
    ["income:corrections", "equity:opening", "expenses:card_fees", "assets:cash:safe",
     f"assets:bank:{BRANCH}:terminal-2", f"assets:cash:{BRANCH}:till_1", "income:discounts:large-family",
     "expenses:bad_debt:2026", "liabilities:vouchers", "assets:receivable_other", "income:lessons_online"],
)
def test_tenant_accounts_under_the_roots_are_accepted(name: str) -> None:
    assert parse_account(name).name == name
    assert acc.is_account(name)
    assert acc.as_receivable(name) is None


@pytest.mark.parametrize(
    "name",
    ["", "nowhere:x", "assets", "assets:", ":assets:cash", "Assets:cash:x", "assets:Cash:x", "assets:cash",
     "assets:bank", "assets:cash::x", "assets:cash: x", "assets:cash:-x", "assets:cash:x!", "assets:cash:x.y",
     "assets:receivable", f"assets:receivable:{CLIENT}", "assets:receivable:someone:kosice",
     "assets:receivable:0000000A-0000-4000-8000-00000000000B:kosice", f"assets:receivable:{CLIENT}:Košice",
     f"assets:receivable:{CLIENT}:nové-zámky", f"assets:receivable:{CLIENT}:kosice:extra",
     f"assets:receivable:{CLIENT}:kosice_", "liabilities:deferred", "liabilities:deferred:group:summer",
     "liabilities:deferred:Group", "income:lessons", "income:lessons:group:x", "income:lessons:гр",
     "expenses:bad debt", "equity:opening\n"],
)
def test_parse_refuses_names_outside_the_chart(name: str) -> None:
    with pytest.raises(AccountError):
        parse_account(name)
    assert not acc.is_account(name)
    assert acc.as_receivable(name) is None


def test_client_accounts_are_recognised() -> None:
    name = acc.receivable(CLIENT, "Košice")
    assert acc.as_receivable(name) == acc.Receivable(CLIENT, "kosice")
    assert acc.is_receivable(name)
    assert not acc.is_receivable(acc.cash(BRANCH))
    assert acc.as_receivable(acc.deferred("group")) is None


# ---- city keys -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("city", "key"),
    [("Bratislava", "bratislava"), ("  Bratislava ", "bratislava"), ("Košice", "kosice"),
     ("Nové Zámky", "nove-zamky"), ("Nove Zamky", "nove-zamky"), ("NOVÉ  ZÁMKY", "nove-zamky"),
     ("Pärnu", "parnu"), ("St. Pölten", "st-polten"), ("São Paulo", "sao-paulo"), ("Łódź", "lodz"),
     ("Wrocław", "wroclaw"), ("Tromsø", "tromso"), ("Đakovo", "dakovo"), ("Diyarbakır", "diyarbakir"),
     ("Straße", "strasse"), ("Москва", "москва"), ("Йошкар-Ола", "иошкар-ола"), ("Ростов-на-Дону", "ростов-на-дону"),
     ("東京", "東京"), ("Θεσσαλονίκη", "θεσσαλονικη"), ("Ｔｏｋｙｏ", "tokyo"), ("Saint_Étienne", "saint-etienne")],
)
def test_city_key_is_a_readable_slug(city: str, key: str) -> None:
    """DOMAIN §6.6: debts per city; the account keeps a slug, the branch keeps the name."""
    assert acc.city_key(city) == key


@pytest.mark.parametrize("city", ["", "   ", "-", "!!!", "·"])
def test_a_city_needs_a_letter_or_digit(city: str) -> None:
    with pytest.raises(AccountError, match="a city needs a name"):
        acc.city_key(city)


def _has_word(text: str) -> bool:
    try:
        acc.city_key(text)
    except AccountError:
        return False
    return True


@given(st.text(min_size=1, max_size=30).filter(_has_word))
def test_city_key_is_idempotent_and_always_a_valid_account_segment(city: str) -> None:
    key = acc.city_key(city)
    assert acc.city_key(key) == key
    assert ":" not in key
    assert " " not in key
    assert key == key.strip("-")
    name = acc.receivable(CLIENT, city)
    assert acc.as_receivable(name) == acc.Receivable(CLIENT, key)


def _old_city_key(city: str) -> str:
    """The first release's key, kept to prove stored account names did not move."""
    decomposed = unicodedata.normalize("NFKD", city.strip())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[^0-9a-z\u0400-\u04ff]+", "-", plain).strip("-")


_LATIN_AND_CYRILLIC = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.,'()_/"
    "áäčďéěíĺľňóôöőŕřšťúůüűýžÁÄČĎÉÍĽŇÓÔŘŠŤÚÝŽàâçèêëîïñùûÿœ"[:-1]
    + "ãõåąćęńśźżÅĄĆĘŃŚŹŻ"
    + "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯіїєґІЇЄҐ"
)


@given(st.text(alphabet=_LATIN_AND_CYRILLIC, min_size=1, max_size=30).filter(lambda c: bool(_old_city_key(c))))
def test_city_keys_of_latin_and_cyrillic_names_are_unchanged(city: str) -> None:
    """Account names are stored in events: for every city the first release keyed without
    losing letters, the key is the same today."""
    assert acc.city_key(city) == _old_city_key(city)


def test_distinct_clients_and_cities_give_distinct_accounts() -> None:
    other = uuid.uuid4()
    names = {acc.receivable(c, city) for c in (CLIENT, other) for city in ("Košice", "Bratislava")}
    assert len(names) == 4
