"""Clients over HTTP (API §3, DOMAIN §2): the write routes, the card, the list, the history."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from classledger.application.principal import Principal
from classledger.application.tenants import hash_key
from classledger.projections.keys import StaffKeys
from classledger.system import System
from tests.http.support import Api, assert_error

CARD_FIELDS = {"id", "name", "birth_date", "phones", "email", "card_number", "branch_id", "tags", "custom_fields",
               "family", "archived", "deleted", "frozen", "active", "balance", "remainders", "passes", "registrations"}


def test_client_lifecycle(api: Api) -> None:
    r = api.post("/v1/clients", {"name": "Ľubica Šťastná", "branch_id": api.branch, "phones": ["+421 905 123 456"]})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    assert r.json() == {"ok": True, "id": cid, "version": 1}
    card = api.get(f"/v1/clients/{cid}").json()
    assert set(card) >= CARD_FIELDS
    assert (card["name"], card["phones"], card["active"], card["archived"]) == ("Ľubica Šťastná", ["+421 905 123 456"], False, False)
    assert card["balance"] == {"total": "0.00", "by_city": {}}
    assert card["family"] == {"parent_id": None, "member_ids": []}

    patched = api.send("PATCH", f"/v1/clients/{cid}", {"email": "l@example.sk", "birth_date": "2015-04-01"})
    assert patched.status_code == 200, patched.text
    assert api.get(f"/v1/clients/{cid}").json()["email"] == "l@example.sk"
    assert api.post(f"/v1/clients/{cid}/tags", {"tag": "vip"}).status_code == 200
    assert api.get("/v1/clients", q="lubica", tag="vip").json()["total"] == 1  # accents and case folded
    assert api.get("/v1/clients", q="905123").json()["total"] == 1  # phone digits, any formatting
    assert api.send("DELETE", f"/v1/clients/{cid}/tags/vip").status_code == 200
    assert api.get("/v1/clients", tag="vip").json()["total"] == 0

    assert_error(api.post(f"/v1/clients/{cid}/archive", {}), 422, "invalid_args")  # a reason is mandatory (§2.5)
    assert api.post(f"/v1/clients/{cid}/archive", {"reason": "moved"}).status_code == 200
    assert api.get("/v1/clients").json()["total"] == 0
    assert api.get("/v1/clients", include="archived").json()["items"][0]["archived"] is True
    assert api.get(f"/v1/clients/{cid}").json()["archived"] is True  # still readable
    assert api.post(f"/v1/clients/{cid}/restore", {}).status_code == 200
    assert api.get("/v1/clients").json()["total"] == 1

    history = api.get(f"/v1/clients/{cid}/history").json()["items"]
    assert [h["type"] for h in history] == ["ClientRegistered", "ClientDetailsChanged", "ClientTagged", "ClientUntagged",
                                            "ClientArchived", "ClientRestored"]
    assert [h["version"] for h in history] == [1, 2, 3, 4, 5, 6]
    assert {h["aggregate_id"] for h in history} == {cid}
    assert history[4]["reason"] == "moved"
    assert history[0]["actor"] == "admin person"
    assert set(history[0]) == {"type", "at", "actor", "reason", "aggregate_id", "version", "data"}


def test_a_tag_with_a_slash_and_spaces_comes_off_by_its_route(api: Api) -> None:
    cid = api.client()
    api.post(f"/v1/clients/{cid}/tags", {"tag": "kurz 2026/27"})
    assert api.get(f"/v1/clients/{cid}").json()["tags"] == ["kurz 2026/27"]
    assert api.send("DELETE", f"/v1/clients/{cid}/tags/kurz 2026/27").status_code == 200
    assert api.get(f"/v1/clients/{cid}").json()["tags"] == []


def test_family_link_and_unlink(api: Api) -> None:
    parent, child = api.client("Mama"), api.client("Dieťa")
    r = api.post(f"/v1/clients/{parent}/family", {"member_id": child})
    assert r.status_code == 200, r.text
    assert r.json()["member_id"] == child
    assert api.get(f"/v1/clients/{parent}").json()["family"] == {"parent_id": None, "member_ids": [child]}
    assert api.get(f"/v1/clients/{child}").json()["family"]["parent_id"] == parent
    assert api.send("DELETE", f"/v1/clients/{parent}/family/{child}").status_code == 200
    assert api.get(f"/v1/clients/{child}").json()["family"]["parent_id"] is None
    assert api.get(f"/v1/clients/{child}").json()["deleted"] is False  # unlinking keeps both (§2.3)


def test_freeze_and_delete(api: Api) -> None:
    cid = api.client()
    today = datetime.now(ZoneInfo("Europe/Bratislava")).date()  # "frozen" is judged on the tenant's day
    r = api.post(f"/v1/clients/{cid}/freeze", {"from": (today - timedelta(days=1)).isoformat(),
                                               "to": (today + timedelta(days=3)).isoformat(), "reason": "illness"})
    assert r.status_code == 200, r.text
    assert api.get(f"/v1/clients/{cid}").json()["frozen"] is True
    assert api.post(f"/v1/clients/{cid}/delete", {"reason": "duplicate"}).status_code == 200
    assert api.get("/v1/clients").json()["total"] == 0
    assert api.get("/v1/clients", include="archived").json()["total"] == 0
    deleted = api.get("/v1/clients", role="accountant", include="deleted").json()["items"]
    assert [(c["id"], c["deleted"]) for c in deleted] == [(cid, True)]
    assert api.get(f"/v1/clients/{cid}").json()["deleted"] is True


def test_the_list_pages_with_a_cursor_and_filters(api: Api) -> None:
    other_branch = api.post("/v1/branches", {"name": "Petržalka", "city": "Bratislava"}, role="director").json()["id"]
    names = [f"Klient {i:02d}" for i in range(7)]
    ids = {n: api.client(n, branch_id=other_branch if i % 2 else api.branch) for i, n in enumerate(names)}
    seen: list[str] = []
    cursor = ""
    while True:
        page = api.get("/v1/clients", limit="3", cursor=cursor).json()
        assert page["total"] == 7
        seen += [c["name"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert seen == names
    in_branch = api.get("/v1/clients", branch_id=other_branch).json()["items"]
    assert [c["id"] for c in in_branch] == [ids[n] for i, n in enumerate(names) if i % 2]
    assert api.get("/v1/clients", status="active").json()["total"] == 0
    assert api.get("/v1/clients", status="inactive").json()["total"] == 7
    assert api.get("/v1/clients", include="archived,deleted", q="klient 0").json()["total"] == 7


def test_unknown_clients_are_404(api: Api) -> None:
    nobody = str(uuid.uuid4())
    for path in (f"/v1/clients/{nobody}", f"/v1/clients/{nobody}/history", f"/v1/clients/{nobody}/balance"):
        assert_error(api.get(path), 404, "client_not_found")
    assert_error(api.send("PATCH", f"/v1/clients/{nobody}", {"name": "X"}), 404, "client_not_found")
    assert_error(api.post(f"/v1/clients/{nobody}/archive", {"reason": "x"}), 404, "client_not_found")


def test_a_write_of_another_process_is_read_at_once(api: Api, database_url: str) -> None:
    """Reads catch the projections up first: an import (the CLI) writes from another process."""
    cid = api.client("Pred importom")
    row = api.system.view(StaffKeys).lookup(hash_key(api.keys["admin"]))
    assert row is not None
    who = Principal(row.tenant_id, row.staff_id, row.staff_name, row.role, row.city)
    other = System.open(database_url)
    try:
        # The other process's pipeline alone: its events are stored, nobody projected them.
        other.app.execute(who, "tag_client", {"client_id": cid, "tag": "imported"}, at=datetime.now(UTC))
    finally:
        other.close()
    assert api.get("/v1/clients", tag="imported").json()["total"] == 1
    assert api.get(f"/v1/clients/{cid}").json()["tags"] == ["imported"]
