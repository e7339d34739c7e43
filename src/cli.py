"""The ``classledger`` command (API §1).

Every command that prints data prints JSON with ``--json`` (and a readable form
without); errors go to stderr as the API's error body, with a non-zero exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson

from classledger import views
from classledger.aggregates.errors import Refused
from classledger.aggregates.tenant import LOCALES, Tenant, check_not_ahead
from classledger.application.importer import Importer, read_lines
from classledger.application.tenants import system_principal
from classledger.cli_replay import DESCRIPTION as REPLAY_DESCRIPTION
from classledger.cli_replay import add_arguments as add_replay_arguments
from classledger.cli_replay import run as run_replay
from classledger.roles import LADDER, ROLES
from classledger.store.audit_key import AuditKey, AuditKeyError, audit_key_from_env
from classledger.store.database import DatabaseURLError, database_url
from classledger.system import System, now


class CLIError(Exception):
    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.body = {"error": {"code": code, "message": message, "details": details or {}}}


def emit(data: Any, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
    else:
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n")


def parse_tier(text: str) -> tuple[str, int]:
    name, sep, limit = text.rpartition(":")
    if not sep or not name or not limit.isdigit():
        raise argparse.ArgumentTypeError(f"a tier is NAME:MAX, e.g. Basic:100 (got {text!r})")
    return name, int(limit)


def parse_month(text: str) -> str:
    y, sep, m = text.partition("-")
    if not (sep and len(y) == 4 and y.isdigit() and len(m) == 2 and m.isdigit() and 1 <= int(m) <= 12):
        raise argparse.ArgumentTypeError(f"a month is YYYY-MM (got {text!r})")
    return text


def parse_switch(text: str) -> bool:
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"on or off (got {text!r})")
    return text == "on"


def parse_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {text!r}") from None


def parse_instant(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"an instant is ISO-8601 with an offset, e.g. 2025-03-01T08:00:00+01:00 (got {text!r})") from None
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError(f"an instant needs its UTC offset, e.g. {text}+01:00")
    return at


def business_clock(at: datetime | None) -> datetime:
    """``--at`` (API §6: a school moving in starts at the beginning of its history), or now;
    never more than a few minutes ahead of now."""
    server_now = now()
    if at is None:
        return server_now
    check_not_ahead(at, server_now)
    return at


def ensure_tenant(system: System, tenant_id: uuid.UUID) -> None:
    try:
        found = system.app.get(tenant_id)
    except Exception:
        found = None
    if not isinstance(found, Tenant):
        raise CLIError("tenant_not_found", f"no tenant {tenant_id}", {"tenant_id": str(tenant_id)})


def cmd_tenant_create(system: System, a: argparse.Namespace) -> None:
    tenant_id = a.id or uuid.uuid4()
    args = {"id": str(tenant_id), "name": a.name, "timezone": a.timezone, "currency": a.currency, "tiers": a.tier}
    ans = system.execute(system_principal(tenant_id), "create_tenant", args, at=business_clock(a.at))
    emit({"tenant_id": ans["tenant_id"]}, a.json)


def cmd_tenant_settings(system: System, a: argparse.Namespace) -> None:
    ensure_tenant(system, a.tenant)
    args = {k: v for k, v in (("unique_phones", a.unique_phones), ("no_show_consumes", a.no_show_consumes),
                              ("locale", a.locale)) if v is not None}
    ans = system.execute(system_principal(a.tenant), "set_tenant_settings", args,
                         at=business_clock(a.at), monotonic_clock=True)
    emit({"tenant_id": str(a.tenant), "settings": ans["settings"]}, a.json)


def cmd_key_create(system: System, a: argparse.Namespace) -> None:
    ensure_tenant(system, a.tenant)
    args = {"role": a.role, "staff": a.staff, "city": a.city}
    # A key dated in the past joins the history in time order, like an imported line.
    ans = system.execute(system_principal(a.tenant), "issue_key", args, at=business_clock(a.at),
                         monotonic_clock=a.at is not None)
    emit({"key": ans["key"], "staff_id": ans["staff_id"]}, a.json)


def cmd_key_list(system: System, a: argparse.Namespace) -> None:
    from classledger.aggregates.tenant import Tenant
    from classledger.application.tenants import staff_keys

    tenant = system.app.find(Tenant, a.tenant, a.tenant)
    if tenant is None:
        raise CLIError("tenant_not_found", f"no tenant {a.tenant}")
    emit({"items": staff_keys(tenant, system_principal(a.tenant))}, a.json)


def cmd_key_revoke(system: System, a: argparse.Namespace) -> None:
    args = {"key_id": str(a.key_id), "reason": a.reason}
    ans = system.execute(system_principal(a.tenant), "revoke_key", args, at=now())
    emit({"key_id": ans["id"], "staff_id": ans["staff_id"], "revoked": True}, a.json)


def cmd_secrets_scrub(system: System, a: argparse.Namespace) -> None:
    from classledger.application.scrub import scrub_secrets

    emit(scrub_secrets(system.store, system.app.commands), a.json)


def cmd_import(system: System, a: argparse.Namespace) -> None:
    importer = Importer(system.app, a.tenant, unknown_actor_role=a.actor_role, server_clock=now)
    progress_bar: Any = None
    progress: Callable[[int], None] | None = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        with open(a.file, "rb") as f:
            total = sum(1 for _ in f)
        progress_bar = tqdm(total=total, unit="line", file=sys.stderr, dynamic_ncols=True)
        progress = progress_bar.update
    try:
        summary = importer.run(read_lines(a.file), stop_on_error=a.stop_on_error, progress=progress)
    finally:
        if progress_bar is not None:
            progress_bar.close()
    system.runner.catch_up()
    emit(summary.as_json(), True)
    if summary.rejected:
        sys.exit(1)


def cmd_serve(system: System, a: argparse.Namespace) -> None:
    from classledger.http.serve import serve

    warn_if_development_key(system.store.audit_key)
    serve(system, a.host, a.port, workers=a.workers)


def cmd_demo(system: System, a: argparse.Namespace) -> None:
    from classledger.demo import DemoError, run_demo

    try:
        run_demo(system, clients=a.clients, seed=a.seed, host=a.host, port=a.port, serve_api=not a.no_serve,
                 keys_file=a.keys_file)
    except DemoError as e:
        raise CLIError(e.code, e.message, e.details) from None


def cmd_report_activity(system: System, a: argparse.Namespace) -> None:
    system.runner.catch_up()
    report = views.activity_report(system, a.tenant, a.month, now())
    if report is None:
        raise CLIError("tenant_not_found", f"no tenant {a.tenant}")
    emit(report, a.json)


def expire_due_passes(system: System, tenant_id: uuid.UUID, at: datetime) -> dict[str, Any]:
    """Breakage for every pass whose validity ended before ``at``'s day in the tenant's
    calendar with lessons left (DOMAIN §4.3, §6.3): the nightly job, run by cron.

    Each pass is expired under the idempotency key ``breakage:<pass id>``, so a rerun, or
    two runs at once, post nothing twice; a pass restored later by ``extend_pass`` and
    expired again is a new validity, so its key names the end of validity too.
    """
    from classledger.aggregates.passes import Pass
    from classledger.aggregates.tenant import Tenant
    from classledger.projections.passes import PassBook

    try:
        tenant = system.app.get(tenant_id)
    except Exception:
        raise CLIError("tenant_not_found", f"no tenant {tenant_id}") from None
    if not isinstance(tenant, Tenant):
        raise CLIError("tenant_not_found", f"no tenant {tenant_id}")
    day = at.astimezone(tenant.zone).date()
    system.runner.catch_up()
    due = [p for p in system.view(PassBook).report(tenant_id, start=None, end=None, include_expired=True, today=day)
           if p["state"] == "expired" and p["lessons_remaining"] > 0]
    who = system_principal(tenant_id, "breakage job")
    posted, amounts = [], []
    for p in due:
        held = system.app.get(uuid.UUID(p["id"]))
        if not isinstance(held, Pass) or held.unearned <= 0:
            continue  # its breakage is already posted (or its lessons carry no value)
        answer = system.execute(who, "expire_pass", {"pass_id": p["id"]}, at=at,
                                idempotency_key=f"breakage:{p['id']}:{p['valid_until']}")
        if answer.get("transaction_id"):
            posted.append(answer["transaction_id"])
            amounts.append(answer["amount"])
    return {"day": day.isoformat(), "expired_with_lessons": len(due), "transactions": posted, "amounts": amounts}


def cmd_passes_expire(system: System, a: argparse.Namespace) -> None:
    emit(expire_due_passes(system, a.tenant, now()), a.json)


def cmd_audit_verify(system: System, a: argparse.Namespace) -> None:
    answer = views.audit_verify(system, a.tenant, a.expect_head)
    emit(answer, a.json)
    if not answer["ok"]:
        sys.exit(1)


def cmd_audit_head(system: System, a: argparse.Namespace) -> None:
    """What an auditor keeps, outside the system (DOMAIN §9.4): the head of a chain that
    verifies now. A broken chain gives no head to keep: the verify answer, and exit status 1."""
    ok, answer = views.audit_head(system, a.tenant, now())
    emit(answer, a.json)
    if not ok:
        sys.exit(1)


def warn_if_development_key(key: AuditKey) -> None:
    if key.development:
        sys.stderr.write(
            "WARNING: NO AUDIT KEY CONFIGURED. The event log's hash chain is keyed with the published\n"
            "development key, so it proves nothing to an auditor. Set CLASSLEDGER_AUDIT_KEY or\n"
            "CLASSLEDGER_AUDIT_KEY_FILE before real data is written (docs/operations.md, Audit).\n"
        )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="classledger",
        description=f"classledger — database: CLASSLEDGER_DATABASE_URL (now {database_url()})",
    )
    sub = p.add_subparsers(dest="group", required=True)

    tenant = sub.add_parser("tenant", help="tenants").add_subparsers(dest="action", required=True)
    tc = tenant.add_parser("create", help="create a tenant")
    tc.add_argument("--name", required=True)
    tc.add_argument("--timezone", required=True, help="IANA zone, e.g. Europe/Bratislava")
    tc.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR")
    tc.add_argument("--tier", action="append", type=parse_tier, default=[], help="NAME:MAX, repeatable")
    tc.add_argument("--id", type=parse_uuid)
    tc.add_argument("--at", type=parse_instant,
                    help="the instant it is recorded at (default: now); a school moving in gives the start of its history")
    tc.add_argument("--json", action="store_true")
    tc.set_defaults(run=cmd_tenant_create)
    ts = tenant.add_parser("settings", help="record the tenant's settings (DOMAIN §1.6)")
    ts.add_argument("--tenant", required=True, type=parse_uuid)
    ts.add_argument("--unique-phones", type=parse_switch, help="on|off: one phone number, one client (outside a family)")
    ts.add_argument("--no-show-consumes", type=parse_switch, help="on|off: an absent visit consumes a lesson")
    ts.add_argument("--locale", choices=LOCALES, help="for people-facing pages and exports")
    ts.add_argument("--at", type=parse_instant, help="the instant it is recorded at (default: now)")
    ts.add_argument("--json", action="store_true")
    ts.set_defaults(run=cmd_tenant_settings)

    key = sub.add_parser("key", help="staff keys").add_subparsers(dest="action", required=True)
    kc = key.add_parser("create", help="issue a staff key (shown once)")
    kc.add_argument("--tenant", required=True, type=parse_uuid)
    kc.add_argument("--role", required=True, choices=ROLES)
    kc.add_argument("--staff", required=True, help="the staff member's name (recorded as actor)")
    kc.add_argument("--city", help="restrict the staff member to one city (DOMAIN §6.6)")
    kc.add_argument("--at", type=parse_instant,
                    help="the instant it is recorded at (default: now), not before the tenant's latest event")
    kc.add_argument("--json", action="store_true")
    kc.set_defaults(run=cmd_key_create)
    kl = key.add_parser("list", help="the tenant's staff keys: holder, role, city, issued, revoked (never a key)")
    kl.add_argument("--tenant", required=True, type=parse_uuid)
    kl.add_argument("--json", action="store_true")
    kl.set_defaults(run=cmd_key_list)
    kr = key.add_parser("revoke", help="revoke a staff key by its id (see key list): it stops working at once")
    kr.add_argument("--tenant", required=True, type=parse_uuid)
    kr.add_argument("key_id", type=parse_uuid)
    kr.add_argument("--reason", help="why (recorded with the event)")
    kr.add_argument("--json", action="store_true")
    kr.set_defaults(run=cmd_key_revoke)

    se = sub.add_parser("secrets", help="secrets at rest").add_subparsers(dest="action", required=True)
    ss = se.add_parser("scrub", help="take the secrets earlier versions kept out of the command log (run once, "
                       "with the server stopped)")
    ss.add_argument("--json", action="store_true")
    ss.set_defaults(run=cmd_secrets_scrub)

    im = sub.add_parser("import", help="run a JSONL command file")
    im.add_argument("--tenant", required=True, type=parse_uuid)
    im.add_argument("file")
    im.add_argument("--stop-on-error", action="store_true")
    im.add_argument("--actor-role", choices=LADDER, help="role for actors with no staff key")
    im.add_argument("--json", action="store_true", help="(the summary is always JSON)")
    im.set_defaults(run=cmd_import)

    sv = sub.add_parser("serve", help="serve the HTTP API")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--workers", type=int, default=1,
                    help="worker processes, each its own System on the same database (one per CPU core)")
    sv.set_defaults(run=cmd_serve)

    dm = sub.add_parser("demo", help="create a demo tenant with generated data and serve it")
    dm.add_argument("--clients", type=int, default=300)
    dm.add_argument("--seed", type=int, default=7)
    dm.add_argument("--host", default="127.0.0.1")
    dm.add_argument("--port", type=int, default=8000)
    dm.add_argument("--no-serve", action="store_true", help="generate and print, do not serve")
    dm.add_argument("--keys-file", help="where the demo keeps its staff keys between runs "
                                        "(default: beside a SQLite database, else ./classledger-demo-keys.json)")
    dm.set_defaults(run=cmd_demo)

    rp = sub.add_parser("report", help="reports").add_subparsers(dest="action", required=True)
    ra = rp.add_parser("activity", help="the month's active-client peak and tier (DOMAIN §5)")
    ra.add_argument("--tenant", required=True, type=parse_uuid)
    ra.add_argument("--month", required=True, type=parse_month, help="YYYY-MM")
    ra.add_argument("--json", action="store_true")
    ra.set_defaults(run=cmd_report_activity)

    pa = sub.add_parser("passes", help="passes").add_subparsers(dest="action", required=True)
    pe = pa.add_parser("expire", help="breakage for every pass that ended with lessons left (run nightly)")
    pe.add_argument("--tenant", required=True, type=parse_uuid)
    pe.add_argument("--json", action="store_true")
    pe.set_defaults(run=cmd_passes_expire)

    au = sub.add_parser("audit", help="audit tools").add_subparsers(dest="action", required=True)
    av = au.add_parser("verify", help="verify a tenant's event hash chain (DOMAIN §9.3)")
    av.add_argument("--tenant", required=True, type=parse_uuid)
    av.add_argument("--expect-head", metavar="HASH",
                    help="the head's hash an auditor kept (`audit head`): fail unless the log still reaches it")
    av.add_argument("--json", action="store_true")
    av.set_defaults(run=cmd_audit_verify)
    ah = au.add_parser("head", help="verify, then print the chain's head for the auditor to keep (DOMAIN §9.4)")
    ah.add_argument("--tenant", required=True, type=parse_uuid)
    ah.add_argument("--json", action="store_true")
    ah.set_defaults(run=cmd_audit_head)

    # Works on the store directly, not through a running system: it builds tables apart.
    rb = sub.add_parser("replay", help="rebuild, verify or month-replay projections (API §5)",
                        description=REPLAY_DESCRIPTION)
    add_replay_arguments(rb)
    rb.set_defaults(replay=rb)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if getattr(args, "replay", None) is not None:
        sys.exit(run_replay(args, args.replay))
    try:
        key = audit_key_from_env(os.environ)
    except AuditKeyError as e:
        sys.stderr.write(orjson.dumps({"error": {"code": "bad_audit_key", "message": str(e), "details": {}}}).decode() + "\n")
        sys.exit(2)
    try:
        system = System.open(audit_key=key)
    except DatabaseURLError as e:
        sys.stderr.write(orjson.dumps({"error": {"code": "bad_database_url", "message": str(e), "details": {}}}).decode() + "\n")
        sys.exit(2)
    try:
        args.run(system, args)
    except Refused as e:
        body = {"error": {"code": e.code, "message": e.message, "details": e.details}}
        sys.stderr.write(orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS).decode() + "\n")
        sys.exit(2)
    except CLIError as e:
        sys.stderr.write(orjson.dumps(e.body).decode() + "\n")
        sys.exit(2)
    except FileNotFoundError as e:
        sys.stderr.write(orjson.dumps({"error": {"code": "file_not_found", "message": str(e), "details": {}}}).decode() + "\n")
        sys.exit(2)
    finally:
        system.close()


if __name__ == "__main__":  # pragma: no cover
    main()
