"""The client's whole history (API §7, DOMAIN §9.2) through the real app, on both
databases: everything of the client and of what is theirs, oldest first, paged."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.http.support import Api, assert_error

ZONE = ZoneInfo("Europe/Bratislava")


def _day(offset: int = 0) -> str:
    return (datetime.now(ZONE).date() + timedelta(days=offset)).isoformat()


def _history(api: Api, cid: str, limit: int = 7) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = api.get(f"/v1/clients/{cid}/history", limit=str(limit), **({"cursor": cursor} if cursor else {})).json()
        items += body["items"]
        assert len(body["items"]) <= limit
        cursor = body["next_cursor"]
        if cursor is None:
            assert body["total"] == len(items)
            return items


def test_the_history_holds_everything_of_the_client_oldest_first(api: Api) -> None:
    api.post("/v1/lesson-types", {"code": "group", "name": "Skupina", "single_visit_price": "15.00"}, role="director")
    course = api.post("/v1/courses", {"name": "Balet", "lesson_type": "group"}).json()["id"]
    groups = [api.post("/v1/groups", {"course_id": course, "branch_id": api.branch, "name": n, "capacity": 5,
                                      "starts_on": _day(-10), "ends_on": _day(90)}).json()["id"] for n in ("A", "B")]
    template = api.post("/v1/pass-templates", {"name": "Skupina 10", "price": "120.00", "lessons": 10,
                                               "validity_days": 30, "lesson_type": "group"}, role="director").json()["id"]
    cid, sibling, stranger = api.client("Eva"), api.client("Ema"), api.client("Iné dieťa")

    reg = api.post("/v1/registrations", {"client_id": cid, "group_id": groups[0]}).json()["id"]
    assert api.post(f"/v1/registrations/{reg}/transfer", {"group_id": groups[1]}).status_code == 200
    credit = api.post(f"/v1/registrations/{reg}/credits", {"kind": "makeup", "expires_on": _day(20)}).json()["id"]
    assert api.post(f"/v1/credits/{credit}/use", {}).status_code == 200
    assert api.post(f"/v1/clients/{cid}/discount", {"kind": "percent", "value": "10", "reason": "family"},
                    role="director").status_code == 200
    sold = api.post("/v1/passes", {"template_id": template, "client_ids": [cid], "branch_id": api.branch,
                                   "valid_from": _day(), "payment": "on_credit"}).json()
    visit = api.post("/v1/visits", {"client_id": cid, "lesson_type": "group", "date": _day(), "status": "attended"}).json()
    pay = api.post("/v1/payments", {"client_id": cid, "amount": "50.00", "method": "cash", "branch_id": api.branch}).json()
    assert api.post(f"/v1/transactions/{pay['id']}/cancel", {"reason": "typo"}, role="director").status_code == 200
    correction = api.post("/v1/corrections", {"client_id": cid, "branch_id": api.branch, "amount": "-8.00",
                                              "reason": "goodwill"}, role="director").json()
    write_off = api.post(f"/v1/clients/{cid}/write-off", {"city": "Bratislava", "amount": "1.00", "reason": "rounding"},
                         role="director")
    assert write_off.status_code == 200, write_off.text
    refund = api.post(f"/v1/passes/{sold['id']}/refund", {"method": "cash", "comment": "left"}, role="director")
    assert refund.status_code == 200, refund.text
    assert api.post(f"/v1/clients/{cid}/cabinet-link", {}).status_code == 201
    assert api.post(f"/v1/clients/{cid}/family", {"member_id": sibling}).status_code == 200
    # Someone else's doings stay out.
    api.post("/v1/payments", {"client_id": stranger, "amount": "9.00", "method": "cash", "branch_id": api.branch})

    items = _history(api, cid)
    types = [i["type"] for i in items]
    for kind in ("ClientRegistered", "RegistrationCreated", "RegistrationTransferred", "CreditGranted", "CreditUsed",
                 "ClientDiscountGiven", "PassSold", "VisitRecorded", "PassLessonsUsed", "TransactionPosted",
                 "TransactionCancelled", "PassEnded", "CabinetLinkIssued", "FamilyMemberLinked"):
        assert kind in types, (kind, types)
    by_aggregate = {i["aggregate_id"] for i in items}
    assert {reg, credit, sold["id"], visit["id"], pay["id"], correction["id"], *refund.json()["transaction_ids"]} <= by_aggregate
    posted = [i["data"]["transaction"]["kind"] for i in items if i["type"] == "TransactionPosted"]
    for kind in ("sale", "payment", "reversal", "correction", "write_off", "refund"):
        assert kind in posted, (kind, posted)
    assert stranger not in str([i["data"] for i in items])
    assert types[0] == "ClientRegistered"
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)  # oldest first
    assert {"type", "at", "actor", "reason", "aggregate_id", "version", "data"} <= set(items[0])
    # One page holds the same as many.
    assert _history(api, cid, limit=1000) == items
    # The sibling's history has the family link from its side, not the client's pass.
    sibling_types = [i["type"] for i in _history(api, sibling)]
    assert "FamilyParentLinked" in sibling_types
    assert "PassSold" not in sibling_types
    assert_error(api.get(f"/v1/clients/{uuid.uuid4()}/history"), 404, "client_not_found")
    assert_error(api.get(f"/v1/clients/{cid}/history", cursor="x"), 422, "invalid_cursor")
    assert_error(Api(api.system, name="Iná").get(f"/v1/clients/{cid}/history"), 404, "client_not_found")


def test_a_shared_pass_and_a_lesson_transfer_show_in_both_histories(api: Api) -> None:
    """DOMAIN §4.1 (multi-client) and §4.10: what two clients share is in both histories."""
    api.post("/v1/lesson-types", {"code": "group", "name": "Skupina", "single_visit_price": "15.00"}, role="director")
    template = api.post("/v1/pass-templates", {"name": "Súrodenci", "price": "200.00", "lessons": 20, "validity_days": 30,
                                               "lesson_type": "group", "multi_client": True}, role="director").json()["id"]
    a, b, c = api.client("Anna"), api.client("Boris"), api.client("Cyril")
    shared = api.post("/v1/passes", {"template_id": template, "client_ids": [a, b], "branch_id": api.branch,
                                     "valid_from": _day(), "payment": "on_credit"}).json()["id"]
    moved = api.post("/v1/lesson-transfers", {"from_client_id": a, "to_client_id": c, "lesson_type": "group", "count": 2},
                     role="regional_director")
    assert moved.status_code == 201, moved.text
    for cid in (a, b):
        assert shared in {i["aggregate_id"] for i in _history(api, cid)}
    c_types = [i["type"] for i in _history(api, c)]
    assert "PassSold" in c_types
    a_types = [i["type"] for i in _history(api, a)]
    assert "LessonsTransferredOut" in a_types
