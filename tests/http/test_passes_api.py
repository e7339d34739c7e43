"""Passes and visits over HTTP (API §2–3): the routes, the card's remainders and passes, the report."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.http.support import Api, assert_error


def _today() -> str:
    return datetime.now(ZoneInfo("Europe/Bratislava")).date().isoformat()


def test_sell_visit_card_report_and_refusals(api: Api) -> None:
    r = api.post("/v1/lesson-types", {"code": "group", "name": "Group", "single_visit_price": "15.00"}, role="director")
    assert r.status_code in (200, 201), r.text
    tpl = api.post("/v1/pass-templates", {"name": "Group 10", "price": "120.00", "lessons": 10, "validity_days": 30,
                                          "lesson_type": "group"}, role="director").json()["id"]
    cid = api.client()
    before = api.events()
    assert_error(api.post("/v1/passes", {"template_id": tpl, "client_ids": [cid], "branch_id": api.branch,
                                         "valid_from": _today(), "payment": "paid"}), 422, "method_required")
    assert_error(api.post("/v1/passes", {"template_id": tpl, "client_ids": [cid], "branch_id": api.branch,
                                         "valid_from": _today(), "payment": "paid", "method": "cash",
                                         "price": "1.00"}), 422, "not_freestyle")
    assert api.events() == before
    sold = api.post("/v1/passes", {"template_id": tpl, "client_ids": [cid], "branch_id": api.branch,
                                   "valid_from": _today(), "payment": "paid", "method": "card"})
    assert sold.status_code == 201, sold.text
    pass_id = sold.json()["id"]
    assert len(sold.json()["transaction_ids"]) == 2
    visit = api.post("/v1/visits", {"client_id": cid, "lesson_type": "group", "date": _today(), "status": "attended"})
    assert visit.status_code == 201, visit.text
    assert visit.json()["pass_id"] == pass_id
    card = api.get(f"/v1/clients/{cid}").json()
    assert card["remainders"] == {"group": 9}
    assert card["active"] is True  # DOMAIN §5.1 (c)
    (p,) = card["passes"]
    assert {k: p[k] for k in ("id", "template_id", "lesson_type", "lessons_total", "lessons_remaining", "state")} == {
        "id": pass_id, "template_id": tpl, "lesson_type": "group", "lessons_total": 10, "lessons_remaining": 9,
        "state": "valid"}
    report = api.get("/v1/reports/passes", **{"from": _today(), "include_expired": "true"}).json()["items"]
    assert [x["id"] for x in report] == [pass_id]
    cancel = api.post(f"/v1/visits/{visit.json()['id']}/cancel", {"reason": "mistake"})
    assert cancel.status_code == 200, cancel.text
    assert_error(api.post(f"/v1/visits/{visit.json()['id']}/cancel", {"reason": "again"}), 409, "visit_cancelled")
    assert_error(api.post(f"/v1/passes/{pass_id}/refund", {"method": "cash", "comment": "x"}), 403, "forbidden_role")
    refund = api.post(f"/v1/passes/{pass_id}/refund", {"method": "cash", "comment": "left"}, role="director")
    assert refund.status_code == 200, refund.text
    assert refund.json()["amount"] == "120.00"
    assert_error(api.post(f"/v1/passes/{pass_id}/refund", {"method": "cash", "comment": "x"}, role="director"),
                 409, "pass_refunded")
    assert_error(api.post(f"/v1/passes/{uuid.uuid4()}/extend", {"valid_until": _today()}), 404, "pass_not_found")
    until = (datetime.now(ZoneInfo("Europe/Bratislava")).date() + timedelta(days=60)).isoformat()
    assert_error(api.post(f"/v1/passes/{pass_id}/extend", {"valid_until": until}), 409, "pass_refunded")
    other = api.client("Kamil")
    assert_error(api.post("/v1/lesson-transfers", {"from_client_id": cid, "to_client_id": other, "lesson_type": "group",
                                                   "count": 1}, role="director"), 403)
    assert_error(api.post("/v1/lesson-transfers", {"from_client_id": cid, "to_client_id": other, "lesson_type": "group",
                                                   "count": 1}, role="regional_director"), 409, "not_enough_lessons")
