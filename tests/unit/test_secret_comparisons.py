"""Secrets are compared in constant time (DOMAIN §8.2): how long a refusal took must not
tell how much of a guessed invitation was right. Elsewhere a presented secret is only
ever looked up by its sha256, never compared as itself."""

from __future__ import annotations

import hmac
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from classledger.aggregates import cabinet_user as u
from classledger.aggregates.base import Meta, project
from classledger.aggregates.errors import NotFound

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
META = Meta(tenant_id=uuid.UUID(int=7), at=T0, actor="cabinet user")


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def test_an_invitation_is_compared_in_constant_time(compared: list[tuple[Any, Any]]) -> None:
    user: u.CabinetUser = project(None, u.register(uuid.UUID(int=1), META, u.secret_hash("inv"), T0 + timedelta(days=1)))
    with pytest.raises(NotFound):
        u.redeem(user, META, u.secret_hash("guess"), u.secret_hash("login"))
    assert compared == [(u.secret_hash("inv"), u.secret_hash("guess"))]
    assert u.redeem(user, META, u.secret_hash("inv"), u.secret_hash("login"))
    assert compared[-1] == (u.secret_hash("inv"), u.secret_hash("inv"))
