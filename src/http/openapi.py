"""OpenAPI 3.1, written from the route tables and the pydantic models (API §3).

Request bodies are the commands' ``args`` models; a route's path parameters are left out
of its body (the path supplies them). Query parameters are the read routes' query models.
Every model's ``$defs`` are collected into ``components.schemas``.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from classledger import __version__
from classledger.bootstrap import COMMANDS
from classledger.http.routes import (
    CABINET_ROUTES,
    READS,
    TEXT_PARAMS,
    WRITES,
    CabinetRoute,
    ReadRoute,
    WriteRoute,
    openapi_path,
    path_params,
    runnable,
)

REF = "#/components/schemas/{model}"
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "stable, snake_case; for programs"},
                "message": {"type": "string", "description": "for people"},
                "details": {"type": "object", "description": "which field, parameter or limit"},
            },
        }
    },
}
ANSWER = {
    "type": "object",
    "required": ["ok"],
    "properties": {"ok": {"const": True}, "id": {}, "version": {"type": "integer"}},
    "additionalProperties": True,
}
ERROR_TEXT = {
    400: "Malformed: not JSON, not I-JSON, or a bad header",
    401: "No key, or a key that does not resolve",
    403: "The role does not allow it",
    404: "No such route, or no such record for this tenant",
    405: "The method is not allowed here",
    409: "Conflict: concurrency, duplicate id, reused Idempotency-Key, business rule",
    413: "The body is over the limit",
    422: "Invalid arguments or query parameters",
    429: "Too many attempts: wait for Retry-After seconds",
}


def openapi() -> dict[str, Any]:
    """The document, written from the route tables and the commands' models."""
    schemas: dict[str, Any] = {"Error": ERROR, "Answer": ANSWER}
    paths: dict[str, dict[str, Any]] = {}
    for name, spec in sorted(COMMANDS.items()):
        if runnable(spec):
            schemas[f"{name}_args"] = _model_schema(spec.args, schemas)
    for w in WRITES:
        paths.setdefault(openapi_path(w.path), {})[w.method.lower()] = _write_operation(w, schemas)
    paths.setdefault("/v1/commands", {})["post"] = _commands_operation()
    for r in READS:
        paths.setdefault(openapi_path(r.path), {})["get"] = _read_operation(r, schemas)
    for c in CABINET_ROUTES:
        paths.setdefault(openapi_path(c.path), {})[c.method.lower()] = _cabinet_operation(c, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "classledger",
            "version": __version__,
            "description": "Ledger and CRM core for schools that sell lessons. Every error is "
            "`{error: {code, message, details}}`. Money is a decimal string in the tenant's currency.",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "a staff key"},
                "cabinetLogin": {"type": "http", "scheme": "bearer",
                                 "description": "a parent's cabinet login token (DOMAIN §8.2); never a staff key"},
            },
        },
    }


def _model_schema(model: Any, schemas: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(ref_template=REF)
    for name, sub in schema.pop("$defs", {}).items():
        if schemas.setdefault(name, sub) != sub:
            # Two models of one name would silently share a schema: fail loudly instead.
            raise RuntimeError(f"two different models are both named {name} in the OpenAPI schemas")
    return schema


def _responses(ok: int, ok_schema: dict[str, Any], *errors: int) -> dict[str, Any]:
    out: dict[str, Any] = {str(ok): {"description": "OK", "content": {"application/json": {"schema": ok_schema}}}}
    for status in errors:
        out[str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
        }
    return out


def _path_parameter(name: str) -> dict[str, Any]:
    schema = {"type": "string"} if name in TEXT_PARAMS else {"type": "string", "format": "uuid"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "a retry with the same key returns the first answer and writes nothing",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e]+$"},
}


