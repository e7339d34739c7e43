"""DOMAIN §8.1: each client has an unguessable cabinet link, revocable, showing read-only
their balance, attendance, and passes with the lessons left and their validity."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from classledger.aggregates.client import cabinet_token_hash
from tests.http.support import Api, assert_error

JSON = {"Accept": "application/json"}


def _school(api: Api) -> tuple[str, str]:
    """A client with a pass of 10 group lessons, one of them attended."""
    api.post("/v1/lesson-types", {"code": "group", "name": "Group", "single_visit_price": "15.00"}, role="director")
    tpl = api.post("/v1/pass-templates", {"name": "Group 10", "price": "120.00", "lessons": 10, "validity_days": 30,
                                          "lesson_type": "group"}, role="director").json()["id"]
    cid = api.client("Katka <b>Malá</b>")
    today = datetime.now(ZoneInfo("Europe/Bratislava")).date().isoformat()  # the tenant's day
    sold = api.post("/v1/passes", {"template_id": tpl, "client_ids": [cid], "branch_id": api.branch,
                                   "valid_from": today, "payment": "on_credit"})
    assert sold.status_code == 201, sold.text
    visit = api.post("/v1/visits", {"client_id": cid, "lesson_type": "group", "date": today, "status": "attended"})
    assert visit.status_code == 201, visit.text
    return cid, today


def test_a_link_opens_the_clients_cabinet_without_a_key(api: Api) -> None:
    cid, today = _school(api)
    issued = api.post(f"/v1/clients/{cid}/cabinet-link", {})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    token = body["token"]
    assert len(token) >= 40  # 32 random bytes
    assert body["url"] == f"/cabinet/{token}"
    view = api.http.get(body["url"], headers=JSON)
    assert view.status_code == 200, view.text
    v = view.json()
    assert v["name"] == "Katka <b>Malá</b>"
    assert v["balance"]["total"] == "120.00"  # the pass was sold on credit: owed to the school
    assert v["remainders"] == {"group": 9}
    assert [(p["lessons_total"], p["lessons_remaining"], p["valid_from"], p["state"]) for p in v["passes"]] == [
        (10, 9, today, "valid")]
    assert v["attendance"] == [{"date": today, "lesson_type": "group", "status": "attended", "cancelled": False}]


def test_a_browser_gets_an_escaped_page(api: Api) -> None:
    cid, _ = _school(api)
    url = api.post(f"/v1/clients/{cid}/cabinet-link", {}).json()["url"]
    page = api.http.get(url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Katka &lt;b&gt;Malá&lt;/b&gt;" in page.text
    assert "<b>" not in page.text
    assert "120.00" in page.text


def test_a_new_link_replaces_the_old_and_revoking_ends_it(api: Api) -> None:
    cid, _ = _school(api)
    first = api.post(f"/v1/clients/{cid}/cabinet-link", {}).json()["url"]
    second = api.post(f"/v1/clients/{cid}/cabinet-link", {}).json()["url"]
    assert first != second
    assert_error(api.http.get(first, headers=JSON), 404, "cabinet_not_found")
    assert api.http.get(second, headers=JSON).status_code == 200
    assert api.send("DELETE", f"/v1/clients/{cid}/cabinet-link").status_code == 200
    assert_error(api.http.get(second, headers=JSON), 404, "cabinet_not_found")
    before = api.events()
    assert_error(api.send("DELETE", f"/v1/clients/{cid}/cabinet-link"), 404, "no_cabinet_link")
    assert api.events() == before


def test_the_token_itself_is_never_in_the_history(api: Api) -> None:
    cid = api.client()
    token = api.post(f"/v1/clients/{cid}/cabinet-link", {}).json()["token"]
    history = api.get(f"/v1/clients/{cid}/history").text
    assert token not in history
    assert cabinet_token_hash(token) in history  # what was issued is auditable, not usable


def test_unknown_links_deleted_and_archived_clients(api: Api) -> None:
    assert_error(api.http.get("/cabinet/not-a-real-token", headers=JSON), 404, "cabinet_not_found")
    cid = api.client()
    url = api.post(f"/v1/clients/{cid}/cabinet-link", {}).json()["url"]
    assert api.post(f"/v1/clients/{cid}/archive", {"reason": "moved away"}).status_code == 200
    assert api.http.get(url, headers=JSON).status_code == 200  # an archived client still sees their balance
    assert_error(api.post(f"/v1/clients/{cid}/cabinet-link", {}), 409, "client_archived")
    assert api.post(f"/v1/clients/{cid}/restore", {}).status_code == 200
    assert api.post(f"/v1/clients/{cid}/delete", {"reason": "duplicate"}).status_code == 200
    assert_error(api.http.get(url, headers=JSON), 404, "cabinet_not_found")
