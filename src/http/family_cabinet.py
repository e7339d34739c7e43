"""A parent's own cabinet over HTTP (DOMAIN §8.2): redeem an invitation, prove and link
clients, see them, sign out. The routes are ``routes.CABINET_ROUTES``.

Everything here but redeeming needs ``Authorization: Bearer`` with a cabinet login token
(``auth.authenticate_cabinet_user``); staff keys are not logins. The commands act on the
signed-in user only (the principal carries its id). ``Idempotency-Key`` is not taken
here: the command log's keys are per tenant, and one parent's key must never answer
another parent's request.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from classledger import views
from classledger.aggregates.cabinet_user import secret_hash
from classledger.aggregates.phones import phones_match
from classledger.aggregates.tenant import Tenant
from classledger.application.cabinet_users import MAX_CANDIDATES, PROOF_REFUSED, cabinet_principal
from classledger.application.fields import Day, Label
from classledger.application.principal import Principal
from classledger.application.service import validation_details
from classledger.http.auth import authenticate_cabinet_user
from classledger.http.errors import ApiError, render
from classledger.http.health import check_current
from classledger.http.inputs import path_id, read_json_object
from classledger.http.offload import run_in_threadpool
from classledger.http.queries import Query
from classledger.http.throttle import throttle_of
from classledger.projections.cabinet_users import CabinetUsers
from classledger.system import System, now

# The command each route runs (the route table names them too: routes.CABINET_ROUTES).
REDEEM = "redeem_cabinet_invitation"
SIGN_OUT = "revoke_cabinet_login"
LINK = "link_cabinet_client"
UNLINK = "unlink_cabinet_client"


class RedeemBody(Query):
    invitation: str = Field(min_length=1, max_length=200, description="the invitation staff gave you")


class ProofBody(Query):
    """One client's proof: all three must match what the school recorded."""

    phone: Label = Field(min_length=1, max_length=40, description="the client's phone, any formatting")
    birth_date: Day = Field(description="the client's birth date, YYYY-MM-DD")
    surname: Label = Field(min_length=1, max_length=200, description="the client's surname (case and accents do not matter)")


def _body(model: type[Query], raw: dict[str, Any]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise ApiError(422, "invalid_args", "the body is not valid", errors=validation_details(e)) from None


class FamilyCabinet:
    def __init__(self, system: System, body_limit: int) -> None:
        self.system = system
        self.body_limit = body_limit
        self.users = system.view(CabinetUsers)

    async def _execute(self, principal: Principal, command: str, args: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = await run_in_threadpool(self.system.execute, principal, command, args)
        return answer

    async def redeem(self, request: Request) -> Response:
        """The invitation names the tenant and the user; the answer holds the login token."""
        throttle = throttle_of(request)
        throttle.check(request)
        body = _body(RedeemBody, await read_json_object(request, self.body_limit))

        def owner() -> tuple[UUID, UUID] | None:
            digest = secret_hash(body.invitation)
            found = self.users.invitation(digest)
            if found is None:
                self.system.runner.catch_up()  # issued a moment ago by another process
                found = self.users.invitation(digest)
            return found

        found = await run_in_threadpool(owner)
        if found is None:
            throttle.failed(request)
            raise ApiError(404, "invitation_not_found", "this invitation does not exist, was used, or has expired")
        answer = await self._execute(cabinet_principal(*found), REDEEM,
                                     {"invitation": body.invitation})
        return render(answer, 201)

    async def link(self, request: Request) -> Response:
        principal = await authenticate_cabinet_user(self.system, request)
        proof = _body(ProofBody, await read_json_object(request, self.body_limit))
        await run_in_threadpool(self.system.runner.catch_up)
        check_current(self.system, "cabinet_link", principal.tenant_id)
        # The identity index narrows the search to the clients born that day with that
        # phone; the command decides on their records.
        rows = await run_in_threadpool(self.users.candidates, principal.tenant_id, proof.birth_date)
        tenant = await run_in_threadpool(self.system.app.get, principal.tenant_id)
        region = tenant.phone_region if isinstance(tenant, Tenant) else None
        candidates = [str(cid) for cid, phones in rows if any(phones_match(p, proof.phone, region) for p in phones)]
        answer = await self._execute(principal, LINK, {
            "phone": proof.phone, "birth_date": proof.birth_date.isoformat(), "surname": proof.surname,
            "candidate_ids": candidates[:MAX_CANDIDATES],
        })
        if answer.get("proof") == PROOF_REFUSED:
            # One answer for every wrong proof, whichever field was wrong (no oracle).
            raise ApiError(422, "proof_refused",
                           "no client matches this phone, birth date and surname; check them with the school",
                           attempts_left=answer["attempts_left"])
        return render(answer, 201)

    async def unlink(self, request: Request) -> Response:
        principal = await authenticate_cabinet_user(self.system, request)
        client_id = path_id(request, "client_id")
        return render(await self._execute(principal, UNLINK, {"client_id": str(client_id)}))

    async def sign_out(self, request: Request) -> Response:
        principal = await authenticate_cabinet_user(self.system, request)
        return render(await self._execute(principal, SIGN_OUT, {}))

    async def me(self, request: Request) -> Response:
        """For each linked client that still exists: its name (to tell siblings apart) and
        invoices, payments, attendance, make-ups, group transfers. Nothing else."""
        principal = await authenticate_cabinet_user(self.system, request)
        await run_in_threadpool(self.system.runner.catch_up)
        check_current(self.system, "cabinet_me", principal.tenant_id)
        at = now()
        return render(await run_in_threadpool(views.family_cabinet, self.system, principal.tenant_id,
                                              principal.staff_id, at))
