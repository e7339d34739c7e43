"""GET /openapi.json is OpenAPI 3.1 describing every mounted route; /docs and /healthz serve."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import Route

from classledger.bootstrap import COMMANDS
from classledger.http.app import create_app
from classledger.http.openapi import openapi
from classledger.http.routes import WRITES, openapi_path
from classledger.system import System  # registers every command
from tests.http.support import Api, assert_error


def test_openapi_is_served_without_a_key_and_is_3_1(api: Api) -> None:
    r = api.http.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    doc = r.json()
    assert doc["openapi"] == "3.1.0"
    assert {"title", "version"} <= set(doc["info"])
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer", "description": "a staff key"}
    assert doc["security"] == [{"bearer": []}]
    assert set(doc["components"]["schemas"]["Error"]["properties"]["error"]["required"]) == {"code", "message", "details"}


def test_openapi_lists_every_mounted_route_and_method(system: System) -> None:
    app, doc = create_app(system), openapi()
    mounted = {(openapi_path(r.path), m.lower()) for r in app.routes if isinstance(r, Route) for m in r.methods or ()
               if m != "HEAD"}
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert mounted == documented
    assert len(mounted) > 50


def test_openapi_is_well_formed() -> None:
    doc = openapi()
    operation_ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))
    for path, ops in doc["paths"].items():
        in_path = set(re.findall(r"{(\w+)}", path))
        for method, op in ops.items():
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == in_path, (path, method)
            assert all(p["required"] for p in op["parameters"] if p["in"] == "path")
            for status, response in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status)
                assert response["description"]
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.removeprefix("#/components/schemas/") in doc["components"]["schemas"], ref
    for name in ("/healthz", "/openapi.json", "/docs"):
        assert doc["paths"][name]["get"]["security"] == []


def test_openapi_bodies_are_the_command_models() -> None:
    doc = openapi()
    schemas = doc["components"]["schemas"]
    for w in WRITES:
        op = doc["paths"][openapi_path(w.path)][w.method.lower()]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[ref.rsplit("/", 1)[1]]
        assert set(body["properties"]) == set(COMMANDS[w.command].args.model_json_schema()["properties"]) - set(w.params.values())
        assert str(w.status) in op["responses"]
    assert schemas["register_client_args"]["properties"]["branch_id"]["format"] == "uuid"
    assert set(schemas["tag_client_body"]["properties"]) == {"tag"}  # client_id comes from the path
    clients = {p["name"]: p for p in doc["paths"]["/v1/clients"]["get"]["parameters"]}
    assert set(clients) == {"q", "tag", "status", "branch_id", "include", "limit", "cursor"}
    assert clients["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}  # API §7
    assert (clients["include"]["style"], clients["include"]["explode"]) == ("form", False)
    variants = doc["paths"]["/v1/commands"]["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    # Tenant set-up is CLI-only, and a parent's own commands run only behind /cabinet/me (DOMAIN §8.2).
    assert {v["properties"]["command"]["const"] for v in variants} == {
        n for n, s in COMMANDS.items() if s.need not in ("system", "cabinet")}


def test_openapi_passes_the_reference_validator_when_installed() -> None:
    validator = pytest.importorskip("openapi_spec_validator", reason="openapi-spec-validator is not installed")
    validator.validate(openapi())


def test_docs_and_health(api: Api) -> None:
    page = api.http.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    # Without network (no CDN) the page still leads to the contract.
    assert 'href="/openapi.json"' in page.text
    assert api.http.get("/healthz").json() == {"ok": True}
    assert_error(api.http.post("/healthz"), 405, "method_not_allowed")


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
