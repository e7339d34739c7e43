"""The cabinet as a browser sees it (DOMAIN §8.1): one small, self-contained page in the
tenant's locale (DOMAIN §1.6: sk, ru, et or en). Money shows with its currency and dates
as the locale writes them (babel), lesson types by their names, a debt in red; the page
fits a phone's width (375 px) with no sideways scroll. Every value is escaped; the page
loads nothing else and runs no script. A link that does not work gets a page too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from html import escape
from typing import Any

from babel.core import negotiate_locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal

from classledger.aggregates.tenant import Tenant

LOCALES = ("sk", "ru", "et", "en")
DEFAULT_LOCALE = "en"

_STYLE = (
    "*{box-sizing:border-box}"
    "body{font-family:system-ui,'DejaVu Sans',sans-serif;max-width:40rem;margin:0 auto;padding:1rem;color:#222;"
    "line-height:1.4;overflow-wrap:anywhere}"
    "h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}"
    ".muted{color:#666}"
    ".total{font-size:1.6rem;font-weight:700;margin:.25rem 0}"
    ".debt{color:#b00020}.credit{color:#1b6e2a}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.35rem .4rem;border-bottom:1px solid #ddd;vertical-align:top}"
    "th,td.num,.nowrap{white-space:nowrap}td.num{text-align:right}"
    ".pass{border:1px solid #ddd;border-radius:.5rem;padding:.6rem .8rem;margin:.5rem 0}"
    ".pass h3{font-size:1rem;margin:0 0 .25rem;display:flex;justify-content:space-between;gap:.5rem;flex-wrap:wrap}"
    ".pass p{margin:.1rem 0}"
    ".state{font-weight:400;font-size:.85rem;padding:0 .4rem;border-radius:.3rem;background:#eee}"
    ".state.valid{background:#e3f3e6}"
)

# The page's own words, by locale. Keys are the words' English.
_WORDS: dict[str, dict[str, str]] = {
    "en": {},
    "sk": {
        "As of {when}": "Stav k {when}",
        "Balance": "Zostatok",
        "To pay": "Na úhradu",
        "Paid in advance": "Preplatok",
        "Nothing to pay": "Nič na úhradu",
        "City": "Mesto",
        "Passes": "Permanentky",
        "{left} of {total} lessons left": "Zostáva {left} z {total} lekcií",
        "Valid {start} – {end}": "Platnosť {start} – {end}",
        "Attendance": "Dochádzka",
        "Date": "Dátum",
        "Lesson": "Lekcia",
        "Status": "Stav",
        "None yet": "Zatiaľ nič",
        "valid": "platná",
        "expired": "vypršala",
        "future": "ešte neplatí",
        "used_up": "vyčerpaná",
        "voided": "zrušená",
        "refunded": "vrátená",
        "recalculated": "prepočítaná",
        "attended": "prítomnosť",
        "absent": "neprítomnosť",
        "cancelled": "zrušené",
        "This link does not work": "Tento odkaz nefunguje",
        "It may have been replaced or revoked. Ask your school for a new one.":
            "Mohol byť nahradený alebo zrušený. Požiadajte školu o nový.",
    },
    "ru": {
        "As of {when}": "По состоянию на {when}",
        "Balance": "Баланс",
        "To pay": "К оплате",
        "Paid in advance": "Предоплата",
        "Nothing to pay": "Задолженности нет",
        "City": "Город",
        "Passes": "Абонементы",
        "{left} of {total} lessons left": "Осталось занятий: {left} из {total}",
        "Valid {start} – {end}": "Действует {start} – {end}",
        "Attendance": "Посещения",
        "Date": "Дата",
        "Lesson": "Занятие",
        "Status": "Статус",
        "None yet": "Пока нет",
        "valid": "действует",
        "expired": "истёк",
        "future": "ещё не начался",
        "used_up": "использован",
        "voided": "аннулирован",
        "refunded": "возвращён",
        "recalculated": "пересчитан",
        "attended": "присутствие",
        "absent": "пропуск",
        "cancelled": "отменено",
        "This link does not work": "Эта ссылка не работает",
        "It may have been replaced or revoked. Ask your school for a new one.":
            "Возможно, её заменили или отозвали. Попросите в школе новую ссылку.",
    },
    "et": {
        "As of {when}": "Seis: {when}",
        "Balance": "Saldo",
        "To pay": "Tasuda",
        "Paid in advance": "Ettemaks",
        "Nothing to pay": "Võlgnevust pole",
        "City": "Linn",
        "Passes": "Pääsmed",
        "{left} of {total} lessons left": "Tunde jäänud {left}/{total}",
        "Valid {start} – {end}": "Kehtib {start} – {end}",
        "Attendance": "Osalemine",
        "Date": "Kuupäev",
        "Lesson": "Tund",
        "Status": "Olek",
        "None yet": "Veel pole",
        "valid": "kehtib",
        "expired": "aegunud",
        "future": "pole veel kehtiv",
        "used_up": "kasutatud",
        "voided": "tühistatud",
        "refunded": "tagastatud",
        "recalculated": "ümber arvutatud",
        "attended": "osales",
        "absent": "puudus",
        "cancelled": "tühistatud",
        "This link does not work": "See link ei tööta",
        "It may have been replaced or revoked. Ask your school for a new one.":
            "See võib olla asendatud või tühistatud. Küsige koolilt uus link.",
    },
}
_STATE_WORDS = ("valid", "expired", "future", "used_up", "voided", "refunded", "recalculated")
_ENGLISH_STATES = {"used_up": "used up", "future": "not yet valid", "voided": "cancelled"}


def tenant_locale(tenant: Any) -> str:
    """The tenant's locale for people-facing pages (DOMAIN §1.6), read defensively: a
    ``locale`` among its settings or on the tenant itself, else English."""
    for holder in (getattr(tenant, "settings", None), tenant):
        value = getattr(holder, "locale", None)
        if value in LOCALES:
            return str(value)
    return DEFAULT_LOCALE


def browser_locale(accept_language: str) -> str:
    """The best of the pages' locales for a browser's ``Accept-Language`` (by its q-values),
    for a page that belongs to no known tenant; else English."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            ranked.append((-q, i, tag.strip()))
    preferred = [tag for _, _, tag in sorted(ranked)]
    return negotiate_locale(preferred, LOCALES, sep="-") or DEFAULT_LOCALE


