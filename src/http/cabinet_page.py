"""The cabinet as a browser sees it (DOMAIN §8.1): one small, self-contained page. Every
value is escaped; the page loads nothing else and runs no script."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}"
    "th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}"
    ".muted{color:#777}"
)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return '<p class="muted">—</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def cabinet_page(view: dict[str, Any]) -> str:
    balance = view["balance"]
    by_city = [[city, amount] for city, amount in balance["by_city"].items()]
    passes = [[p["lesson_type"], f'{p["lessons_remaining"]} / {p["lessons_total"]}', p["valid_from"], p["valid_until"],
               p["state"]] for p in view["passes"]]
    visits = [[v["date"], v["lesson_type"], v["status"] + (" (cancelled)" if v["cancelled"] else "")]
              for v in view["attendance"]]
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<meta name=\"robots\" content=\"noindex\">"
        f"<title>{escape(view['name'])}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(view['name'])}</h1>"
        f"<p class=\"muted\">as of {escape(view['as_of'])}</p>"
        f"<h2>Balance: {escape(balance['total'])}</h2>"
        "<p class=\"muted\">positive: owed to the school</p>"
        + _table(["City", "Balance"], by_city)
        + "<h2>Passes</h2>"
        + _table(["Lesson type", "Lessons left", "Valid from", "Valid until", "State"], passes)
        + "<h2>Attendance</h2>"
        + _table(["Date", "Lesson type", "Status"], visits)
        + "</body></html>"
    )
