"""The reads that put one answer together from several read models or from the event store:
the client card, the cabinet, the tenant's "today", the reports, the books, the audit.

The entry points (``http``, ``cli``) parse a request, call one function here and render
what it returns; they never compose read models themselves. Every function is
synchronous and reads as it is called: the caller catches the projections up first when
the answer must see what other processes wrote, and passes the instant the read is for
(``at``), read from the clock at the entry point. Nothing here knows HTTP.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from classledger.aggregates.client import cabinet_token_hash
from classledger.aggregates.tenant import Tenant
from classledger.application.audit import parse_head, staff_actions, verify_chain
from classledger.application.principal import Principal
from classledger.application.readback import group_places, history_items
from classledger.instants import us
from classledger.projections.activity import ActivityTimeline
from classledger.projections.books import Books
from classledger.projections.cabinet import Cabinet
from classledger.projections.cabinet_users import LIST_LIMIT, CabinetUsers
from classledger.projections.catalogue import Catalogue
from classledger.projections.clients import ClientDirectory
from classledger.projections.failures import read_failures
from classledger.projections.passes import PassBook
from classledger.projections.peak import with_peak_clients
from classledger.projections.trail import ClientTrail
from classledger.system import System

# What the cabinet shows of each pass (DOMAIN §8.1): no money, no ids.
_CABINET_PASS = ("lesson_type", "lessons_total", "lessons_remaining", "valid_from", "valid_until", "state")

# ---- the tenant's calendar -----------------------------------------------------------------


def zone(system: System, tenant_id: UUID) -> ZoneInfo:
    """The tenant's time zone (UTC until the tenant has one)."""
    return ZoneInfo(system.view(ClientDirectory).timezone(tenant_id) or "UTC")


def today(system: System, tenant_id: UUID, at: datetime) -> date:
    """``at``'s day on the tenant's calendar."""
    return at.astimezone(zone(system, tenant_id)).date()


# ---- clients -------------------------------------------------------------------------------


def client_known(system: System, tenant_id: UUID, client_id: UUID) -> bool:
    """Whether the tenant has this client (deleted ones included: their reads still answer)."""
    return system.view(ClientDirectory).card(tenant_id, client_id) is not None


def client_card(system: System, tenant_id: UUID, client_id: UUID, at: datetime) -> dict[str, Any] | None:
    """The client card as of ``at`` (API §7): the directory's card with its other parts,
    which live in other read models: activity, registrations, balance, passes."""
    card = system.view(ClientDirectory).card(tenant_id, client_id, at=at)
    if card is not None:
        card["active"] = system.view(ActivityTimeline).is_active(tenant_id, client_id, us(at))
        # Every registration with its state, cancelled ones included, newest first (API §7).
        card["registrations"] = system.view(Catalogue).registrations_of(tenant_id, client_id)
        card["balance"] = system.view(Books).balance(tenant_id, client_id, as_of=us(at))
        card.update(system.view(PassBook).card_part(tenant_id, client_id, today(system, tenant_id, at)))
    return card


def clients_page(
    system: System,
    tenant_id: UUID,
    *,
    at: datetime,
    q: str | None = None,
    tag: str | None = None,
    status: Literal["active", "inactive"] | None = None,
    branch_id: UUID | None = None,
    include: frozenset[str] = frozenset(),
    limit: int,
    cursor: str | None = None,
) -> dict[str, Any]:
    """A page of the client search (DOMAIN §2.7) whose items carry the card's true values
    (API §7): activity, balance, passes, remainders and registrations, read for the whole
    page at once. An unknown cursor raises ``projections.clients.CursorError``."""
    activity = system.view(ActivityTimeline)
    page = system.view(ClientDirectory).search(
        tenant_id, q=q, tag=tag, status=status, branch_id=branch_id, include=include, limit=limit, cursor=cursor,
        at=at, active_sql=activity.active_subquery(tenant_id, us(at)),
    )
    items: list[dict[str, Any]] = page["items"]
    ids = [str(i["id"]) for i in items]
    active = activity.active_among(tenant_id, ids, us(at))
    balances = system.view(Books).balances(tenant_id, ids, as_of=us(at))
    passes = system.view(PassBook).card_parts(tenant_id, ids, today(system, tenant_id, at))
    registrations = system.view(Catalogue).registrations_of_many(tenant_id, ids)
    for item in items:
        cid = str(item["id"])
        item.update(active=cid in active, balance=balances[cid], registrations=registrations[cid], **passes[cid])
    return page


