"""Shared helpers for the HTTP tests: a tenant with keys behind the real app."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from starlette.testclient import TestClient

from classledger.application.tenants import system_principal
from classledger.http.app import create_app
from classledger.system import System

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)


class Api:
    def __init__(self, system: System) -> None:
        self.system = system
        self.http = TestClient(create_app(system, body_limit=64 * 1024), raise_server_exceptions=False)
        self.tenant_id = uuid.uuid4()
        sp = system_principal(self.tenant_id)
        system.execute(sp, "create_tenant", {"name": "Tanečná škola", "timezone": "Europe/Bratislava", "currency": "EUR"}, at=T0)
        self.keys = {
            role: system.execute(sp, "issue_key", {"role": role, "staff": f"{role} person"}, at=T0)["key"]
            for role in ("admin", "director", "accountant")
        }
        self.branch = self.post("/v1/branches", {"name": "Centrum", "city": "Bratislava"}, role="director").json()["id"]

    def h(self, role: str = "admin", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}", **extra}

    def post(self, path: str, body: object, role: str = "admin", **headers: str):
        return self.http.post(path, json=body, headers=self.h(role, **headers))

    def get(self, path: str, role: str = "admin", **params: str):
        return self.http.get(path, params=params, headers=self.h(role))

    def events(self) -> int:
        return self.system.store.recorder.count_events(self.tenant_id)


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]
