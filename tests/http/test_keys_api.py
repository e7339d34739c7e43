"""Staff keys (DOMAIN §1.4): a director issues, lists and revokes them; a revoked key
opens nothing from that moment, in every process. A list never shows a key or its hash."""

from __future__ import annotations

import hmac

import orjson
import pytest

from classledger import cli
from classledger.application.tenants import hash_key, system_principal
from classledger.bootstrap import application
from classledger.projections.keys import StaffKeys
from classledger.store.database import Store
from tests.http.support import T0, Api, assert_error

FIELDS = {"id", "staff_id", "staff", "role", "city", "issued_at", "revoked", "revoked_at"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def keys(api: Api, role: str = "director", **params: str) -> list[dict]:
    r = api.get("/v1/keys", role=role, **params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_a_director_lists_the_keys_without_any_secret(api: Api) -> None:
    items = keys(api)
    assert [k["role"] for k in items] == ["admin", "director", "accountant", "operator"]  # not the regional director's
    assert all(set(k) == FIELDS for k in items)
    assert all(k["revoked"] is False and k["revoked_at"] is None for k in items)
    assert {k["staff"] for k in items} >= {"admin person", "director person"}
    assert items[0]["issued_at"] == T0.isoformat()
    text = api.get("/v1/keys", role="director").text
    for key in api.keys.values():
        assert key not in text
        assert hash_key(key) not in text
    # A regional director sees every key; below a director, none.
    assert len(keys(api, "regional_director")) == 5
    for role in ("admin", "accountant", "operator"):
        assert_error(api.get("/v1/keys", role=role), 403, "forbidden_role")


def test_the_list_pages(api: Api) -> None:
    first = api.get("/v1/keys", role="regional_director", limit="2").json()
    assert (len(first["items"]), first["total"]) == (2, 5)
    second = api.get("/v1/keys", role="regional_director", limit="2", cursor=first["next_cursor"]).json()
    third = api.get("/v1/keys", role="regional_director", limit="2", cursor=second["next_cursor"]).json()
    assert third["next_cursor"] is None
    ids = [k["id"] for page in (first, second, third) for k in page["items"]]
    assert ids == [k["id"] for k in keys(api, "regional_director")]
    assert_error(api.get("/v1/keys", role="director", cursor="nonsense"), 422, "invalid_cursor")


def test_a_director_issues_keys_up_to_their_own_role(api: Api) -> None:
    made = api.post("/v1/keys", {"role": "admin", "staff": "Ján Novák"}, role="director")
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["key"].startswith("clk_")
    assert api.http.get("/v1/clients", headers=bearer(body["key"])).status_code == 200
    assert body["key_id"] in [k["id"] for k in keys(api)]
    before = api.events()
    assert_error(api.post("/v1/keys", {"role": "regional_director", "staff": "X"}, role="director"), 403,
                 "role_above_yours")
    assert_error(api.post("/v1/keys", {"role": "admin", "staff": "X"}, role="admin"), 403, "forbidden_role")
    assert api.events() == before
    assert api.post("/v1/keys", {"role": "regional_director", "staff": "R"}, role="regional_director").status_code == 201


def test_a_revoked_key_is_refused_at_once_and_the_holder_keeps_the_others(api: Api) -> None:
    second = api.post("/v1/keys", {"role": "admin", "staff": "admin person"}, role="director").json()
    admin_key_id = next(k["id"] for k in keys(api) if k["role"] == "admin" and k["id"] != second["key_id"])
    r = api.post(f"/v1/keys/{admin_key_id}/revoke", {"reason": "phone lost"}, role="director")
    assert r.status_code == 200, r.text
    assert r.json()["revoked"] is True
    assert_error(api.get("/v1/clients", role="admin"), 401, "unauthenticated")
    assert api.http.get("/v1/clients", headers=bearer(second["key"])).status_code == 200  # the same person's other key
    listed = next(k for k in keys(api) if k["id"] == admin_key_id)
    assert listed["revoked"] is True
    assert listed["revoked_at"] is not None
    # Again: nothing more happens.
    before = api.events()
    assert api.post(f"/v1/keys/{admin_key_id}/revoke", {}, role="director").status_code == 200
    assert api.events() == before


def test_who_revokes_what(api: Api) -> None:
    ids = {k["role"]: k["id"] for k in keys(api, "regional_director")}
    before = api.events()
    assert_error(api.post(f"/v1/keys/{ids['regional_director']}/revoke", {}, role="director"), 403, "role_above_yours")
    assert_error(api.post(f"/v1/keys/{ids['operator']}/revoke", {}, role="admin"), 403, "forbidden_role")
    assert_error(api.post("/v1/keys/00000000-0000-0000-0000-000000000001/revoke", {}, role="director"), 404,
                 "key_not_found")
    other = Api(api.system, name="Iná škola")
    theirs = keys(other)[0]["id"]
    assert_error(api.post(f"/v1/keys/{theirs}/revoke", {}, role="director"), 404, "key_not_found")
    assert api.events() == before


def test_a_city_bound_director_manages_the_keys_of_their_city(api: Api) -> None:
    api.post("/v1/branches", {"name": "Košice", "city": "Košice"}, role="director")
    sp = system_principal(api.tenant_id)
    local = api.system.execute(sp, "issue_key", {"role": "director", "staff": "Local", "city": "Košice"}, at=T0)["key"]
    made = api.http.post("/v1/keys", json={"role": "admin", "staff": "Desk"}, headers=bearer(local))
    assert made.status_code == 201, made.text
    seen = api.http.get("/v1/keys", headers=bearer(local)).json()["items"]
    assert {(k["staff"], k["city"]) for k in seen} == {("Local", "Košice"), ("Desk", "Košice")}
    unbound = next(k["id"] for k in keys(api) if k["role"] == "admin")
    assert_error(api.http.post(f"/v1/keys/{unbound}/revoke", json={}, headers=bearer(local)), 403, "other_city")
    assert_error(api.http.post("/v1/keys", json={"role": "admin", "staff": "X", "city": "Bratislava"},
                               headers=bearer(local)), 403, "other_city")


def test_a_key_revoked_a_moment_ago_by_another_process_is_refused(api: Api, database_url: str) -> None:
    """The other process saves the revocation without projecting it: this process's read
    model still holds the key as valid, and the key is refused all the same."""
    assert api.get("/v1/clients", role="operator").status_code == 200
    operator = next(k["id"] for k in keys(api) if k["role"] == "operator")
    store = Store.open(database_url)
    try:
        application(store).execute(system_principal(api.tenant_id), "revoke_key", {"key_id": operator}, at=T0)
    finally:
        store.close()
    assert api.system.view(StaffKeys).lookup(hash_key(api.keys["operator"])) is not None
    assert_error(api.get("/v1/clients", role="operator"), 401, "unauthenticated")


def test_the_command_line_lists_and_revokes(
    api: Api, database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    capsys.readouterr()
    cli.main(["key", "list", "--tenant", str(api.tenant_id), "--json"])
    listed = orjson.loads(capsys.readouterr().out)["items"]
    assert len(listed) == 5
    assert all(set(k) == FIELDS for k in listed)
    accountant = next(k for k in listed if k["role"] == "accountant")
    cli.main(["key", "revoke", "--tenant", str(api.tenant_id), accountant["id"], "--reason", "left", "--json"])
    assert orjson.loads(capsys.readouterr().out) == {"key_id": accountant["id"], "staff_id": accountant["staff_id"],
                                                     "revoked": True}
    assert_error(api.get("/v1/clients", role="accountant"), 401, "unauthenticated")
    with pytest.raises(SystemExit):
        cli.main(["key", "revoke", "--tenant", str(api.tenant_id), "00000000-0000-0000-0000-000000000001"])
    assert "key_not_found" in capsys.readouterr().err


def test_a_presented_key_is_compared_in_constant_time(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert api.get("/v1/clients", role="operator").status_code == 200
    assert (hash_key(api.keys["operator"]), hash_key(api.keys["operator"])) in compared
