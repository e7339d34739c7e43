"""The writes (API §3): each write route runs its one command through ``System.execute``
(the pipeline: role, validation, idempotency, one atomic save), and ``POST /v1/commands``
runs any command by its name. The answer is rendered with the command's route status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from classledger.application.principal import Principal
from classledger.application.registry import CommandSpec
from classledger.bootstrap import COMMANDS
from classledger.http.errors import ApiError, render
from classledger.http.handlers import Handlers
from classledger.http.inputs import idempotency_key, path_id, read_json_object
from classledger.http.offload import run_in_threadpool
from classledger.http.routes import ROUTE_OF, TEXT_PARAMS, WriteRoute, runnable

Endpoint = Callable[[Request], Awaitable[Response]]


class Writes(Handlers):
    """The write handlers, part of the app's ``Api``."""

    def write_endpoint(self, route: WriteRoute) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            principal = await self.principal(request)
            spec = command_spec(route.command)
            key = idempotency_key(request)
            args = await read_json_object(request, self.body_limit)
            for param, arg in route.params.items():
                value = request.path_params[param] if param in TEXT_PARAMS else str(path_id(request, param))
                if arg in args and not _same(args[arg], value):
                    raise ApiError(422, "conflicting_ids", f"{arg} in the body differs from the path", field=arg)
                args[arg] = value
            return await self.execute(principal, spec, args, key)

        return endpoint

    async def run_command(self, request: Request) -> Response:
        """``POST /v1/commands``: ``{"command", "args", "reason"?}``, answered as the command's route."""
        principal = await self.principal(request)
        key = idempotency_key(request)
        body = await read_json_object(request, self.body_limit)
        unknown = sorted(body.keys() - {"command", "args", "reason"})
        if unknown:
            raise ApiError(422, "invalid_body", "the body has only command, args and reason", unknown=unknown)
        command, args, reason = body.get("command"), body.get("args", {}), body.get("reason")
        if not isinstance(command, str):
            raise ApiError(422, "invalid_body", "command must be a command's name", field="command")
        if not isinstance(args, dict):
            raise ApiError(422, "invalid_body", "args must be a JSON object", field="args")
        if reason is not None and not isinstance(reason, str):
            raise ApiError(422, "invalid_body", "reason must be a string", field="reason")
        return await self.execute(principal, command_spec(command), args, key, reason)

    async def execute(
        self, principal: Principal, spec: CommandSpec, args: dict[str, Any], key: str | None, reason: str | None = None
    ) -> Response:
        answer = await run_in_threadpool(
            self.system.execute, principal, spec.name, args, reason=reason, idempotency_key=key
        )
        route = ROUTE_OF.get(spec.name)
        return render(answer, route.status if route is not None else 200)


def command_spec(name: str) -> CommandSpec:
    """The command to run over HTTP. Tenant set-up (``need="system"``) is CLI-only: over
    HTTP it does not exist (404), since no key can ever be allowed to run it, whereas a 403
    would suggest that a stronger role could."""
    spec = COMMANDS.get(name)
    if runnable(spec):
        return spec
    raise ApiError(404, "unknown_command", f"no command {name!r}", command=name)


def _same(given: Any, value: str) -> bool:
    if given == value:
        return True
    try:
        return UUID(str(given)) == UUID(value)
    except ValueError:
        return False
