"""A parent's login signed out (DOMAIN §8.2) stops working at once in every process, as a
revoked staff key does: the user's record has the last word, not the read model."""

from __future__ import annotations

import hmac
import uuid

import pytest

from classledger.aggregates.cabinet_user import secret_hash
from classledger.application.tenants import system_principal
from classledger.bootstrap import application
from classledger.projections.cabinet_users import CabinetUsers
from classledger.store.database import Store
from tests.http.support import T0, Api, assert_error
from tests.http.test_family_cabinet_api import bearer, signup


def test_a_login_signed_out_by_another_process_is_refused_at_once(api: Api, database_url: str) -> None:
    user_id, token = signup(api)
    assert api.http.get("/cabinet/me", headers=bearer(token)).status_code == 200
    # The other process saves the sign-out without projecting it.
    store = Store.open(database_url)
    try:
        application(store).execute(system_principal(api.tenant_id), "revoke_cabinet_user_login",
                                   {"user_id": user_id}, at=T0)
    finally:
        store.close()
    assert api.system.view(CabinetUsers).login(secret_hash(token)) == (api.tenant_id, uuid.UUID(user_id))
    assert_error(api.http.get("/cabinet/me", headers=bearer(token)), 401, "unauthenticated")


def test_a_login_token_is_compared_in_constant_time(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    _, token = signup(api)
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert api.http.get("/cabinet/me", headers=bearer(token)).status_code == 200
    assert (secret_hash(token), secret_hash(token)) in compared
