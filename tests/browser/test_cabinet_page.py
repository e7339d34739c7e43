"""DOMAIN §8.1 in a real browser, at a phone's width (375 px): the cabinet page shows money
with its currency and dates in the tenant's locale (DOMAIN §1.6: sk, ru, et, en), lesson
types by name, a debt in red, and never scrolls sideways. A link that no longer works shows
a page, not raw JSON. Every page's screenshot is kept in the test's tmp dir."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from classledger.http import cabinet_page
from tests.browser.conftest import PHONE, open_tab, serving
from tests.http.support import Api

RED = "rgb(176, 0, 32)"
LESSON = "Moderný tanec pre pokročilých juniorov"


def _school(api: Api, name: str = "Katarína Malá-Novotná-Horváthová") -> tuple[str, date]:
    """A client who bought a 10-lesson pass on credit (120.00 owed) and has two visits today: one attended, one a no-show, which consumes nothing by default (DOMAIN §7.1)."""
    api.post("/v1/lesson-types", {"code": "modern_jun", "name": LESSON, "single_visit_price": "15.00"}, role="director")
    tpl = api.post("/v1/pass-templates", {"name": "Modern 10", "price": "120.00", "lessons": 10, "validity_days": 30,
                                          "lesson_type": "modern_jun"}, role="director").json()["id"]
    cid = api.client(name)
    today = datetime.now(ZoneInfo("Europe/Bratislava")).date()  # the tenant's day
    sold = api.post("/v1/passes", {"template_id": tpl, "client_ids": [cid], "branch_id": api.branch,
                                   "valid_from": today.isoformat(), "payment": "on_credit"})
    assert sold.status_code == 201, sold.text
    for status in ("attended", "absent"):
        visit = api.post("/v1/visits", {"client_id": cid, "lesson_type": "modern_jun", "date": today.isoformat(),
                                        "status": status})
        assert visit.status_code == 201, visit.text
    return cid, today


def _link(api: Api, cid: str) -> str:
    issued = api.post(f"/v1/clients/{cid}/cabinet-link", {})
    assert issued.status_code == 201, issued.text
    return str(issued.json()["url"])


def _text(tab: Any) -> str:
    return str(tab.page.inner_text("body")).replace("\xa0", " ").replace("\u202f", " ")


def _color(tab: Any, selector: str) -> str:
    return str(tab.page.eval_on_selector(selector, "e => getComputedStyle(e).color"))


def test_a_debtors_cabinet_on_a_phone(api: Api, browser: Any, tmp_path: Path) -> None:
    cid, today = _school(api)
    url = _link(api, cid)
    with serving(api.system) as base, open_tab(browser) as tab:
        response = tab.page.goto(base + url)
        assert response.status == 200
        shot = tab.screenshot(tmp_path / "cabinet-en.png")
        text = _text(tab)
        assert tab.scroll_width() <= PHONE["width"]
        assert _color(tab, "#balance .amount") == RED  # owed to the school
        lang = tab.page.get_attribute("html", "lang")
        pass_title = tab.page.inner_text(".pass h3 span")
    assert lang == "en"
    assert shot[0] == PHONE["width"]  # the whole page, as a phone shows it: no wider than the screen
    assert "To pay" in text
    assert "€120.00" in text  # the tenant's currency, as English writes it
    assert pass_title == LESSON  # the name, not the code
    assert "modern_jun" not in text
    assert "9 of 10 lessons left" in text
    assert f"{today:%b} {today.day}, {today.year}" in text  # e.g. "Dec 2, 2026"
    assert "attended" in text
    assert "absent" in text
    assert tab.left == []


def test_money_paid_in_advance_is_not_red(api: Api, browser: Any, tmp_path: Path) -> None:
    cid = api.client("Eva Nováková")
    paid = api.post("/v1/payments", {"client_id": cid, "amount": "50.00", "method": "cash", "branch_id": api.branch})
    assert paid.status_code == 201, paid.text
    url = _link(api, cid)
    with serving(api.system) as base, open_tab(browser) as tab:
        tab.page.goto(base + url)
        tab.screenshot(tmp_path / "cabinet-credit.png")
        color = _color(tab, "#balance .amount")
        text = _text(tab)
        shown = tab.page.inner_text("#balance")
    assert color != RED
    assert "Paid in advance" in text
    assert shown == "€50.00"  # a sum paid in advance, not a negative number


@pytest.mark.parametrize(("locale", "money", "words"), [
    ("sk", "120,00 €", ("Zostatok", "Na úhradu", "Permanentky", "Zostáva 9 z 10 lekcií", "Dochádzka", "prítomnosť")),
    ("ru", "120,00 €", ("Баланс", "К оплате", "Абонементы", "Осталось занятий: 9 из 10", "Посещения", "пропуск")),
    ("et", "120,00 €", ("Saldo", "Tasuda", "Pääsmed", "Tunde jäänud 9/10", "Osalemine", "osales")),
])
def test_the_cabinet_speaks_the_tenants_locale(api: Api, browser: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch, locale: str, money: str,
                                               words: tuple[str, ...]) -> None:
    # The tenant's locale setting (DOMAIN §1.6), as cabinet_page.tenant_locale reads it.
    monkeypatch.setattr(cabinet_page, "tenant_locale", lambda tenant: locale)
    cid, today = _school(api, name="Алёна Кузнецова-Ševčíková")
    url = _link(api, cid)
    with serving(api.system) as base, open_tab(browser, locale="en-US") as tab:
        tab.page.goto(base + url)
        shot = tab.screenshot(tmp_path / f"cabinet-{locale}.png")
        text = _text(tab)
        width = tab.scroll_width()
        lang = tab.page.get_attribute("html", "lang")
        red = _color(tab, "#balance .amount")
    assert lang == locale
    assert money in text
    assert "€120.00" not in text
    for word in words:
        assert word in text, (word, text)
    if locale == "sk":
        assert f"{today.day}. {today.month}. {today.year}" in text  # Slovak dates: "2. 12. 2026"
    if locale == "ru":
        assert f"{today.year} г." in text
    assert width <= PHONE["width"]
    assert shot[0] == PHONE["width"]
    assert red == RED


def test_a_revoked_link_shows_a_page_in_the_browsers_language(api: Api, browser: Any, tmp_path: Path) -> None:
    cid, _ = _school(api)
    url = _link(api, cid)
    assert api.send("DELETE", f"/v1/clients/{cid}/cabinet-link").status_code == 200
    with serving(api.system) as base, open_tab(browser, locale="sk-SK") as tab:
        response = tab.page.goto(base + url)
        status, content_type = response.status, response.headers["content-type"]
        tab.screenshot(tmp_path / "cabinet-revoked.png")
        title = tab.page.inner_text("h1")
        width = tab.scroll_width()
        unknown = tab.page.goto(base + "/cabinet/no-such-link")
        unknown_status, unknown_title = unknown.status, tab.page.inner_text("h1")
    assert status == 404
    assert content_type.startswith("text/html")
    assert title == "Tento odkaz nefunguje"
    assert width <= PHONE["width"]
    assert (unknown_status, unknown_title) == (404, "Tento odkaz nefunguje")
