"""Shared helpers for the HTTP tests: a tenant with keys behind the real app."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.testclient import TestClient

from classledger.http.app import create_app
from classledger.roles import ROLES
from classledger.system import System
from tests.builders import School, http_run, system_run

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
LIMIT = 64 * 1024  # the tests' body limit: small, so that going over it is cheap


class Api:
    """One tenant (with a key per role and a branch) and a client of the app."""

    def __init__(self, system: System, *, name: str = "Tanečná škola") -> None:
        self.system = system
        self.http = TestClient(create_app(system, body_limit=LIMIT), raise_server_exceptions=False)
        # The tests' one builder (tests/builders.py), its commands sent over HTTP once the keys exist.
        self.school = School(system, uuid.uuid4(), T0, system_run(system))
        self.school.create_tenant(name)
        self.tenant_id = self.school.tenant_id
        self.keys = {role: self.school.key(role) for role in ROLES}
        self.school.run_on = http_run(self.http, self.keys, system)
        self.branch = self.school.branch("Centrum", "Bratislava")

    def h(self, role: str = "admin", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}", **extra}

    def post(self, path: str, body: object, role: str = "admin", **headers: str):
        return self.http.post(path, json=body, headers=self.h(role, **headers))

    def send(self, method: str, path: str, body: object = None, role: str = "admin", **headers: str):
        return self.http.request(method, path, json=body, headers=self.h(role, **headers))

    def raw(self, path: str, content: Any, role: str = "admin", **headers: str):
        return self.http.post(path, content=content, headers=self.h(role, **headers))

    def get(self, path: str, role: str = "admin", **params: str):
        return self.http.get(path, params=params, headers=self.h(role))

    def client(self, name: str = "Eva Nováková", **fields: Any) -> str:
        return self.school.client(name, self.branch, **fields)

    def events(self) -> int:
        return self.system.store.recorder.count_events(self.tenant_id)


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The one error body of API §3, with the status and (when given) the code expected."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    if code:
        assert body["error"]["code"] == code, body
    return dict(body["error"])