def client_export(system: System, tenant_id: UUID, client_id: UUID, at: datetime) -> dict[str, Any] | None:
    """The right of access (DOMAIN §2.9, API §9): everything the school holds about the
    client, personal data decrypted: the card as ``client_card`` shows it, every event of
    the client and of its related records, and every transaction of theirs."""
    card = client_card(system, tenant_id, client_id, at)
    if card is None:
        return None
    refs: list[tuple[UUID, int]] = []
    cursor: str | None = None
    while True:  # the client's whole history, page by page (ClientTrail)
        page = system.view(ClientTrail).page(tenant_id, client_id, limit=1000, cursor=cursor)
        refs += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    history = history_items(system.app, tenant_id, refs)
    finance = system.view(Books).journal(tenant_id, client_id=client_id, limit=1_000_000)
    return {"client_id": str(client_id), "exported_at": at.isoformat(), "card": card, "history": history,
            "finance": finance}


def client_history(
    system: System, tenant_id: UUID, client_id: UUID, *, limit: int, cursor: str | None
) -> dict[str, Any] | None:
    """Every event of the client and of what is the client's, oldest first, paged (API §7);
    None for an unknown client. An unknown cursor raises ``projections.paging.CursorError``."""
    card = system.view(ClientDirectory).card(tenant_id, client_id)
    if card is None:
        return None
    page = system.view(ClientTrail).page(tenant_id, client_id, limit=limit, cursor=cursor)
    page["items"] = history_items(system.app, tenant_id, page["items"])
    if card.get("erased"):
        # DOMAIN §2.9: the client's own events say their personal data is gone.
        page["erased"] = True
        for item in page["items"]:
            if item["aggregate_id"] == str(client_id):
                item["erased"] = True
    return page


# ---- the catalogue -------------------------------------------------------------------------


def group(system: System, tenant_id: UUID, group_id: UUID, at: datetime) -> dict[str, Any] | None:
    """One group with its counts, every registration it holds (oldest first, with its
    state) and its waitlist in promotion order (DOMAIN §3.2); None for an unknown group."""
    catalogue = system.view(Catalogue)
    found = catalogue.group(tenant_id, group_id, today=today(system, tenant_id, at))
    places = group_places(system.app, tenant_id, group_id)
    if found is None or places is None:
        return None
    held = [*places["seats"], *places["waitlist"]]
    states = catalogue.registration_states(tenant_id, [p["registration_id"] for p in held])
    found["registrations"] = [
        {"id": p["registration_id"], "client_id": p["client_id"], "state": states.get(p["registration_id"])}
        for p in places["seats"]
    ]
    found["waitlist"] = [{**p, "state": states.get(p["registration_id"])} for p in places["waitlist"]]
    return found


# ---- reports -------------------------------------------------------------------------------


def active_clients(system: System, tenant_id: UUID, at: datetime) -> dict[str, Any]:
    """Active and inactive clients at ``at`` (DOMAIN §5)."""
    return {"at": at.isoformat(), **system.view(ActivityTimeline).active_counts(tenant_id, us(at))}


def activity_report(system: System, tenant_id: UUID, month: str, at: datetime) -> dict[str, Any] | None:
    """The month's peak, its day, the count at month end and the tier, with who the peak
    counted and why (DOMAIN §5.8); None when the tenant has no activity records yet."""
    activity = system.view(ActivityTimeline)
    report = activity.report(tenant_id, month, as_of=us(at))
    if report is None:
        return None
    return with_peak_clients(activity, system.view(ClientDirectory), tenant_id, report)


def passes_report(
    system: System, tenant_id: UUID, *, start: date | None, end: date | None, include_expired: bool, at: datetime
) -> list[dict[str, Any]]:
    """Passes whose validity overlaps ``start``–``end`` (DOMAIN §4.5, §4.11), expired ones
    only if asked, in (valid_until, id) order: a total order a cursor can continue."""
    items = system.view(PassBook).report(tenant_id, start=start, end=end, include_expired=include_expired,
                                         today=today(system, tenant_id, at))
    items.sort(key=lambda p: (p["valid_until"], p["id"]))
    return items


# ---- the books -----------------------------------------------------------------------------


def balance(system: System, tenant_id: UUID, client_id: UUID, at: datetime) -> dict[str, Any]:
    """The client's balance as of ``at`` (DOMAIN §6.5)."""
    return {"as_of": at.isoformat(), **system.view(Books).balance(tenant_id, client_id, as_of=us(at))}


def trial_balance(system: System, tenant_id: UUID, at: datetime) -> dict[str, Any]:
    """Every account's balance as of ``at``."""
    return {"as_of": at.isoformat(), **system.view(Books).trial_balance(tenant_id, as_of=us(at))}


