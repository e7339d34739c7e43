"""``classledger demo``: a realistic demo tenant, generated through the real command path.

The data is a JSONL command stream (the same format ``classledger import`` reads), run
by the importer with a business clock over the past year: a children's centre with
branches in Slovakia and Estonia, staff of every role, clients with Slovak, Russian and
Estonian names, families and tags. Re-running reuses the tenant and prints fresh keys.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import orjson
from faker import Faker

from classledger.application.importer import Importer
from classledger.application.tenants import system_principal
from classledger.system import System, now

DEMO_NS = uuid.UUID("1b0c3f7e-6a52-4b8f-9d0e-3f6d2a1c9e44")
DIRECTOR = "Jana Nováková"
STAFF = [
    (DIRECTOR, "director", None),
    ("Peter Kováč", "admin", None),
    ("Kadri Tamm", "admin", "Tallinn"),
    ("Olga Smirnova", "accountant", None),
    ("Martin Horváth", "regional_director", None),
    ("Operator", "operator", None),
]
BRANCHES = [("Slniečko Centrum", "Bratislava"), ("Slniečko Petržalka", "Bratislava"), ("Slniečko Košice", "Košice"), ("Päikene Kesklinn", "Tallinn"), ("Päikene Tartu", "Tartu")]
LOCALE_BY_CITY = {"Bratislava": ["sk_SK", "sk_SK", "ru_RU"], "Košice": ["sk_SK"], "Tallinn": ["et_EE", "ru_RU"], "Tartu": ["et_EE"]}
TAGS = ["trial", "newsletter", "sibling-discount", "summer-camp", "vip", "needs-invoice"]


def demo_tenant_id(seed: int) -> uuid.UUID:
    return uuid.uuid5(DEMO_NS, f"demo:{seed}")


def _line(at: datetime, command: str, args: dict[str, Any], actor: str = DIRECTOR) -> bytes:
    return orjson.dumps({"at": at.isoformat(), "actor": actor, "command": command, "args": args})


def commands(tenant_id: uuid.UUID, *, clients: int, seed: int, start: datetime) -> Iterator[bytes]:
    """The demo's history as a command stream, with a monotonic business clock."""
    rnd = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in ("sk_SK", "ru_RU", "et_EE")}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed + i)
    clock = start

    def tick(minutes: float) -> datetime:
        nonlocal clock
        clock += timedelta(minutes=minutes)
        return clock

    branch_ids = {name: uuid.uuid5(tenant_id, f"branch:{name}") for name, _ in BRANCHES}
    for name, city in BRANCHES:
        yield _line(tick(5), "add_branch", {"id": str(branch_ids[name]), "name": name, "city": city})
    yield _line(tick(5), "define_lesson_type", {"code": "group", "name": "Skupinová lekcia", "single_visit_price": "12.00"})
    yield _line(tick(5), "define_lesson_type", {"code": "individual", "name": "Individuálna lekcia", "single_visit_price": "25.00"})
    yield _line(tick(5), "define_custom_field", {"key": "school", "label": "School", "type": "text"})
    yield _line(tick(5), "define_custom_field", {"key": "tshirt_size", "label": "T-shirt size", "type": "choice", "choices": ["XS", "S", "M", "L"]})
    yield _line(tick(5), "define_custom_field", {"key": "allergies", "label": "Allergies", "type": "text"})

    # Spread registrations over the year: minutes between commands.
    step = max(1.0, 365 * 24 * 60 * 0.9 / max(clients, 1))
    made = 0
    n = 0
    while made < clients:
        name, city = rnd.choice(BRANCHES)
        locale = rnd.choice(LOCALE_BY_CITY[city])
        fk = fakers[locale]
        branch = str(branch_ids[name])
        family_size = rnd.choice([0, 0, 1, 1, 2, 3])  # children of one parent client
        parent_id = None
        if family_size:
            parent_id = uuid.uuid5(tenant_id, f"client:{n}")
            n += 1
            yield _line(tick(step * rnd.random()), "register_client", _client_args(fk, rnd, parent_id, branch, adult=True, today=clock.date()))
            made += 1
        for _ in range(max(family_size, 1)):
            if made >= clients:
                break
            child_id = uuid.uuid5(tenant_id, f"client:{n}")
            n += 1
            yield _line(tick(step * rnd.random()), "register_client", _client_args(fk, rnd, child_id, branch, adult=False, today=clock.date()))
            made += 1
            if parent_id is not None:
                yield _line(tick(1), "link_family", {"parent_id": str(parent_id), "member_id": str(child_id)})
            if rnd.random() < 0.3:
                yield _line(tick(2), "tag_client", {"client_id": str(child_id), "tag": rnd.choice(TAGS)})


