"""Failed authentication is throttled per client address: after a burst of wrong secrets
(staff keys, cabinet logins, cabinet links, invitations) an address gets 429 with
Retry-After, whatever it sends, until its failures leave the window; other addresses
are not affected."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from classledger.http.throttle import FAILURES, WINDOW, AuthThrottle
from tests.http.support import Api, assert_error

WRONG = {"Authorization": "Bearer clk_not-a-key"}


def other_address(api: Api, host: str = "192.0.2.7") -> TestClient:
    """A second caller of the same app, from another address."""
    return TestClient(api.http.app, raise_server_exceptions=False, client=(host, 40000))


def test_a_burst_of_wrong_keys_is_answered_429_and_other_addresses_go_on(api: Api) -> None:
    for _ in range(FAILURES):
        assert_error(api.http.get("/v1/clients", headers=WRONG), 401, "unauthenticated")
    refused = api.http.get("/v1/clients", headers=WRONG)
    error = assert_error(refused, 429, "too_many_failures")
    seconds = int(refused.headers["retry-after"])
    assert 0 < seconds <= WINDOW
    assert error["details"]["retry_after"] == seconds
    assert error["details"]["limit"] == FAILURES
    # The throttled address is refused before its key is looked at: a good key tells it nothing.
    assert_error(api.get("/v1/clients"), 429, "too_many_failures")
    before = api.events()
    assert_error(api.post("/v1/clients", {"name": "X", "branch_id": api.branch}), 429, "too_many_failures")
    assert api.events() == before
    # Another client with a good key works, and its own wrong key is only a 401.
    other = other_address(api)
    assert other.get("/v1/clients", headers=api.h()).status_code == 200
    assert_error(other.get("/v1/clients", headers=WRONG), 401, "unauthenticated")


def test_good_keys_and_missing_keys_are_no_failures(api: Api) -> None:
    for _ in range(FAILURES * 2):
        assert api.get("/v1/clients").status_code == 200
        assert_error(api.http.get("/v1/clients"), 401, "unauthenticated")
    assert api.get("/v1/clients").status_code == 200


def test_the_address_is_let_in_again_when_its_failures_leave_the_window(api: Api) -> None:
    api.http.app.state.auth_throttle = AuthThrottle(failures=3, window=1)
    for _ in range(3):
        assert_error(api.http.get("/v1/clients", headers=WRONG), 401)
    assert_error(api.get("/v1/clients"), 429, "too_many_failures")
    time.sleep(1.1)
    assert api.get("/v1/clients").status_code == 200


def test_guessing_cabinet_secrets_is_throttled_too(api: Api) -> None:
    """Cabinet links (DOMAIN §8.1), invitations and login tokens (§8.2) count the same."""
    api.http.app.state.auth_throttle = AuthThrottle(failures=3, window=WINDOW)
    assert_error(api.http.get("/cabinet/not-a-link", headers={"Accept": "application/json"}), 404, "cabinet_not_found")
    assert_error(api.http.post("/cabinet/users", json={"invitation": "not-an-invitation"}), 404, "invitation_not_found")
    assert_error(api.http.get("/cabinet/me", headers={"Authorization": "Bearer not-a-login"}), 401, "unauthenticated")
    for attempt in (
        api.http.get("/cabinet/me", headers={"Authorization": "Bearer not-a-login"}),
        api.http.post("/cabinet/users", json={"invitation": "not-an-invitation"}),
        api.http.get("/cabinet/not-a-link", headers={"Accept": "application/json"}),
        api.get("/v1/clients"),
    ):
        assert_error(attempt, 429, "too_many_failures")
        assert int(attempt.headers["retry-after"]) > 0
    # A real link still opens from elsewhere.
    desk = other_address(api)
    client = desk.post("/v1/clients", json={"name": "Eva Nováková", "branch_id": api.branch}, headers=api.h()).json()["id"]
    token = desk.post(f"/v1/clients/{client}/cabinet-link", json={}, headers=api.h()).json()["token"]
    assert desk.get(f"/cabinet/{token}", headers={"Accept": "application/json"}).status_code == 200
