"""``Authorization: Bearer KEY`` → the staff member behind the key (API §3, DOMAIN §1.4).

Only the key's hash is stored (``hash_key``); the ``StaffKeys`` read model maps it to the
tenant, the staff member, the role and the city. Every role may read; what each may
write is decided by the pipeline (``Principal.require``), not here.
"""

from __future__ import annotations

import re
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from classledger.aggregates.cabinet_user import secret_hash
from classledger.application.cabinet_users import cabinet_principal
from classledger.application.principal import Principal
from classledger.application.tenants import hash_key
from classledger.http.errors import ApiError
from classledger.projections.cabinet_users import CabinetUsers
from classledger.projections.keys import KeyRow, StaffKeys
from classledger.system import System

# RFC 6750 §2.1: the scheme is case-insensitive, the token is one run of b64token characters.
BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *")
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="classledger"'}


def _unauthenticated(message: str) -> ApiError:
    return ApiError(401, "unauthenticated", message, headers=CHALLENGE)


async def authenticate(system: System, request: Request) -> Principal:
    match = BEARER.fullmatch(request.headers.get("authorization", ""))
    if match is None:
        raise _unauthenticated("send the staff key as Authorization: Bearer KEY")
    digest = hash_key(match.group(1))
    row = await run_in_threadpool(_lookup, system, digest)
    if row is None:
        raise _unauthenticated("this key is not valid")
    return Principal(row.tenant_id, row.staff_id, row.staff_name, row.role, row.city)


def _lookup(system: System, digest: str) -> KeyRow | None:
    keys = system.view(StaffKeys)
    row = keys.lookup(digest)
    if row is None:
        # The key may have been issued a moment ago by another process (the CLI) whose
        # event this process has not projected yet: catch up once before saying no.
        system.runner.catch_up()
        row = keys.lookup(digest)
    return row


async def authenticate_cabinet_user(system: System, request: Request) -> Principal:
    """DOMAIN §8.2: ``Authorization: Bearer TOKEN`` with a cabinet login token → the parent.
    Logins and staff keys live apart (each found by its hash in its own read model), so a
    staff key opens no cabinet here and a login token no ``/v1`` route there."""
    match = BEARER.fullmatch(request.headers.get("authorization", ""))
    if match is None:
        raise _unauthenticated("send your cabinet login token as Authorization: Bearer TOKEN")
    found = await run_in_threadpool(_lookup_login, system, secret_hash(match.group(1)))
    if found is None:
        raise _unauthenticated("this cabinet login is not valid (signed out, replaced, or never issued)")
    return cabinet_principal(*found)


def _lookup_login(system: System, digest: str) -> tuple[UUID, UUID] | None:
    users = system.view(CabinetUsers)
    found = users.login(digest)
    if found is None:
        system.runner.catch_up()  # redeemed a moment ago in another process
        found = users.login(digest)
    return found
