"""The writes (API §3): each write route runs its one command through ``System.execute``
(the pipeline: role, validation, idempotency, one atomic save), and ``POST /v1/commands``
runs any command by its name. The answer is rendered with the command's route status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from classledger.application.registry import CommandSpec
from classledger.bootstrap import COMMANDS
from classledger.http.auth import presented_digest, refused
from classledger.http.errors import ApiError, render
from classledger.http.handlers import Handlers
from classledger.http.inputs import idempotency_key, path_id, read_json_object
from classledger.http.offload import run_in_threadpool
from classledger.http.routes import ROUTE_OF, TEXT_PARAMS, WriteRoute, runnable

Endpoint = Callable[[Request], Awaitable[Response]]


class Writes(Handlers):
    """The write handlers, part of the app's ``Api``.

    A write makes one hop off the event loop: the key's lookup and the command run in one
    call on a worker thread. What the request alone says (the body, the Idempotency-Key,
    the path's ids) is read on the loop first, but a fault found there is answered only
    once the key has been found to hold: a request with a wrong key is a 401 whatever its
    body, as it would be were the key looked up first.
    """

    def write_endpoint(self, route: WriteRoute) -> Endpoint:
        spec = command_spec(route.command)

        async def endpoint(request: Request) -> Response:
            digest = presented_digest(request)
            try:
                key = idempotency_key(request)
                args = await read_json_object(request, self.body_limit)
                for param, arg in route.params.items():
                    value = request.path_params[param] if param in TEXT_PARAMS else str(path_id(request, param))
                    if arg in args and not _same(args[arg], value):
                        raise ApiError(
                            422, "conflicting_ids", f"{arg} in the body differs from the path", field=arg)
                    args[arg] = value
            except ApiError as fault:
                return await self.execute(request, digest, fault)
            return await self.execute(request, digest, Call(spec, args, key))

        return endpoint

    async def run_command(self, request: Request) -> Response:
        """``POST /v1/commands``: ``{"command", "args", "reason"?}``, answered as the command's route."""
        digest = presented_digest(request)
        try:
            call = await _named_call(request, self.body_limit)
        except ApiError as fault:
            return await self.execute(request, digest, fault)
        return await self.execute(request, digest, call)

    async def execute(self, request: Request, digest: str, call: Call | ApiError) -> Response:
        answer = await run_in_threadpool(self._authorised, digest, call)
        if answer is None:
            raise refused(request)
        route = ROUTE_OF.get(call.spec.name) if isinstance(call, Call) else None
        return render(answer, route.status if route is not None else 200)

    def _authorised(self, digest: str, call: Call | ApiError) -> dict[str, Any] | None:
        """The command's answer, on a worker thread; None when the key does not hold."""
        principal = self.keys.principal(digest)
        if principal is None:
            return None
        if isinstance(call, ApiError):
            raise call
        answer: dict[str, Any] = self.system.execute(
            principal, call.spec.name, call.args, reason=call.reason, idempotency_key=call.key)
        return answer


@dataclass(frozen=True)
class Call:
    """A command as a request asks for it."""

    spec: CommandSpec
    args: dict[str, Any]
    key: str | None
    reason: str | None = None


async def _named_call(request: Request, body_limit: int) -> Call:
    key = idempotency_key(request)
    body = await read_json_object(request, body_limit)
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
    return Call(command_spec(command), args, key, reason)


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