def _write_operation(w: WriteRoute, schemas: dict[str, Any]) -> dict[str, Any]:
    spec = COMMANDS[w.command]
    args = schemas.get(f"{w.command}_args", {})
    op: dict[str, Any] = {
        "operationId": w.command,  # one route per command
        "summary": spec.summary,
        "tags": [w.path.split("/")[2]],
        "parameters": [*(_path_parameter(p) for p in path_params(w.path)), IDEMPOTENCY],
    }
    body = args
    if w.params:
        # The path supplies these arguments; the body may leave them out.
        body = copy.deepcopy(args)
        for arg in w.params.values():
            body.get("properties", {}).pop(arg, None)
        body["required"] = [r for r in body.get("required", []) if r not in w.params.values()]
        body["title"] = f"{w.command}_body"
        schemas[f"{w.command}_body"] = body
    name = f"{w.command}_body" if w.params else f"{w.command}_args"
    op["requestBody"] = {"required": False, "content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}}}
    op["responses"] = _responses(w.status, {"$ref": REF.format(model="Answer")}, 400, 401, 403, 404, 409, 413, 422)
    return op


def _commands_operation() -> dict[str, Any]:
    variants = [
        {
            "type": "object",
            "required": ["command"],
            "additionalProperties": False,
            "properties": {
                "command": {"const": name},
                "args": {"$ref": REF.format(model=f"{name}_args")},
                "reason": {"type": "string"},
            },
        }
        for name, spec in sorted(COMMANDS.items())
        if runnable(spec)
    ]
    return {
        "operationId": "run_command",
        "summary": "Run any command: the same answer (status and body) as the command's route",
        "tags": ["commands"],
        "parameters": [IDEMPOTENCY],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": variants}}}},
        "responses": _responses(200, {"$ref": REF.format(model="Answer")}, 400, 401, 403, 404, 409, 413, 422),
    }


def _read_operation(r: ReadRoute, schemas: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": r.name,
        "summary": r.summary,
        "tags": [r.path.split("/")[2] if r.path.startswith("/v1/") else "service"],
        "parameters": [_path_parameter(p) for p in path_params(r.path)],
    }
    if r.query is not None:
        op["parameters"] += _query_parameters(r.query, schemas)
    if r.public:
        op["security"] = []
    errors = (() if r.public else (401,)) + (404, 422)
    op["responses"] = _responses(200, {"type": "object"}, *errors)
    if r.path == "/docs":
        op["responses"]["200"]["content"] = {"text/html": {"schema": {"type": "string"}}}
    if r.path == "/cabinet/{token}":
        # DOMAIN §8.1: a browser (Accept: text/html) gets a page, the cabinet's or one that
        # says the link does not work; Accept: application/json gets JSON.
        for status in ("200", "404"):
            op["responses"][status]["content"]["text/html"] = {"schema": {"type": "string"}}
    return op


def _cabinet_operation(c: CabinetRoute, schemas: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"cabinet_{c.name}",
        "summary": c.summary,
        "tags": ["cabinet"],
        "parameters": [_path_parameter(p) for p in path_params(c.path)],
        "security": [{"cabinetLogin": []}] if c.signed_in else [],
    }
    if c.body is not None:
        name = c.body.__name__
        schemas[name] = _model_schema(c.body, schemas)
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": REF.format(model=name)}}}}
    errors = [401] if c.signed_in else []
    errors += [404, 409, 422] + ([429] if c.name == "link" else [])
    op["responses"] = _responses(c.status, {"type": "object"}, *errors)
    return op


def _query_parameters(query: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _model_schema(query, schemas)
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = dict(prop)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            parameter["description"] = prop.pop("description")
        prop.pop("title", None)
        # A query parameter is absent or a string, never null: drop pydantic's "| None".
        options = [s for s in prop.pop("anyOf", []) if s.get("type") != "null"]
        if len(options) == 1:
            prop.update(options[0])
        elif options:
            prop["anyOf"] = options
        if "default" in prop and prop["default"] is None:
            del prop["default"]
        parameter["schema"] = prop
        if _is_array(prop):
            # A comma-separated list: ?include=archived,deleted
            parameter["style"], parameter["explode"] = "form", False
        out.append(parameter)
    return out


def _is_array(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" or any(s.get("type") == "array" for s in schema.get("anyOf", []))
