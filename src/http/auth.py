"""``Authorization: Bearer KEY`` → the staff member behind the key (API §3, DOMAIN §1.4).

Only the key's hash is stored (``hash_key``); the ``StaffKeys`` read model finds the
tenant by it (once per key: ``StaffKeyLookup``), and the tenant's record, current in
every process, says whether the key still holds and whose it is: a key revoked a moment
ago in another process is refused here at once. Every role may read; what each may write is decided by the pipeline
(``Principal.require``), not here. Wrong keys count against the caller's address
(``throttle``).
"""

from __future__ import annotations

import hmac
import re
from uuid import UUID

from starlette.requests import Request

from classledger.aggregates.cabinet_user import CabinetUser, secret_hash
from classledger.aggregates.tenant import Tenant
from classledger.application.cabinet_users import cabinet_principal
from classledger.application.principal import Principal
from classledger.application.tenants import hash_key
from classledger.http.errors import ApiError
from classledger.http.offload import run_in_threadpool
from classledger.http.throttle import throttle_of
from classledger.projections.cabinet_users import CabinetUsers
from classledger.projections.keys import StaffKeys
from classledger.system import System

# RFC 6750 §2.1: the scheme is case-insensitive, the token is one run of b64token characters.
BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="classledger"'}


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "unauthenticated", message, headers=CHALLENGE)


def _presented(request: Request) -> str | None:
    """The bearer secret of the request; None when it carries none (no header, or one
    that is no ``Bearer`` secret: a mistake, not a guess, and not counted as a failure)."""
    match = BEARER.fullmatch(request.headers.get("authorization", ""))
    return match.group(1) if match is not None else None


def presented_digest(request: Request) -> str:
    """The hash of the request's staff key, once the caller's address may still try one
    (429 otherwise) and a key is there at all (401 otherwise): what a request alone says
    about its key, before any lookup."""
    throttle_of(request).check(request)
    key = _presented(request)
    if key is None:
        raise _unauthenticated("send the staff key as Authorization: Bearer KEY")
    return hash_key(key)


def refused(request: Request) -> ApiError:
    """A key that holds no more (or never did): counted against the caller's address."""
    throttle_of(request).failed(request)
    return _unauthenticated("this key is not valid")


async def authenticate(keys: StaffKeyLookup, request: Request) -> Principal:
    digest = presented_digest(request)
    principal = await run_in_threadpool(keys.principal, digest)
    if principal is None:
        raise refused(request)
    return principal


class StaffKeyLookup:
    """A key's hash → the staff member behind it, as the tenant's record says now.

    Which tenant issued a key never changes, so it is remembered once the read model has
    told it (for up to ``remembered`` keys); whether the key still holds is asked of the
    tenant's record on every request: current in every process (one query to learn whether
    anything was written since), so a key revoked a moment ago elsewhere is refused at once.
    """

    def __init__(self, system: System, remembered: int = 10_000) -> None:
        self.system = system
        self.remembered = remembered
        self._tenant_of: dict[str, UUID] = {}

    def principal(self, digest: str) -> Principal | None:
        tenant_id = self._tenant_of.get(digest) or self._issuer(digest)
        if tenant_id is None:
            return None
        tenant = self.system.app.find(Tenant, tenant_id, tenant_id)
        if tenant is None:
            return None
        # Each of the tenant's keys compared in constant time (a handful): no timing says how
        # close a presented key's hash came to a stored one.
        held = next((k for h, k in tenant.keys.items() if hmac.compare_digest(h, digest)), None)
        if held is None or held.revoked:
            return None
        return Principal(tenant_id, held.staff_id, held.staff_name, held.role, held.city)

    def _issuer(self, digest: str) -> UUID | None:
        keys = self.system.view(StaffKeys)
        row = keys.lookup(digest)
        if row is None:
            # The key may have been issued a moment ago by another process (the CLI) whose
            # event this process has not projected yet: catch up once before saying no.
            self.system.runner.catch_up()
            row = keys.lookup(digest)
        if row is None:
            return None
        if len(self._tenant_of) >= self.remembered:
            self._tenant_of.clear()  # a bound, not a policy: the read model tells them again
        self._tenant_of[digest] = row.tenant_id
        return row.tenant_id


async def authenticate_cabinet_user(system: System, request: Request) -> Principal:
    """DOMAIN §8.2: ``Authorization: Bearer TOKEN`` with a cabinet login token → the parent.
    Logins and staff keys live apart (each found by its hash in its own read model), so a
    staff key opens no cabinet here and a login token no ``/v1`` route there."""
    throttle = throttle_of(request)
    throttle.check(request)
    token = _presented(request)
    if token is None:
        raise _unauthenticated("send your cabinet login token as Authorization: Bearer TOKEN")
    found = await run_in_threadpool(_lookup_login, system, secret_hash(token))
    if found is None:
        throttle.failed(request)
        raise _unauthenticated("this cabinet login is not valid (signed out, replaced, or never issued)")
    return cabinet_principal(*found)


def _lookup_login(system: System, digest: str) -> tuple[UUID, UUID] | None:
    users = system.view(CabinetUsers)
    found = users.login(digest)
    if found is None:
        system.runner.catch_up()  # redeemed a moment ago in another process
        found = users.login(digest)
    if found is None:
        return None
    # As for staff keys: a sign-out a moment ago in another process is in the user's
    # record before it is in the read model; compared in constant time.
    tenant_id, user_id = found
    user = system.app.find(CabinetUser, user_id, tenant_id)
    if user is None or user.login_hash is None or not hmac.compare_digest(user.login_hash, digest):
        return None
    return found