@dataclass(frozen=True)
class Presentation:
    """How one tenant's pages show things: its locale, currency, time zone, lesson type names."""

    locale: str = DEFAULT_LOCALE
    currency: str | None = None
    zone: tzinfo = UTC
    lesson_types: Mapping[str, str] = field(default_factory=dict)  # code → name

    def word(self, english: str, **values: object) -> str:
        return _WORDS.get(self.locale, {}).get(english, english).format(**values)

    def money(self, amount: str) -> str:
        """A decimal string of the tenant's currency, as the locale writes money."""
        try:
            value = Decimal(amount)
        except InvalidOperation:
            return amount
        if self.currency is None:
            return format_decimal(value, locale=self.locale)
        return format_currency(value, self.currency, locale=self.locale)

    def day(self, iso: str | None) -> str:
        if not iso:
            return ""
        try:
            return format_date(date.fromisoformat(iso), format="medium", locale=self.locale)
        except ValueError:
            return iso

    def instant(self, iso: str) -> str:
        try:
            at = datetime.fromisoformat(iso).astimezone(self.zone)
        except ValueError:
            return iso
        day = format_date(at.date(), format="medium", locale=self.locale)
        return f"{day} {format_time(at, format='short', locale=self.locale)}"

    def lesson_type(self, code: str) -> str:
        return self.lesson_types.get(code) or code

    def state(self, state: str) -> str:
        if self.locale == "en" or state not in _STATE_WORDS:
            return _ENGLISH_STATES.get(state, state).replace("_", " ")
        return self.word(state)


def presentation(tenant: Tenant | None) -> Presentation:
    """What a tenant's aggregate says about showing its pages; defaults where it says nothing."""
    if tenant is None:
        return Presentation()
    names = {code: lt.name for code, lt in tenant.lesson_types.items()}
    return Presentation(locale=tenant_locale(tenant), currency=tenant.currency, zone=tenant.zone, lesson_types=names)


