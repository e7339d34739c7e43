"""Reading what was written (API §7) through the real app, on both databases: the
catalogue, one group and one pass, previews before the money moves, the payments
report, paging, the client list's true values, the card's registrations and the client's
whole history."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.http.support import Api, assert_error

ZONE = ZoneInfo("Europe/Bratislava")


def _today() -> str:
    return datetime.now(ZONE).date().isoformat()


def _day(offset: int) -> str:
    return (datetime.now(ZONE).date() + timedelta(days=offset)).isoformat()


def _walk(api: Api, path: str, limit: int, **params: str) -> tuple[list[dict[str, Any]], int, int]:
    """Every item of a list, page by page: (items, total said, pages)."""
    items: list[dict[str, Any]] = []
    cursor, pages, total = None, 0, -1
    while True:
        r = api.get(path, limit=str(limit), **({"cursor": cursor} if cursor else {}), **params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) >= {"items", "total", "next_cursor"}
        assert len(body["items"]) <= limit
        total = body["total"]
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items, total, pages


def _school(api: Api) -> dict[str, str]:
    """A lesson type, a course, a running group of two seats and a pass template."""
    assert api.post("/v1/lesson-types", {"code": "group", "name": "Skupina", "single_visit_price": "15.00"},
                    role="director").status_code in (200, 201)
    course = api.post("/v1/courses", {"name": "Balet", "lesson_type": "group"}).json()["id"]
    group = api.post("/v1/groups", {"course_id": course, "branch_id": api.branch, "name": "Po 16:00", "capacity": 2,
                                    "starts_on": _day(-10), "ends_on": _day(90)}).json()["id"]
    template = api.post("/v1/pass-templates", {"name": "Skupina 10", "price": "120.00", "lessons": 10,
                                               "validity_days": 30, "lesson_type": "group"}, role="director").json()["id"]
    return {"course": course, "group": group, "template": template}


def test_the_catalogue_reads_back_what_was_defined_and_its_ids_sell(api: Api) -> None:
    """Branches, lesson types, custom fields, courses and pass templates (DOMAIN §1, §2.1,
    §3.1, §4.1): each list pages; a template id read from the list sells a pass."""
    second = api.post("/v1/branches", {"name": "Petržalka", "city": "Bratislava"}, role="director").json()["id"]
    assert api.post("/v1/custom-fields", {"key": "school", "label": "Škola", "type": "choice", "required": False,
                                          "choices": ["ZŠ", "Gymnázium"]}, role="director").status_code in (200, 201)
    s = _school(api)
    api.post("/v1/pass-templates", {"name": "Skupina 4", "price": "52.00", "lessons": 4, "validity_days": 30,
                                    "lesson_type": "group"}, role="director")

    branches = api.get("/v1/branches", role="operator").json()
    assert [(b["id"], b["name"], b["city"]) for b in branches["items"]] == [
        (api.branch, "Centrum", "Bratislava"), (second, "Petržalka", "Bratislava")]
    assert (branches["total"], branches["next_cursor"]) == (2, None)
    (lt,) = api.get("/v1/lesson-types").json()["items"]
    assert lt == {"code": "group", "name": "Skupina", "single_visit_price": "15.00"}
    (field,) = api.get("/v1/custom-fields").json()["items"]
    assert field == {"key": "school", "label": "Škola", "type": "choice", "required": False, "choices": ["ZŠ", "Gymnázium"]}
    (course,) = api.get("/v1/courses").json()["items"]
    assert course == {"id": s["course"], "name": "Balet", "lesson_type": "group"}

    templates, total, pages = _walk(api, "/v1/pass-templates", 1)
    assert (total, pages) == (2, 2)
    assert [(t["name"], t["price"], t["lessons"]) for t in templates] == [("Skupina 10", "120.00", 10), ("Skupina 4", "52.00", 4)]
    assert templates[0]["id"] == s["template"]
    cid = api.client()
    sold = api.post("/v1/passes", {"template_id": templates[1]["id"], "client_ids": [cid], "branch_id": api.branch,
                                   "valid_from": _today(), "payment": "on_credit"})
    assert sold.status_code == 201, sold.text
    # Each list is the tenant's own.
    other = Api(api.system, name="Iná škola")
    assert other.get("/v1/pass-templates").json() == {"items": [], "total": 0, "next_cursor": None}
    assert [b["name"] for b in other.get("/v1/branches").json()["items"]] == ["Centrum"]
    assert_error(api.get("/v1/branches", cursor="garbage!"), 422, "invalid_cursor")
    assert_error(api.get("/v1/courses", limit="1001"), 422, "invalid_query")


def test_groups_show_capacity_registered_and_waitlisted_and_one_group_its_queue(api: Api) -> None:
    """DOMAIN §3.1–3.2: counts per group; the group itself lists its registrations and its
    waitlist in promotion order, and a cancellation promotes the oldest waitlisted one."""
    s = _school(api)
    ended = api.post("/v1/groups", {"course_id": s["course"], "branch_id": api.branch, "name": "Leto",
                                    "capacity": 5, "starts_on": _day(-100), "ends_on": _day(-50)}).json()["id"]
    future = api.post("/v1/groups", {"course_id": s["course"], "branch_id": api.branch, "name": "Jeseň",
                                     "capacity": 5, "starts_on": _day(30), "ends_on": _day(120)}).json()["id"]
    clients = [api.client(n) for n in ("Anna", "Boris", "Cyril", "Dana")]
    regs = [api.post("/v1/registrations", {"client_id": c, "group_id": s["group"]}).json() for c in clients]
    assert [r["state"] for r in regs] == ["registered", "registered", "waitlist", "waitlist"]

    groups = {g["id"]: g for g in api.get("/v1/groups").json()["items"]}
    assert {k: groups[s["group"]][k] for k in ("capacity", "registered", "waitlisted", "state")} == {
        "capacity": 2, "registered": 2, "waitlisted": 2, "state": "running"}
    assert (groups[ended]["state"], groups[future]["state"]) == ("ended", "future")
    assert [g["id"] for g in api.get("/v1/groups", state="running").json()["items"]] == [s["group"]]
    assert [g["id"] for g in api.get("/v1/groups", state="future").json()["items"]] == [future]
    assert api.get("/v1/groups", course_id=str(uuid.uuid4())).json()["total"] == 0
    assert api.get("/v1/groups", branch_id=api.branch).json()["total"] == 3

    one = api.get(f"/v1/groups/{s['group']}").json()
    assert [(r["id"], r["client_id"], r["state"]) for r in one["registrations"]] == [
        (regs[0]["id"], clients[0], "registered"), (regs[1]["id"], clients[1], "registered")]
    assert [(w["position"], w["registration_id"], w["client_id"]) for w in one["waitlist"]] == [
        (1, regs[2]["id"], clients[2]), (2, regs[3]["id"], clients[3])]

    assert api.post(f"/v1/registrations/{regs[0]['id']}/cancel", {"reason": "moved away"}).status_code == 200
    one = api.get(f"/v1/groups/{s['group']}").json()
    assert [r["client_id"] for r in one["registrations"]] == [clients[1], clients[2]]
    assert [w["client_id"] for w in one["waitlist"]] == [clients[3]]
    assert (one["registered"], one["waitlisted"]) == (2, 1)
    assert_error(api.get(f"/v1/groups/{uuid.uuid4()}"), 404, "group_not_found")
    assert_error(Api(api.system, name="Iná").get(f"/v1/groups/{s['group']}"), 404, "group_not_found")


def test_one_pass_and_the_previews_say_what_the_commands_then_do(api: Api) -> None:
    """DOMAIN §4.7 and §4.8 before the money moves: the previews show the figures the
    commands then post, and reading them writes nothing."""
    s = _school(api)
    small = api.post("/v1/pass-templates", {"name": "Skupina 2", "price": "30.00", "lessons": 2, "validity_days": 30,
                                            "lesson_type": "group"}, role="director").json()["id"]
    big = api.post("/v1/pass-templates", {"name": "Skupina 20", "price": "200.00", "lessons": 20, "validity_days": 60,
                                          "lesson_type": "group"}, role="director").json()["id"]
    cid = api.client()
    pass_id = api.post("/v1/passes", {"template_id": s["template"], "client_ids": [cid], "branch_id": api.branch,
                                      "valid_from": _today(), "payment": "paid", "method": "cash"}).json()["id"]
    for _ in range(6):
        assert api.post("/v1/visits", {"client_id": cid, "lesson_type": "group", "date": _today(),
                                       "status": "attended"}).status_code == 201
    one = api.get(f"/v1/passes/{pass_id}", role="operator").json()
    assert {k: one[k] for k in ("id", "template_id", "client_ids", "lessons_total", "lessons_remaining", "state",
                                "price", "paid")} == {
        "id": pass_id, "template_id": s["template"], "client_ids": [cid], "lessons_total": 10,
        "lessons_remaining": 4, "state": "valid", "price": "120.00", "paid": "120.00"}

    before = api.events()
    offer = api.get(f"/v1/passes/{pass_id}/recalculation").json()
    # 120.00 / 10 × 4 = 48.00: the 30.00 template is not offered, the others are, cheapest first.
    assert offer["actual_value"] == "48.00"
    assert [(t["id"], t["price"], t["difference"]) for t in offer["offered_templates"]] == [
        (s["template"], "120.00", "72.00"), (big, "200.00", "152.00")]
    assert small not in [t["id"] for t in offer["offered_templates"]]
    only = api.get(f"/v1/passes/{pass_id}/recalculation", template_id=big).json()["offered_templates"]
    assert [t["id"] for t in only] == [big]
    assert api.get(f"/v1/passes/{pass_id}/recalculation", template_id=small).json()["offered_templates"] == []
    refund = api.get(f"/v1/passes/{pass_id}/refund", role="director").json()
    # 6 lessons taken × 15.00 = 90.00; 120.00 paid − 90.00 = 30.00 back.
    assert (refund["consumed_value"], refund["refund"]) == ("90.00", "30.00")
    assert api.events() == before  # a preview writes nothing

    done = api.post(f"/v1/passes/{pass_id}/recalculate", {"template_id": big}).json()
    assert (done["actual_value"], done["difference"]) == (offer["actual_value"], offer["offered_templates"][1]["difference"])
    assert api.get(f"/v1/passes/{pass_id}").json()["state"] == "recalculated"
    assert_error(api.get(f"/v1/passes/{pass_id}/recalculation"), 409, "pass_recalculated")
    assert_error(api.get(f"/v1/passes/{pass_id}/refund"), 409, "pass_recalculated")

    new_pass = done["id"]
    preview = api.get(f"/v1/passes/{new_pass}/refund").json()
    refunded = api.post(f"/v1/passes/{new_pass}/refund", {"method": "cash", "comment": "moving"}, role="director").json()
    assert (refunded["consumed_value"], refunded["amount"]) == (preview["consumed_value"], preview["refund"])
    assert_error(api.get(f"/v1/passes/{uuid.uuid4()}"), 404, "pass_not_found")
    assert_error(api.get(f"/v1/passes/{uuid.uuid4()}/refund"), 404, "pass_not_found")
    assert_error(api.get(f"/v1/passes/{pass_id}/recalculation", template_id=str(uuid.uuid4())), 404)


def test_the_payments_report_leaves_cancelled_payments_out_unless_asked(api: Api) -> None:
    """DOMAIN §6.4: a cancelled payment stays in the journal but not in payment reports."""
    second = api.post("/v1/branches", {"name": "Petržalka", "city": "Bratislava"}, role="director").json()["id"]
    cid = api.client()
    paid = [api.post("/v1/payments", {"client_id": cid, "amount": amount, "method": method, "branch_id": branch}).json()["id"]
            for amount, method, branch in (("10.00", "cash", api.branch), ("20.00", "card", api.branch),
                                           ("30.00", "bank", second), ("40.00", "cash", second))]
    assert api.post(f"/v1/transactions/{paid[1]}/cancel", {"reason": "typo"}, role="director").status_code == 200
    report = api.get("/v1/payments", role="accountant").json()
    assert [p["id"] for p in report["items"]] == [paid[0], paid[2], paid[3]]
    assert (report["total"], report["sum"]) == (3, "80.00")
    assert [(p["amount"], p["method"], p["branch_id"], p["status"]) for p in report["items"]] == [
        ("10.00", "cash", api.branch, "posted"), ("30.00", "bank", second, "posted"), ("40.00", "cash", second, "posted")]
    with_cancelled = api.get("/v1/payments", include_cancelled="true").json()
    assert [(p["id"], p["status"]) for p in with_cancelled["items"]][1] == (paid[1], "cancelled")
    assert with_cancelled["sum"] == "100.00"
    assert [p["id"] for p in api.get("/v1/payments", branch_id=second).json()["items"]] == [paid[2], paid[3]]
    assert [p["id"] for p in api.get("/v1/payments", method="cash").json()["items"]] == [paid[0], paid[3]]
    items, total, pages = _walk(api, "/v1/payments", 2, include_cancelled="true")
    assert ([p["id"] for p in items], total, pages) == (paid, 4, 2)
    assert api.get("/v1/payments", to="2000-01-01").json()["items"] == []
    assert api.get("/v1/payments", **{"from": _today(), "to": _today()}).json()["total"] == 3
    assert_error(api.get("/v1/payments", method="crypto"), 422, "invalid_query")


def test_the_journal_pages_and_is_never_cut(api: Api) -> None:
    """API §7: the JSON journal pages with a cursor, every transaction once; the exports
    still hold the whole range."""
    cid = api.client()
    for n in range(7):
        api.post("/v1/payments", {"client_id": cid, "amount": f"{n + 1}.00", "method": "cash", "branch_id": api.branch})
    first = api.get("/v1/ledger/journal", limit="3").json()
    assert (len(first["items"]), first["total"]) == (3, 7)
    assert first["next_cursor"]
    items, total, pages = _walk(api, "/v1/ledger/journal", 3)
    assert (len(items), len({i["id"] for i in items}), total, pages) == (7, 7, 7, 3)
    assert [i["postings"][0]["amount"] for i in items] == [f"{n + 1}.00" for n in range(7)]
    assert api.get("/v1/ledger/journal").json()["total"] == 7
    finance, total, _ = _walk(api, f"/v1/clients/{cid}/finance", 5)
    assert (len(finance), total) == (7, 7)
    csv_lines = api.get("/v1/ledger/journal", format="csv", limit="2").text.strip().splitlines()
    assert len(csv_lines) == 1 + 7 * 2  # the header, two postings per payment
    assert_error(api.get("/v1/ledger/journal", cursor="nonsense"), 422, "invalid_cursor")


def test_client_list_items_carry_true_values(api: Api) -> None:
    """API §7: the list shows the card's values (active, balance, remainders, passes), not
    defaults that look like data, and status=active lists only active clients."""
    s = _school(api)
    owes, paid_up, idle = api.client("Anna"), api.client("Boris"), api.client("Cyril")
    api.post("/v1/passes", {"template_id": s["template"], "client_ids": [owes], "branch_id": api.branch,
                            "valid_from": _today(), "payment": "on_credit"})
    api.post("/v1/registrations", {"client_id": paid_up, "group_id": s["group"]})
    api.post("/v1/payments", {"client_id": paid_up, "amount": "5.00", "method": "cash", "branch_id": api.branch})
    items = {i["id"]: i for i in api.get("/v1/clients").json()["items"]}
    for cid in (owes, paid_up, idle):
        card = api.get(f"/v1/clients/{cid}").json()
        assert {k: items[cid][k] for k in ("active", "balance", "remainders", "passes", "registrations")} == {
            k: card[k] for k in ("active", "balance", "remainders", "passes", "registrations")}
    assert items[owes]["balance"] == {"total": "120.00", "by_city": {"Bratislava": "120.00"}}
    assert (items[owes]["active"], items[owes]["remainders"]) == (True, {"group": 10})
    assert (items[paid_up]["active"], items[paid_up]["balance"]["total"]) == (True, "-5.00")
    assert (items[idle]["active"], items[idle]["balance"]["total"], items[idle]["passes"]) == (False, "0.00", [])
    active = api.get("/v1/clients", status="active").json()["items"]
    assert sorted(i["id"] for i in active) == sorted([owes, paid_up])
    assert all(i["active"] for i in active)
    assert [i["id"] for i in api.get("/v1/clients", status="inactive").json()["items"]] == [idle]


def test_the_card_lists_every_registration_newest_first(api: Api) -> None:
    """API §7 (DOMAIN §3.2): cancelled registrations stay on the card, with their state."""
    s = _school(api)
    cid = api.client()
    other = api.post("/v1/groups", {"course_id": s["course"], "branch_id": api.branch, "name": "St 17:00",
                                    "capacity": 3, "starts_on": _day(-10), "ends_on": _day(90)}).json()["id"]
    first = api.post("/v1/registrations", {"client_id": cid, "group_id": s["group"]}).json()["id"]
    api.post(f"/v1/registrations/{first}/cancel", {"reason": "wrong day"})
    second = api.post("/v1/registrations", {"client_id": cid, "group_id": other}).json()["id"]
    card = api.get(f"/v1/clients/{cid}").json()
    assert card["registrations"] == [{"id": second, "group_id": other, "state": "registered"},
                                     {"id": first, "group_id": s["group"], "state": "cancelled"}]


def test_instants_take_a_day_or_an_instant_on_every_route(api: Api) -> None:
    """API §7: as_of, at, from and to take a day (the tenant's local midnight at its start)
    or an instant with an offset, the same everywhere."""
    cid = api.client()
    api.post("/v1/payments", {"client_id": cid, "amount": "20.00", "method": "cash", "branch_id": api.branch})
    tomorrow = _day(1)
    midnight = datetime.fromisoformat(tomorrow).replace(tzinfo=ZONE).isoformat()
    tb = api.get("/v1/ledger/trial-balance", as_of=tomorrow)
    assert tb.status_code == 200, tb.text
    assert tb.json()["as_of"] == midnight
    assert tb.json() == api.get("/v1/ledger/trial-balance", as_of=midnight).json()
    assert tb.json()["accounts"] != {}
    assert api.get("/v1/ledger/trial-balance", as_of=_today()).json()["accounts"] == {}  # before today's payment
    balance = api.get(f"/v1/clients/{cid}/balance", as_of=tomorrow).json()
    assert (balance["as_of"], balance["total"]) == (midnight, "-20.00")
    assert api.get(f"/v1/clients/{cid}/balance", as_of=_today()).json()["total"] == "0.00"
    active = api.get("/v1/reports/active-clients", at=tomorrow).json()
    assert active == {"at": midnight, "active": 0, "inactive": 1}
    assert api.get("/v1/reports/passes", **{"from": midnight}).status_code == 200
    for path, name in (("/v1/ledger/trial-balance", "as_of"), ("/v1/reports/active-clients", "at"),
                       ("/v1/payments", "from"), ("/v1/ledger/journal", "to")):
        assert_error(api.get(path, **{name: "2026-02-30"}), 422, "invalid_query")
        assert_error(api.get(path, **{name: "2026-02-01T10:00:00"}), 422, "invalid_query")  # no offset


def test_the_xlsx_journal_has_numbers_dates_and_a_frozen_header(api: Api) -> None:
    """API §7: in XLSX amounts are numeric cells and instants date cells (in the tenant's
    time), under a bold header row that stays in view, in columns wide enough to read."""
    import io

    from openpyxl import load_workbook

    cid = api.client()
    api.post("/v1/payments", {"client_id": cid, "amount": "1234.50", "method": "cash", "branch_id": api.branch})
    (tx,) = api.get("/v1/ledger/journal").json()["items"]
    r = api.get("/v1/ledger/journal", format="xlsx", role="accountant")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:3] == ["id", "at", "kind"]
    assert ws.freeze_panes == "A2"
    assert ws.cell(row=1, column=1).font.bold
    assert ws.column_dimensions["A"].width >= 36
    amount, at = header.index("amount"), header.index("at")
    assert sorted(row[amount] for row in rows[1:]) == [-1234.5, 1234.5]
    local = datetime.fromisoformat(tx["at"]).astimezone(ZONE).replace(tzinfo=None)
    assert all(row[at] == local.replace(microsecond=row[at].microsecond) for row in rows[1:])
    assert ws.cell(row=2, column=amount + 1).number_format == "#,##0.00"
    assert ws.cell(row=2, column=at + 1).is_date


def test_the_passes_report_pages(api: Api) -> None:
    """API §7: the passes report is a list like the others, in validity order."""
    s = _school(api)
    sold = []
    for n, start in enumerate((5, 1, 3, 0)):
        cid = api.client(f"Klient {n}")
        sold.append(api.post("/v1/passes", {"template_id": s["template"], "client_ids": [cid], "branch_id": api.branch,
                                            "valid_from": _day(start), "payment": "on_credit"}).json()["id"])
    items, total, pages = _walk(api, "/v1/reports/passes", 3)
    assert (total, pages) == (4, 2)
    assert [p["id"] for p in items] == [sold[3], sold[1], sold[2], sold[0]]
    assert [p["valid_until"] for p in items] == sorted(p["valid_until"] for p in items)


def test_instants_at_the_calendars_edges_are_answered_never_a_500(api: Api) -> None:
    """API §3: bad input is a 4xx, never a 500 — days and instants at the ends of the
    calendar, and cursors that were never given out, on every route of API §7."""
    routes = {"/v1/ledger/trial-balance": ("as_of",), "/v1/reports/active-clients": ("at",),
              "/v1/payments": ("from", "to"), "/v1/ledger/journal": ("from", "to"), "/v1/reports/passes": ("from", "to")}
    for path, names in routes.items():
        for name in names:
            for value in ("0001-01-01", "9999-12-31", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-12:00"):
                r = api.get(path, **{name: value})
                assert r.status_code in (200, 422), (path, name, value, r.text)
    for path in ("/v1/ledger/journal", "/v1/payments", "/v1/branches", "/v1/groups", "/v1/reports/passes",
                 f"/v1/clients/{api.client()}/history"):
        for cursor in ("WyJhIl0", "Wzk5OTk5OTk5OTk5OTk5OTk5OTk5XQ", "WzEuNV0", "W3RydWVd", "WzEsMiwzXQ"):
            r = api.get(path, cursor=cursor)
            assert r.status_code in (200, 422), (path, cursor, r.text)
    # The calendar's last day (2199-12-31, API notes) as a range's end leaves the range open.
    cid = api.client("Eva")
    api.post("/v1/payments", {"client_id": cid, "amount": "1.00", "method": "cash", "branch_id": api.branch})
    assert api.get("/v1/payments", to="2199-12-31").json()["total"] == 1
