"""The cabinet page as written (DOMAIN §8.1), without a browser: the tenant's locale (DOMAIN
§1.6) read from its settings, money with its currency and dates as each locale writes them,
lesson types by name, a debt marked, every value escaped; and the page for a link that does
not work, in the browser's language."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from classledger.aggregates.tenant import LessonType, Tenant
from classledger.http.cabinet_page import (
    Presentation,
    browser_locale,
    cabinet_page,
    not_found_page,
    presentation,
    tenant_locale,
)

VIEW = {
    "name": "Katka <b>Malá</b>",
    "as_of": "2026-03-01T23:30:00+00:00",
    "balance": {"total": "1234.50", "by_city": {"Bratislava": "1254.50", "Košice": "-20.00"}},
    "remainders": {"group": 9},
    "passes": [{"lesson_type": "group", "lessons_total": 10, "lessons_remaining": 9, "valid_from": "2026-03-02",
                "valid_until": "2026-03-31", "state": "used_up"}],
    "attendance": [{"date": "2026-03-02", "lesson_type": "group", "status": "attended", "cancelled": True}],
}


def _shown(locale: str) -> Presentation:
    return Presentation(locale=locale, currency="EUR", zone=ZoneInfo("Europe/Bratislava"),
                        lesson_types={"group": "Skupinové <lekcie>"})


@pytest.mark.parametrize(("tenant", "locale"), [
    (SimpleNamespace(settings=SimpleNamespace(locale="ru")), "ru"),  # a setting among the tenant's settings
    (SimpleNamespace(settings=SimpleNamespace(), locale="et"), "et"),  # or on the tenant itself
    (SimpleNamespace(settings=SimpleNamespace(no_show_consumes=False)), "en"),  # none: English
    (SimpleNamespace(settings=SimpleNamespace(locale="de")), "en"),  # none of the pages' locales
    (None, "en"),
])
def test_the_tenants_locale_is_read_from_its_settings(tenant: object, locale: str) -> None:
    assert tenant_locale(tenant) == locale


def test_a_tenant_shows_its_currency_zone_and_lesson_type_names() -> None:
    tid, at = uuid4(), datetime(2026, 1, 1, tzinfo=UTC)
    tenant = Tenant(id=tid, tenant_id=tid, version=1, created_on=at, modified_on=at, name="Škola",
                    timezone="Europe/Tallinn", currency="EUR", tiers=(),
                    lesson_types={"group": LessonType(code="group", name="Rühmatund", single_visit_price=1500)})
    shown = presentation(tenant)
    assert (shown.currency, shown.zone, shown.lesson_type("group"), shown.lesson_type("solo")) == (
        "EUR", ZoneInfo("Europe/Tallinn"), "Rühmatund", "solo")
    assert presentation(None) == Presentation()


@pytest.mark.parametrize(("header", "locale"), [
    ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
    ("de-DE,de;q=0.9,et;q=0.5,en;q=0.4", "et"),  # the best one the pages speak
    ("en;q=0.1, sk-SK", "sk"),  # by q-value, not by order
    ("sk;q=0, en", "en"),  # q=0: not acceptable
    ("de, fr", "en"),
    ("", "en"),
    ("sk;q=banana, ;;,", "en"),
])
def test_a_page_for_no_tenant_speaks_the_browsers_language(header: str, locale: str) -> None:
    assert browser_locale(header) == locale


def test_money_dates_and_names_as_slovak_writes_them() -> None:
    page = cabinet_page(VIEW, _shown("sk")).replace("\xa0", " ")
    assert '<html lang="sk">' in page
    assert "Stav k 2. 3. 2026 0:30" in page  # the instant in the tenant's zone: already 2 March there
    assert '<span class="amount debt">1 234,50 €</span>' in page  # owed to the school: marked as debt
    assert '<span class="amount credit">20,00 €</span>' in page  # paid in advance in Košice: a sum, not "-20"
    assert "Na úhradu" in page
    assert "Skupinové &lt;lekcie&gt;" in page  # the name, escaped, not the code
    assert ">group<" not in page
    assert "Platnosť 2. 3. 2026 – 31. 3. 2026" in page
    assert "vyčerpaná" in page
    assert "prítomnosť (zrušené)" in page
    assert "Katka &lt;b&gt;Malá&lt;/b&gt;" in page
    assert "<b>" not in page


@pytest.mark.parametrize(("locale", "money", "day"), [
    ("en", "€1,234.50", "Mar 2, 2026"),
    ("sk", "1 234,50 €", "2. 3. 2026"),
    ("ru", "1 234,50 €", "2 мар. 2026 г."),
    ("et", "1 234,50 €", "2. märts 2026"),
])
def test_each_locale_writes_money_with_its_currency_and_dates_its_way(locale: str, money: str, day: str) -> None:
    shown = _shown(locale)
    assert shown.money("1234.50").replace("\xa0", " ") == money
    assert shown.day("2026-03-02").replace("\u202f", " ") == day


def test_a_settled_balance_is_neither_debt_nor_credit() -> None:
    view = {**VIEW, "balance": {"total": "0.00", "by_city": {}}, "passes": [], "attendance": []}
    page = cabinet_page(view, _shown("en"))
    assert '<span class="amount ">€0.00</span>' in page
    assert "Nothing to pay" in page
    assert page.count("None yet") == 2


def test_the_as_of_instant_is_in_the_tenants_zone() -> None:
    at = datetime(2026, 7, 1, 22, 15, tzinfo=UTC)
    assert _shown("en").instant(at.isoformat()).replace("\u202f", " ") == "Jul 2, 2026 12:15 AM"


@pytest.mark.parametrize(("locale", "title"), [
    ("en", "This link does not work"), ("sk", "Tento odkaz nefunguje"), ("ru", "Эта ссылка не работает"),
    ("et", "See link ei tööta"), ("de", "This link does not work"),
])
def test_a_link_that_does_not_work_gets_a_page(locale: str, title: str) -> None:
    page = not_found_page(locale)
    assert f"<h1>{title}</h1>" in page
    assert '<meta name="viewport"' in page
