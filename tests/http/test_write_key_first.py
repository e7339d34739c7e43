"""A write's key is judged before its request: whatever else is wrong with a request, a
key that does not hold is a 401 (and counts against the address), and a key revoked in
another process after this one used it is refused at once, on the write routes too."""

from __future__ import annotations

from classledger.application.tenants import system_principal
from classledger.bootstrap import application
from classledger.store.database import Store
from tests.http.support import LIMIT, T0, Api, assert_error

JSON = {"Content-Type": "application/json"}
BAD = {"Authorization": "Bearer not-a-key", **JSON}


def test_a_wrong_key_is_401_whatever_the_body(api: Api) -> None:  # API §3
    before = api.events()
    big = b'{"name": "' + b"x" * LIMIT + b'"}'
    for path, content, extra in [
        ("/v1/clients", b"{not json", {}),
        ("/v1/clients", b"[1, 2]", {}),
        ("/v1/clients", big, {}),
        ("/v1/payments", b'{"amount": "x"}', {"Idempotency-Key": "x" * 201}),
        ("/v1/commands", b'{"command": "no_such_command"}', {}),
        ("/v1/commands", b"{not json", {}),
    ]:
        r = api.http.post(path, content=content, headers={**BAD, **extra})
        assert_error(r, 401, "unauthenticated")
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert api.events() == before


def test_a_good_key_then_meets_the_request_s_faults(api: Api) -> None:  # API §3
    assert_error(api.raw("/v1/clients", b"{not json", **JSON), 400)
    assert_error(api.raw("/v1/clients", b"[1, 2]", **JSON), 422, "body_not_object")
    assert_error(api.raw("/v1/commands", b'{"command": "no_such_command"}', **JSON), 404, "unknown_command")


def test_a_key_revoked_elsewhere_after_it_wrote_is_refused_at_once(api: Api, database_url: str) -> None:
    client = api.client()
    pay = {"client_id": client, "amount": "10.00", "method": "cash", "branch_id": api.branch}
    assert api.post("/v1/payments", pay, role="director").status_code == 201
    listed = api.get("/v1/keys", role="director")
    assert listed.status_code == 200, listed.text
    director = next(k["id"] for k in listed.json()["items"] if k["role"] == "director")
    store = Store.open(database_url)
    try:
        application(store).execute(system_principal(api.tenant_id), "revoke_key", {"key_id": director}, at=T0)
    finally:
        store.close()
    before = api.events()
    assert_error(api.post("/v1/payments", pay, role="director"), 401, "unauthenticated")
    assert api.events() == before
    assert api.post("/v1/payments", pay).status_code == 201