def _sign(amount: str) -> int:
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return 0
    return (value > 0) - (value < 0)


def _amount(p: Presentation, amount: str) -> str:
    """An amount owed to the school (positive) in red; one paid in advance (negative) shown
    as a positive sum in green."""
    sign = _sign(amount)
    shown = p.money(amount.removeprefix("-"))
    css = {1: "debt", -1: "credit"}.get(sign, "")
    return f'<span class="amount {css}">{escape(shown)}</span>'


def _balance(p: Presentation, balance: dict[str, Any]) -> str:
    total = str(balance["total"])
    sign = _sign(total)
    label = p.word({1: "To pay", -1: "Paid in advance"}.get(sign, "Nothing to pay"))
    out = (f'<h2>{escape(p.word("Balance"))}</h2>'
           f'<p class="muted">{escape(label)}</p><p class="total" id="balance">{_amount(p, total)}</p>')
    by_city = balance.get("by_city", {})
    if len(by_city) > 1:
        rows = "".join(f"<tr><td>{escape(city)}</td><td class=\"num\">{_amount(p, str(amount))}</td></tr>"
                       for city, amount in by_city.items())
        out += f'<table><thead><tr><th>{escape(p.word("City"))}</th><th></th></tr></thead><tbody>{rows}</tbody></table>'
    return out


def _passes(p: Presentation, passes: list[dict[str, Any]]) -> str:
    out = f'<h2>{escape(p.word("Passes"))}</h2>'
    if not passes:
        return out + f'<p class="muted">{escape(p.word("None yet"))}</p>'
    for item in passes:
        state = str(item["state"])
        left = p.word("{left} of {total} lessons left", left=item["lessons_remaining"], total=item["lessons_total"])
        valid = p.word("Valid {start} – {end}", start=p.day(item["valid_from"]), end=p.day(item["valid_until"]))
        out += (f'<section class="pass"><h3><span>{escape(p.lesson_type(item["lesson_type"]))}</span>'
                f'<span class="state {escape(state)}">{escape(p.state(state))}</span></h3>'
                f"<p>{escape(left)}</p><p class=\"muted\">{escape(valid)}</p></section>")
    return out


def _attendance(p: Presentation, visits: list[dict[str, Any]]) -> str:
    out = f'<h2>{escape(p.word("Attendance"))}</h2>'
    if not visits:
        return out + f'<p class="muted">{escape(p.word("None yet"))}</p>'
    rows = ""
    for v in visits:
        status = p.word(str(v["status"]))
        if v["cancelled"]:
            status += f" ({p.word('cancelled')})"
        rows += (f"<tr><td class=\"nowrap\">{escape(p.day(v['date']))}</td><td>{escape(p.lesson_type(v['lesson_type']))}</td>"
                 f"<td class=\"nowrap\">{escape(status)}</td></tr>")
    head = "".join(f"<th>{escape(p.word(h))}</th>" for h in ("Date", "Lesson", "Status"))
    return out + f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _document(locale: str, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"robots\" content=\"noindex\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def cabinet_page(view: dict[str, Any], p: Presentation | None = None) -> str:
    p = p or Presentation()
    body = (
        f"<h1>{escape(view['name'])}</h1>"
        f'<p class="muted">{escape(p.word("As of {when}", when=p.instant(view["as_of"])))}</p>'
        + _balance(p, view["balance"])
        + _passes(p, view["passes"])
        + _attendance(p, view["attendance"])
    )
    return _document(p.locale, view["name"], body)


def not_found_page(locale: str) -> str:
    """A cabinet link that never existed, was replaced or revoked: a page that says so."""
    p = Presentation(locale=locale if locale in LOCALES else DEFAULT_LOCALE)
    title = p.word("This link does not work")
    advice = p.word("It may have been replaced or revoked. Ask your school for a new one.")
    return _document(p.locale, title, f"<h1>{escape(title)}</h1><p>{escape(advice)}</p>")
