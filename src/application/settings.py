"""The tenant's settings (DOMAIN §1.6, API §6): ``set_tenant_settings``, a director's.

Unique phones (§2.3) are kept by one ``PhoneIndex`` per number (aggregates/client.py),
kept in step by every write of a client's phones while the setting is on. Turning it on
therefore claims every live client's numbers in the same write, and is refused while two
clients outside one family share a number (the clash is named, to be fixed first);
turning it off releases them, so the index never holds numbers changed while it was off.
"""

from __future__ import annotations

from typing import Any, Literal

from eventsourcing.utils import get_topic

from classledger.aggregates import client as c
from classledger.aggregates import tenant as t
from classledger.aggregates.client import Client, ClientRegistered, PhoneIndex, phone_index_id
from classledger.aggregates.errors import Conflict
from classledger.aggregates.phones import phone_number
from classledger.application.clients import family_of
from classledger.application.registry import Args, Ctx, command


class SetTenantSettings(Args):
    unique_phones: bool | None = None
    no_show_consumes: bool | None = None
    locale: Literal["sk", "ru", "et", "en"] | None = None


def _live_clients(ctx: Ctx) -> list[Client]:
    tenant_id = ctx.principal.tenant_id
    topic = get_topic(ClientRegistered)
    ids = (ctx.app.event_recorder.originator_ids(tenant_id, topic) if ctx.batch is None
           else ctx.batch.originator_ids(tenant_id, topic))
    return [x for x in (ctx.find(Client, i) for i in ids) if x is not None and not x.deleted]


def _claim_every_phone(ctx: Ctx) -> None:
    tenant_id, region = ctx.principal.tenant_id, ctx.tenant.phone_region
    for client in _live_clients(ctx):
        family = family_of(ctx, client)
        for number in sorted({phone_number(p, region) for p in client.phones}):
            idx_id = phone_index_id(tenant_id, number)
            idx = ctx.find(PhoneIndex, idx_id)
            try:
                ctx.emit(c.claim_phone(idx, ctx.meta, idx_id, number, client.id, family))
            except Conflict:
                holder = sorted(str(h) for h in (idx.holders if idx else ()) if h not in family)[0]
                raise Conflict(
                    "phones_not_unique",
                    "two clients outside one family share a phone; change one of them, or link them "
                    "as a family, before phones can be unique",
                    phone=number, client_ids=sorted([holder, str(client.id)]),
                ) from None


def _release_every_phone(ctx: Ctx) -> None:
    tenant_id, region = ctx.principal.tenant_id, ctx.tenant.phone_region
    for client in _live_clients(ctx):
        for number in sorted({phone_number(p, region) for p in client.phones}):
            ctx.emit(c.release_phone(ctx.find(PhoneIndex, phone_index_id(tenant_id, number)), ctx.meta, client.id))


@command("set_tenant_settings", SetTenantSettings, need="director")
def set_tenant_settings(ctx: Ctx, a: SetTenantSettings) -> dict[str, Any]:
    """Record the tenant's settings: unique phones, whether a no-show consumes a lesson, the locale (DOMAIN §1.6)."""
    was = ctx.tenant.settings.unique_phones
    ctx.emit(t.change_settings(ctx.tenant, ctx.meta, unique_phones=a.unique_phones,
                               no_show_consumes=a.no_show_consumes, locale=a.locale))
    now = ctx.tenant.settings.unique_phones
    if now and not was:
        _claim_every_phone(ctx)
    elif was and not now:
        _release_every_phone(ctx)
    tenant = ctx.tenant
    return {"id": tenant.id, "version": tenant.version, "settings": tenant.settings.model_dump()}
