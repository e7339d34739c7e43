"""Bearer keys (API §3): the key decides tenant, staff and role; tenants never meet."""

from __future__ import annotations

from classledger.application.tenants import hash_key, system_principal
from classledger.bootstrap import application
from classledger.projections.keys import StaffKeys
from classledger.store.database import Store
from tests.http.support import T0, Api, assert_error


def test_every_v1_route_needs_a_valid_key(api: Api) -> None:
    for headers in ({}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "},
                    {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": f"Bearer {api.keys['admin']} extra"},
                    {"Authorization": "Bearer nope"}, {"Authorization": f"Bearer {api.keys['admin']}x"}):
        for method, path in (("GET", "/v1/clients"), ("POST", "/v1/clients"), ("POST", "/v1/commands"),
                             ("GET", "/v1/reports/passes"), ("POST", "/v1/passes")):
            r = api.http.request(method, path, json={}, headers=headers)
            assert_error(r, 401, "unauthenticated")
            assert r.headers["www-authenticate"].startswith("Bearer")


def test_the_scheme_is_case_insensitive_and_a_good_key_reads(api: Api) -> None:
    ok = api.http.get("/v1/clients", headers={"Authorization": f"bearer {api.keys['admin']}"})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"items": [], "total": 0, "next_cursor": None}


def test_every_role_reads(api: Api) -> None:
    cid = api.client()
    for role in api.keys:
        assert api.get(f"/v1/clients/{cid}", role=role).status_code == 200, role
        assert api.get("/v1/clients", role=role).json()["total"] == 1, role


def test_roles_are_refused_with_403_and_nothing_is_written(api: Api) -> None:
    cid = api.client()
    before = api.events()
    # DOMAIN §1.4: accountants and operators never write; branches are a director's.
    for role in ("accountant", "operator"):
        assert_error(api.post("/v1/clients", {"name": "X", "branch_id": api.branch}, role=role), 403, "forbidden_role")
        assert_error(api.post(f"/v1/clients/{cid}/tags", {"tag": "x"}, role=role), 403, "forbidden_role")
    assert_error(api.post("/v1/branches", {"name": "X", "city": "Y"}, role="admin"), 403, "forbidden_role")
    assert_error(api.post("/v1/commands", {"command": "add_branch", "args": {"name": "X", "city": "Y"}}), 403, "forbidden_role")
    assert api.events() == before
    assert api.post("/v1/branches", {"name": "X", "city": "Y"}, role="regional_director").status_code == 201


def test_a_key_issued_a_moment_ago_by_another_process_is_accepted(api: Api, database_url: str) -> None:
    # Another process saves the key's event without projecting it (a bare application: a
    # System would apply its projections inside the same write).
    store = Store.open(database_url)
    try:
        key = application(store).execute(system_principal(api.tenant_id), "issue_key", {"role": "admin", "staff": "New"}, at=T0)["key"]
    finally:
        store.close()
    assert api.system.view(StaffKeys).lookup(hash_key(key)) is None
    r = api.http.get("/v1/clients", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text


def test_one_tenant_never_sees_or_touches_another(api: Api) -> None:
    other = Api(api.system, name="Iná škola")
    theirs = other.client("Cudzí Klient", tags=["vip"])
    mine = api.client("Môj Klient")
    assert [c["id"] for c in api.get("/v1/clients").json()["items"]] == [mine]
    assert api.get("/v1/clients", q="Cudz").json()["total"] == 0
    assert api.get("/v1/clients", tag="vip").json()["total"] == 0
    for path in (f"/v1/clients/{theirs}", f"/v1/clients/{theirs}/history", f"/v1/clients/{theirs}/balance",
                 f"/v1/clients/{theirs}/finance"):
        assert_error(api.get(path), 404, "client_not_found")
    before = other.events()
    assert_error(api.post(f"/v1/clients/{theirs}/tags", {"tag": "x"}), 404, "client_not_found")
    assert_error(api.send("PATCH", f"/v1/clients/{theirs}", {"name": "Hacked"}), 404, "client_not_found")
    assert_error(api.post(f"/v1/clients/{mine}/family", {"member_id": theirs}), 404, "client_not_found")
    assert_error(api.post("/v1/clients", {"name": "X", "branch_id": other.branch}), 404, "branch_not_found")
    assert other.events() == before
    assert other.get(f"/v1/clients/{theirs}").json()["name"] == "Cudzí Klient"
