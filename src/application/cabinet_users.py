"""Cabinet users (DOMAIN §8.2): staff register a parent's login, the parent redeems the
invitation and links clients by proving them. The rules and their reasons are in
``aggregates.cabinet_user``.

Two kinds of principal run these commands. Staff (``need="admin"``) register users and
re-invite or sign them out. A signed-in parent (``need="cabinet"``, see
``cabinet_principal``) acts on its own user only: the user id is the principal's, never
an argument, so no request can reach another parent's login.
"""

from __future__ import annotations

import math
import secrets
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field, StringConstraints

from classledger.aggregates import cabinet_user as u
from classledger.aggregates.cabinet_user import CabinetUser, secret_hash
from classledger.aggregates.client import Client
from classledger.aggregates.errors import Conflict, TooMany
from classledger.application.fields import Day
from classledger.application.principal import CABINET_ROLE, Principal
from classledger.application.registry import Args, Ctx, command
from classledger.application.service import ClassLedger

INVITATION_VALID = timedelta(days=14)
MAX_CANDIDATES = 50
PROOF_ACCEPTED, PROOF_REFUSED = "accepted", "refused"

Secret = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def cabinet_principal(tenant_id: UUID, user_id: UUID) -> Principal:
    """The principal of a signed-in parent; its actor name says it was no staff member."""
    return Principal(tenant_id, user_id, f"cabinet user {user_id}", CABINET_ROLE)



def _answer(ctx: Ctx, user_id: UUID, **extra: Any) -> dict[str, Any]:
    return {"id": user_id, "version": ctx.get(CabinetUser, user_id).version, **extra}


def _invitation(ctx: Ctx) -> tuple[str, datetime]:
    """A fresh invitation, valid for ``INVITATION_VALID`` from the command's time."""
    return secrets.token_urlsafe(32), ctx.meta.at + INVITATION_VALID


# ---- staff -------------------------------------------------------------------------------


class InviteCabinetUser(Args):
    id: UUID | None = None


@command("invite_cabinet_user", InviteCabinetUser, shown_once=("invitation",))
def invite_cabinet_user(ctx: Ctx, a: InviteCabinetUser) -> dict[str, Any]:
    """Register a parent's cabinet user (DOMAIN §8.2) and answer its single-use invitation.
    Only the invitation's sha256 is in the events; the answer alone holds the invitation
    (the command log keeps it without: a retry is 409 ``secret_not_repeated``, and
    ``reinvite_cabinet_user`` gives a new invitation that replaces a lost one)."""
    if a.id is not None and ctx.exists(a.id):
        raise Conflict("duplicate_id", f"the id {a.id} is already in use", id=str(a.id))
    user_id = ctx.new_id(a.id)
    invitation, expires_at = _invitation(ctx)
    ctx.emit(u.register(user_id, ctx.meta, secret_hash(invitation), expires_at))
    return _answer(ctx, user_id, invitation=invitation, expires_at=expires_at.isoformat())


class UserArgs(Args):
    user_id: UUID


@command("reinvite_cabinet_user", UserArgs, shown_once=("invitation",))
def reinvite_cabinet_user(ctx: Ctx, a: UserArgs) -> dict[str, Any]:
    """A new invitation for a cabinet user (a lost login); redeeming it replaces the login."""
    invitation, expires_at = _invitation(ctx)
    ctx.emit(u.invite(ctx.get(CabinetUser, a.user_id), ctx.meta, secret_hash(invitation), expires_at))
    return _answer(ctx, a.user_id, invitation=invitation, expires_at=expires_at.isoformat())


@command("revoke_cabinet_user_login", UserArgs)
def revoke_cabinet_user_login(ctx: Ctx, a: UserArgs) -> dict[str, Any]:
    """Sign a cabinet user out: its login token stops working (e.g. a stolen phone)."""
    ctx.emit(u.revoke_login(ctx.get(CabinetUser, a.user_id), ctx.meta))
    return _answer(ctx, a.user_id)