def journal_page(
    system: System,
    tenant_id: UUID,
    *,
    from_us: int | None,
    to_us: int | None,
    kind: str | None,
    client_id: UUID | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of the journal (DOMAIN §6), a list like every other (API §7): never cut."""
    return system.view(Books).journal_page(tenant_id, from_us=from_us, to_us=to_us, kind=kind, client_id=client_id,
                                           status=status, limit=limit, cursor=cursor)


def journal_export(
    system: System,
    tenant_id: UUID,
    *,
    from_us: int | None,
    to_us: int | None,
    kind: str | None,
    client_id: UUID | None,
    status: str | None,
) -> tuple[list[dict[str, Any]], str]:
    """The journal's whole range, for an export, with the tenant's currency."""
    books = system.view(Books)
    items = books.journal(tenant_id, from_us=from_us, to_us=to_us, kind=kind, client_id=client_id, status=status,
                          limit=2**62)
    return items, books.tenant_currency(tenant_id)


# ---- the cabinets (DOMAIN §8) --------------------------------------------------------------


def cabinet_owner(system: System, token: str) -> tuple[UUID, UUID] | None:
    """The tenant and client whose cabinet link this is; None for a revoked, replaced or
    unknown link."""
    return system.view(Cabinet).lookup(cabinet_token_hash(token))


def cabinet(system: System, tenant_id: UUID, client_id: UUID, at: datetime) -> tuple[dict[str, Any], Tenant | None] | None:
    """DOMAIN §8.1: the client's read-only cabinet as of ``at`` (balance, attendance, passes
    with the lessons left and their validity) and the tenant it is presented for; None for
    a deleted client."""
    day = today(system, tenant_id, at)
    card = system.view(ClientDirectory).card(tenant_id, client_id, today=day)
    if card is None or card["deleted"]:
        return None
    passes = system.view(PassBook).card_part(tenant_id, client_id, day)
    view = {
        "name": card["name"],
        "as_of": at.isoformat(),
        "balance": system.view(Books).balance(tenant_id, client_id, as_of=us(at)),
        "remainders": passes["remainders"],
        "passes": [{k: p[k] for k in _CABINET_PASS} for p in passes["passes"]],
        "attendance": system.view(Cabinet).attendance(tenant_id, client_id),
    }
    return view, system.app.find(Tenant, tenant_id, tenant_id)


def family_cabinet(system: System, tenant_id: UUID, user_id: UUID, at: datetime) -> dict[str, Any]:
    """DOMAIN §8.2: for each client linked to a parent's login that still exists, its name
    (to tell siblings apart) and invoices, payments, attendance, make-ups, group transfers.
    Nothing else. Read from the cabinet's own read models alone."""
    users = system.view(CabinetUsers)
    day = at.astimezone(ZoneInfo(users.timezone(tenant_id))).date()
    clients = []
    for client_id, name in users.linked(tenant_id, user_id):
        view = users.client_view(tenant_id, client_id, day)
        money = system.view(Books).statement(tenant_id, client_id, limit=LIST_LIMIT)
        clients.append({
            "id": str(client_id), "name": name,
            "invoices": money["invoices"], "payments": money["payments"],
            "attendance": system.view(Cabinet).attendance(tenant_id, client_id),
            "makeups": view["makeups"], "group_transfers": view["group_transfers"],
        })
    return {"user_id": str(user_id), "as_of": at.isoformat(), "clients": clients}


# ---- the audit (DOMAIN §9.3, §9.4) ---------------------------------------------------------


def audit_verify(system: System, tenant_id: UUID, expect_head: str | None = None) -> dict[str, Any]:
    """The tenant's chain recomputed under the deployment's key, with its ``head``; with
    ``expect_head`` (64 hex digits, as ``audit_head`` gives it), whether the log still
    reaches the head an auditor kept."""
    expect = None if expect_head is None else parse_head(expect_head)
    return verify_chain(system.store, tenant_id, expect)


def audit_head(system: System, tenant_id: UUID, at: datetime) -> tuple[bool, dict[str, Any]]:
    """What an auditor keeps, outside the system (DOMAIN §9.4): the head of a chain that
    verifies now, with the key's fingerprint and when it was taken (``at``). A broken
    chain gives no head to keep: ``(False, the verify answer)``."""
    answer = audit_verify(system, tenant_id)
    if not answer["ok"]:
        return False, answer
    head = answer["head"] or {"notification_id": 0, "hash": None}
    return True, {"tenant_id": str(tenant_id), **head, "events": answer["events_checked"], "taken_at": at.isoformat(),
                  "key": answer["key"]}


def audit_actions(
    system: System,
    principal: Principal,
    *,
    actor: str | None,
    from_us: int | None,
    to_us: int | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """Who did what (API §9): the tenant's staff action log, paged."""
    return staff_actions(system.store, principal, actor=actor, from_us=from_us, to_us=to_us, limit=limit,
                         cursor=cursor)


# ---- the deployment ------------------------------------------------------------------------


def health(system: System) -> dict[str, Any]:
    """``{"ok": true}``, or the projections set aside: still alive, but degraded."""
    stuck = read_failures(system.store.db)
    if not stuck:
        return {"ok": True}
    return {"ok": False, "status": "degraded", "stuck": [f.as_json() for f in stuck]}