def _client_args(fk: Faker, rnd: random.Random, client_id: uuid.UUID, branch: str, *, adult: bool, today: date) -> dict[str, Any]:
    age = rnd.randint(28, 50) if adult else rnd.randint(3, 15)
    birth = today - timedelta(days=age * 365 + rnd.randint(0, 364))
    args: dict[str, Any] = {
        "id": str(client_id),
        "name": fk.name(),
        "branch_id": branch,
        "birth_date": birth.isoformat(),
        "tags": rnd.sample(TAGS, k=rnd.choice([0, 0, 1, 2])),
    }
    if adult:
        args["phones"] = [fk.phone_number()]
        args["email"] = fk.ascii_free_email()
        args["consents"] = {"marketing": rnd.random() < 0.6, "data_processing": True}
    else:
        args["card_number"] = f"C{rnd.randint(100000, 999999)}"
        args["custom_fields"] = {"tshirt_size": rnd.choice(["XS", "S", "M", "L"])}
        if rnd.random() < 0.1:
            args["custom_fields"]["allergies"] = rnd.choice(["peanuts", "lactose", "pollen"])
    return args


def generate(system: System, *, clients: int, seed: int) -> dict[str, Any]:
    """Create the demo tenant and its history; returns figures about the run."""
    tenant_id = demo_tenant_id(seed)
    start = now() - timedelta(days=366)
    system.execute(
        system_principal(tenant_id),
        "create_tenant",
        {"id": str(tenant_id), "name": "Detské centrum Slniečko (demo)", "timezone": "Europe/Bratislava", "currency": "EUR", "tiers": [["Start", 100], ["Standard", 300], ["Plus", 1000], ["Max", 5000]]},
        at=start,
    )
    # The history is recorded as the director's work; the other keys come once branches exist.
    system.app.execute(system_principal(tenant_id), "issue_key", {"role": "director", "staff": DIRECTOR}, at=start)
    lines = list(commands(tenant_id, clients=clients, seed=seed, start=start + timedelta(minutes=1)))
    t0 = time.perf_counter()
    summary = Importer(system.app, tenant_id).run(lines, stop_on_error=True)
    elapsed = time.perf_counter() - t0
    if summary.rejected:
        raise RuntimeError(f"demo data was refused: {summary.errors[:3]}")
    system.runner.catch_up()
    return {"tenant_id": str(tenant_id), "commands": summary.applied, "seconds": round(elapsed, 2), "commands_per_second": round(summary.applied / elapsed, 1) if elapsed else None}


def run_demo(system: System, *, clients: int, seed: int, host: str, port: int, serve_api: bool) -> None:
    tenant_id = demo_tenant_id(seed)
    out: dict[str, Any] = {"tenant_id": str(tenant_id), "database": system.store.url}
    if system.app.event_recorder.latest_at(tenant_id) is None:
        sys.stderr.write(f"generating the demo tenant ({clients} clients, a year of history)...\n")
        out["generated"] = generate(system, clients=clients, seed=seed)
    keys = {}
    for staff, role, city in STAFF:
        ans = system.execute(system_principal(tenant_id), "issue_key", {"role": role, "staff": staff, "city": city}, at=now())
        keys[role if role not in keys else f"{role}:{staff}"] = {"staff": staff, "key": ans["key"]}
    out["keys"] = keys
    base = f"http://{host}:{port}"
    out["docs"] = f"{base}/docs"
    out["try"] = f"curl -H 'Authorization: Bearer {keys['director']['key']}' '{base}/v1/clients?limit=5'"
    sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()
    if serve_api:
        from classledger.http.serve import serve

        serve(system, host, port)

