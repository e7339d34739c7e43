"""OpenAPI 3.1, generated from the commands' pydantic models and the route table."""

from __future__ import annotations

from typing import Any

from classledger import __version__
from classledger.application.registry import COMMANDS
from classledger.http.routes import WRITES

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
        }
    },
}
ANSWER = {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}, "id": {}, "version": {"type": "integer"}}, "additionalProperties": True}


def _errors(*codes: int) -> dict[str, Any]:
    names = {400: "Malformed request", 401: "No or bad key", 403: "Role does not allow it", 404: "Not found",
             409: "Conflict: concurrency, duplicate id, business rule", 413: "Body too large", 422: "Invalid input",
             501: "Not built yet"}
    return {str(c): {"description": names[c], "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}} for c in codes}


def _query(name: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def openapi() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR, "Answer": ANSWER}
    paths: dict[str, dict[str, Any]] = {}
    for name, spec in sorted(COMMANDS.items()):
        if spec.need == "system":
            continue
        schema = spec.args.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[f"{name}_args"] = schema
    for w in WRITES:
        op: dict[str, Any] = {
            "operationId": f"{w.command}__{w.method.lower()}",
            "summary": COMMANDS[w.command].summary if w.command in COMMANDS else f"{w.command} (not built yet)",
            "tags": [w.path.split("/")[2]],
            "parameters": [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p, _ in w.params],
            "responses": {
                "201" if w.creates else "200": {"description": "Done", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}}},
                **_errors(400, 401, 403, 404, 409, 413, 422, 501),
            },
        }
        if w.command in COMMANDS:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{w.command}_args"}}}}
        op["parameters"].append({"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200}})
        paths.setdefault(w.path, {})[w.method.lower()] = op
    read = {"200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}, **_errors(401, 404, 422)}
    paths["/v1/commands"] = {"post": {"operationId": "run_command", "summary": "Run any command (same answer as its route)",
                                      "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["command", "args"], "properties": {"command": {"type": "string", "enum": sorted(n for n, s in COMMANDS.items() if s.need != "system")}, "args": {"type": "object"}, "reason": {"type": "string"}}}}}},
                                      "responses": {"200": {"description": "Done", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}}}, **_errors(400, 401, 403, 404, 409, 413, 422)}}}
    paths["/v1/clients"] = {**paths.get("/v1/clients", {}), "get": {"operationId": "list_clients", "summary": "Search clients (DOMAIN §2.7)", "parameters": [
        _query("q", {"type": "string"}, "name (accent/case-insensitive), phone digits, email, card number"),
        _query("tag", {"type": "string"}, "only clients with this tag"),
        _query("status", {"enum": ["active", "inactive"]}, "activity now (DOMAIN §5)"),
        _query("branch_id", {"type": "string", "format": "uuid"}, "only this branch"),
        _query("include", {"type": "string"}, "comma list: archived, deleted"),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "page size"),
        _query("cursor", {"type": "string"}, "next_cursor of the previous page")], "responses": read}}
    paths["/v1/clients/{id}"] = {**paths.get("/v1/clients/{id}", {}), "get": {"operationId": "client_card", "summary": "The client card", "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}], "responses": read}}
    paths["/v1/clients/{id}/history"] = {"get": {"operationId": "client_history", "summary": "Every event of the client, oldest first", "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}], "responses": read}}
    paths["/v1/reports/active-clients"] = {"get": {"operationId": "active_clients", "summary": "Active and inactive clients at an instant", "parameters": [_query("at", {"type": "string", "format": "date-time"}, "default: now")], "responses": read}}
    paths["/v1/reports/activity"] = {"get": {"operationId": "activity_report", "summary": "The month's peak, its day, the count at month end, the tier (DOMAIN §5)", "parameters": [_query("month", {"type": "string", "pattern": "^\\d{4}-\\d{2}$"}, "YYYY-MM", required=True)], "responses": read}}
    paths["/v1/audit/verify"] = {"get": {"operationId": "audit_verify", "summary": "Check the tenant's event hash chain (DOMAIN §9.3)", "responses": read}}
    paths["/healthz"] = {"get": {"operationId": "health", "summary": "Liveness", "security": [], "responses": {"200": {"description": "OK"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "classledger", "version": __version__, "description": "Ledger and CRM core for schools that sell lessons. Errors: {error: {code, message, details}}."},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>classledger API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><noscript>The machine-readable contract is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<p style="font-family:sans-serif">classledger API — the contract is <a href="/openapi.json">/openapi.json</a>.
Authorize with a staff key (Bearer) to try the routes.</p>
<div id="ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>if (window.SwaggerUIBundle) { SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"}); }</script>
</body></html>
"""