def cabinet_user_status(app: ClassLedger, tenant_id: UUID, user_id: UUID, today: date) -> dict[str, Any] | None:
    """What the front desk needs when a parent calls (DOMAIN §8.2): signed in or not, an
    open invitation, the linked clients, and today's failed proofs against the daily
    limit. Never a secret or its hash. None when the tenant has no such user."""
    user = app.find(CabinetUser, user_id, tenant_id)
    if user is None:
        return None
    failures = user.failures_on(today)
    return {
        "id": str(user_id),
        "version": user.version,
        "signed_in": user.login_hash is not None,
        "invitation_expires_at": user.invitation_expires_at.isoformat()
        if user.invitation_hash is not None and user.invitation_expires_at is not None else None,
        # An erased client is no longer reached by any login (DOMAIN §2.9).
        "client_ids": [str(c) for c in user.client_ids if not _erased(app, tenant_id, c)],
        "failed_proofs_today": failures,
        "attempts_left_today": max(0, u.MAX_FAILURES_PER_DAY - failures),
    }


def _erased(app: ClassLedger, tenant_id: UUID, client_id: UUID) -> bool:
    client = app.find(Client, client_id, tenant_id)
    return client is not None and client.erased


# ---- the parent ---------------------------------------------------------------------------


class RedeemInvitation(Args):
    invitation: Secret


@command("redeem_cabinet_invitation", RedeemInvitation, need="cabinet", shown_once=("token",))
def redeem_cabinet_invitation(ctx: Ctx, a: RedeemInvitation) -> dict[str, Any]:
    """Redeem an invitation for a login token; the token is in this answer only."""
    user_id = ctx.principal.staff_id
    token = secrets.token_urlsafe(32)
    ctx.emit(u.redeem(ctx.get(CabinetUser, user_id), ctx.meta, secret_hash(a.invitation), secret_hash(token)))
    return _answer(ctx, user_id, token=token)


class NoArgs(Args):
    pass


@command("revoke_cabinet_login", NoArgs, need="cabinet")
def revoke_cabinet_login(ctx: Ctx, a: NoArgs) -> dict[str, Any]:
    """Sign out: the login token presented stops working."""
    user_id = ctx.principal.staff_id
    ctx.emit(u.revoke_login(ctx.get(CabinetUser, user_id), ctx.meta))
    return _answer(ctx, user_id)


class LinkClient(Args):
    """A proof of one client (DOMAIN §8.2). ``candidate_ids`` are the clients the identity
    index finds for the birth date and phone; the HTTP route fills them in, never the
    caller. Each is checked against its own record here, so a wrong or stale candidate
    can only fail the proof."""

    phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    birth_date: Day
    surname: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    candidate_ids: list[UUID] = Field(default_factory=list, max_length=MAX_CANDIDATES)


def _retry_after(ctx: Ctx, today: date) -> int:
    """Seconds until the tenant's next midnight, when the day's attempts start again."""
    zone = ctx.tenant.zone
    midnight = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone)
    return max(1, math.ceil((midnight - ctx.meta.at).total_seconds()))


@command("link_cabinet_client", LinkClient, need="cabinet")
def link_cabinet_client(ctx: Ctx, a: LinkClient) -> dict[str, Any]:
    """Prove a client's phone, birth date and surname and link it to your login. A failed
    proof is recorded (it counts against the day's attempts) and answered ``proof:
    refused``; once the day's attempts are used up, nothing is tried until tomorrow."""
    user_id = ctx.principal.staff_id
    user = ctx.get(CabinetUser, user_id)
    today = ctx.today
    if u.attempts_left(user, today) == 0:
        seconds = _retry_after(ctx, today)
        raise TooMany("too_many_attempts",
                      f"{u.MAX_FAILURES_PER_DAY} proofs failed today; try again tomorrow",
                      retry_after=seconds, limit=u.MAX_FAILURES_PER_DAY)
    candidates = [c for c in (ctx.find(Client, cid) for cid in dict.fromkeys(a.candidate_ids)) if c is not None]
    events, proved = u.prove_and_link(user, ctx.meta, candidates, phone=a.phone, birth_date=a.birth_date,
                                      surname=a.surname, today=today,
                                      region=ctx.tenant.phone_region)
    ctx.emit(events)
    left = u.attempts_left(ctx.get(CabinetUser, user_id), today)
    return _answer(ctx, user_id, proof=PROOF_ACCEPTED if proved else PROOF_REFUSED, client_ids=proved,
                   attempts_left=left)


class UnlinkClient(Args):
    client_id: UUID


@command("unlink_cabinet_client", UnlinkClient, need="cabinet")
def unlink_cabinet_client(ctx: Ctx, a: UnlinkClient) -> dict[str, Any]:
    """Take a client off your login; proving it again links it again."""
    user_id = ctx.principal.staff_id
    ctx.emit(u.unlink(ctx.get(CabinetUser, user_id), ctx.meta, a.client_id))
    return _answer(ctx, user_id)
