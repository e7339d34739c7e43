"""The write routes (API §3): one table, each route one command; idempotency; /v1/commands."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from classledger.bootstrap import COMMANDS
from classledger.http.app import Api as ApiHandlers
from classledger.http.app import create_app
from classledger.http.family_cabinet import FamilyCabinet
from classledger.http.openapi import openapi
from classledger.http.routes import (
    CABINET_ROUTES,
    READS,
    TEXT_PARAMS,
    WRITES,
    openapi_path,
    path_params,
)
from tests.http.support import Api, assert_error

API_WRITES = {  # API §3's list, as (method, path) pairs; the table may add, never drop
    ("POST", "/v1/branches"), ("POST", "/v1/lesson-types"), ("POST", "/v1/custom-fields"), ("POST", "/v1/clients"),
    ("PATCH", "/v1/clients/{id}"), ("POST", "/v1/clients/{id}/tags"), ("DELETE", "/v1/clients/{id}/tags/{tag:path}"),
    *(("POST", f"/v1/clients/{{id}}/{x}") for x in ("family", "freeze", "archive", "restore", "delete")),
    ("POST", "/v1/courses"), ("POST", "/v1/groups"), ("POST", "/v1/registrations"),
    *(("POST", f"/v1/registrations/{{id}}/{x}") for x in ("confirm", "cancel", "transfer", "credits")),
    ("POST", "/v1/credits/{id}/use"), ("POST", "/v1/credits/{id}/void"), ("POST", "/v1/pass-templates"), ("POST", "/v1/passes"),
    *(("POST", f"/v1/passes/{{id}}/{x}") for x in ("extend", "correct-validity", "virtual-visits", "recalculate", "refund", "void")),
    ("POST", "/v1/lesson-transfers"), ("POST", "/v1/visits"), ("POST", "/v1/visits/{id}/cancel"), ("POST", "/v1/payments"),
    ("POST", "/v1/transactions/{id}/cancel"), ("POST", "/v1/corrections"), ("POST", "/v1/clients/{id}/write-off"),
    ("POST", "/v1/clients/{id}/discount"), ("DELETE", "/v1/clients/{id}/discount"), ("POST", "/v1/tier-downgrades"),
    ("POST", "/v1/clients/{id}/cabinet-link"), ("DELETE", "/v1/clients/{id}/cabinet-link"),
}


def test_the_table_holds_every_write_of_the_api_once() -> None:
    table = [(w.method, w.path) for w in WRITES]
    assert len(table) == len(set(table))
    assert set(table) >= API_WRITES
    assert len({w.command for w in WRITES}) == len(WRITES)  # one route per command
    for w in WRITES:
        assert set(w.params) == set(path_params(w.path)), w  # every path parameter goes somewhere
    # Every command a key may run has a route.
    assert {n for n, s in COMMANDS.items() if s.need not in ("system", "cabinet")} <= {w.command for w in WRITES}
    # Every command of a signed-in parent has its cabinet route (DOMAIN §8.2), and only those.
    assert {n for n, s in COMMANDS.items() if s.need == "cabinet"} == {c.command for c in CABINET_ROUTES if c.command}


def _fill(path: str, values: dict[str, str]) -> str:
    for name in path_params(path):
        path = path.replace(f"{{{name}:path}}", values[name]).replace(f"{{{name}}}", values[name])
    return path


def test_each_route_runs_its_command_with_the_path_in_the_args(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any], str | None]] = []

    def execute(principal: Any, command: str, args: Any, *, reason: str | None = None,
                idempotency_key: str | None = None, **kw: Any) -> dict[str, Any]:
        calls.append((command, dict(args), idempotency_key))
        return {"ok": True, "id": "x"}

    monkeypatch.setattr(api.system, "execute", execute)
    for w in WRITES:
        values = {p: ("a/b c" if p in TEXT_PARAMS else str(uuid.uuid4())) for p in path_params(w.path)}
        r = api.send(w.method, _fill(w.path, values), {"note": 1}, **{"Idempotency-Key": f"k-{w.command}"})
        assert r.status_code == (201 if w.created else 200), (w, r.text)
        command, args, key = calls.pop()
        assert command == w.command
        assert args == {"note": 1, **{w.params[p]: v for p, v in values.items()}}
        assert key == f"k-{w.command}"
    assert not calls


def test_a_route_without_its_command_is_a_bug_found_at_start(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(COMMANDS, "tag_client")
    with pytest.raises(RuntimeError, match="tag_client"):
        create_app(api.system)


def test_every_read_route_holds_a_handler_of_the_api_named_as_its_operation() -> None:
    doc = openapi()
    for r in READS:
        assert getattr(ApiHandlers, r.name) is r.endpoint, r.path
        assert doc["paths"][openapi_path(r.path)]["get"]["operationId"] == r.endpoint.__name__
    for c in CABINET_ROUTES:
        assert getattr(FamilyCabinet, c.name) is c.endpoint, c.path


def test_every_read_route_is_built(api: Api) -> None:
    answers = {r.path: api.get(r.path.replace("{id}", str(uuid.uuid4())).replace("{token}", "t")).status_code
               for r in READS}
    assert 501 not in answers.values(), answers
    doc = api.http.get("/openapi.json").json()
    assert all("501" not in doc["paths"][openapi_path(r.path)]["get"]["responses"] for r in READS)


def test_idempotency_key_returns_the_first_answer_and_writes_nothing(api: Api) -> None:
    body = {"name": "Raz", "branch_id": api.branch}
    first = api.post("/v1/clients", body, **{"Idempotency-Key": "abc-1"})
    assert first.status_code == 201
    before = api.events()
    again = api.post("/v1/clients", body, **{"Idempotency-Key": "abc-1"})
    assert (again.status_code, again.json()) == (201, first.json())
    # The same request through /v1/commands is the same request.
    via_commands = api.post("/v1/commands", {"command": "register_client", "args": body}, **{"Idempotency-Key": "abc-1"})
    assert via_commands.json() == first.json()
    assert api.events() == before
    assert api.get("/v1/clients").json()["total"] == 1
    error = assert_error(api.post("/v1/clients", {**body, "name": "Dva"}, **{"Idempotency-Key": "abc-1"}), 409,
                         "idempotency_key_reused")
    assert error["details"]["key"] == "abc-1"
    assert api.events() == before
    # Without a key every POST is a new client.
    api.post("/v1/clients", body)
    assert api.get("/v1/clients").json()["total"] == 2


def test_idempotency_key_on_a_non_creating_route(api: Api) -> None:
    cid = api.client()
    first = api.post(f"/v1/clients/{cid}/tags", {"tag": "vip"}, **{"Idempotency-Key": "tag-1"})
    before = api.events()
    again = api.post(f"/v1/clients/{cid}/tags", {"tag": "vip"}, **{"Idempotency-Key": "tag-1"})
    assert again.json() == first.json()
    assert api.events() == before
    assert_error(api.post(f"/v1/clients/{cid}/tags", {"tag": "other"}, **{"Idempotency-Key": "tag-1"}), 409,
                 "idempotency_key_reused")


def test_a_create_with_an_id_is_idempotent_and_the_id_cannot_be_reused(api: Api) -> None:
    cid = str(uuid.uuid4())
    body = {"id": cid, "name": "Ivan", "branch_id": api.branch}
    first = api.post("/v1/clients", body)
    assert first.json()["id"] == cid
    before = api.events()
    assert api.post("/v1/clients", body).json() == first.json()
    assert api.events() == before
    assert_error(api.post("/v1/clients", {**body, "name": "Other"}), 409, "duplicate_id")


def test_commands_endpoint_answers_as_the_route(api: Api) -> None:
    cid = str(uuid.uuid4())
    args = {"id": cid, "name": "Ivan", "branch_id": api.branch}
    via_route = api.post("/v1/clients", args)
    via_commands = api.post("/v1/commands", {"command": "register_client", "args": args})
    assert (via_commands.status_code, via_commands.json()) == (via_route.status_code, via_route.json()) == (201, via_route.json())
    tagged = api.post("/v1/commands", {"command": "tag_client", "args": {"client_id": cid, "tag": "vip"},
                                       "reason": "a loyal customer"})
    assert tagged.status_code == 200
    assert tagged.json() == {"ok": True, "id": cid, "version": 2}
    history = api.get(f"/v1/clients/{cid}/history").json()["items"]
    assert (history[-1]["type"], history[-1]["reason"]) == ("ClientTagged", "a loyal customer")


def test_commands_endpoint_refuses_what_it_cannot_run(api: Api) -> None:
    before = api.events()
    # Tenant set-up is CLI-only: over HTTP those commands do not exist.
    for name in ("create_tenant", "issue_key", "fly_to_the_moon"):
        error = assert_error(api.post("/v1/commands", {"command": name, "args": {}}, role="director"), 404, "unknown_command")
        assert error["details"] == {"command": name}
    assert_error(api.post("/v1/commands", {"command": 7}), 422, "invalid_body")
    assert_error(api.post("/v1/commands", {"args": {}}), 422, "invalid_body")
    assert_error(api.post("/v1/commands", {"command": "tag_client", "args": {}, "reason": 5}), 422, "invalid_body")
    error = assert_error(api.post("/v1/commands", {"command": "tag_client", "args": {}, "extra": 1}), 422, "invalid_body")
    assert error["details"]["unknown"] == ["extra"]
    assert_error(api.post("/v1/commands", {"command": "tag_client", "args": {"tag": "x"}}), 422, "invalid_args")
    assert api.events() == before
