"""The reads of API §7 are in the OpenAPI document with their parameters, and none of
them is unbuilt: each answers through the real app."""

from __future__ import annotations

from classledger.http.openapi import openapi
from tests.http.support import Api


def test_the_new_reads_and_their_parameters_are_documented() -> None:
    paths = openapi()["paths"]
    expected = {
        "/v1/branches": {"limit", "cursor"},
        "/v1/lesson-types": {"limit", "cursor"},
        "/v1/custom-fields": {"limit", "cursor"},
        "/v1/courses": {"limit", "cursor"},
        "/v1/pass-templates": {"limit", "cursor"},
        "/v1/groups": {"limit", "cursor", "course_id", "branch_id", "state"},
        "/v1/groups/{id}": {"id"},
        "/v1/passes/{id}": {"id"},
        "/v1/passes/{id}/recalculation": {"id", "template_id"},
        "/v1/passes/{id}/refund": {"id"},
        "/v1/payments": {"limit", "cursor", "from", "to", "branch_id", "method", "include_cancelled"},
        "/v1/ledger/journal": {"limit", "cursor", "from", "to", "kind", "status", "format", "client_id"},
        "/v1/clients/{id}/history": {"id", "limit", "cursor"},
        "/v1/reports/passes": {"limit", "cursor", "from", "to", "include_expired"},
    }
    for path, params in expected.items():
        op = paths[path]["get"]
        assert {p["name"] for p in op["parameters"]} == params, path
        assert "not built" not in op["summary"]
        assert "501" not in op["responses"]
    as_of = {p["name"]: p for p in paths["/v1/ledger/trial-balance"]["get"]["parameters"]}["as_of"]
    assert "YYYY-MM-DD" in as_of["schema"]["description"]


def test_every_new_read_answers(api: Api) -> None:
    for path in ("/v1/branches", "/v1/lesson-types", "/v1/custom-fields", "/v1/courses", "/v1/pass-templates",
                 "/v1/groups", "/v1/payments"):
        r = api.get(path, role="operator")
        assert r.status_code == 200, (path, r.text)
        assert set(r.json()) >= {"items", "total", "next_cursor"}
        assert api.http.get(path).status_code == 401
