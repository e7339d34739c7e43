"""``classledger demo``: a realistic demo tenant, generated through the real command path.

The data is a JSONL command stream (the same format ``classledger import`` reads), run
by the importer with a business clock over the past year: a children's centre with
branches in Slovakia and Estonia, staff of every role, clients with Slovak, Russian and
Estonian names, families and tags. Re-running reuses the tenant and prints fresh keys.
"""

from __future__ import annotations

import heapq
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from faker import Faker

from classledger.application.importer import Importer
from classledger.application.tenants import system_principal
from classledger.system import System, now

ZONE = ZoneInfo("Europe/Bratislava")
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


PASS_TEMPLATES = [  # name, price, lessons, validity days, lesson type
    ("Skupina 8 lekcií", "88.00", 8, 70, "group"),
    ("Skupina 12 lekcií", "120.00", 12, 100, "group"),
    ("Individuálne 5 lekcií", "115.00", 5, 60, "individual"),
]
COURSES = [("Balet", "group"), ("Plávanie", "group"), ("Angličtina", "group"), ("Robotika", "group"), ("Klavír", "individual")]


def terms(start: date, end: date) -> list[tuple[date, date]]:
    """School terms overlapping [start, end]: autumn, spring and a summer camp each year."""
    out = []
    for year in range(start.year - 1, end.year + 1):
        for a, b in ((date(year, 9, 1), date(year + 1, 1, 31)), (date(year + 1, 2, 1), date(year + 1, 6, 30)),
                     (date(year + 1, 7, 1), date(year + 1, 8, 31))):
            if b >= start and a <= end:
                out.append((a, b))
    return sorted(set(out))


def commands(tenant_id: uuid.UUID, *, clients: int, seed: int, start: datetime) -> Iterator[bytes]:
    """The demo's history as a command stream with a monotonic business clock.

    Future actions (re-enrolment for the next term, cancellations, make-up credits,
    archiving) are scheduled on a heap and emitted in time order; at emission the
    generator checks the state of that moment, so every line is one the system accepts.
    """
    rnd = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in ("sk_SK", "ru_RU", "et_EE")}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed + i)
    end = start + timedelta(days=366)
    heap: list[tuple[datetime, int, str, dict[str, Any]]] = []
    seq = iter(range(10**9))

    def at(when: datetime, command: str, args: dict[str, Any]) -> None:
        heapq.heappush(heap, (when, next(seq), command, args))

    def uid(kind: str, n: int) -> str:
        return str(uuid.uuid5(tenant_id, f"{kind}:{n}"))

    branch_ids = {name: uid("branch", i) for i, (name, _) in enumerate(BRANCHES)}
    setup = start
    for name, city in BRANCHES:
        at(setup, "add_branch", {"id": branch_ids[name], "name": name, "city": city})
    at(setup, "define_lesson_type", {"code": "group", "name": "Skupinová lekcia", "single_visit_price": "12.00"})
    at(setup, "define_lesson_type", {"code": "individual", "name": "Individuálna lekcia", "single_visit_price": "25.00"})
    at(setup, "define_custom_field", {"key": "school", "label": "School", "type": "text"})
    at(setup, "define_custom_field", {"key": "tshirt_size", "label": "T-shirt size", "type": "choice", "choices": ["XS", "S", "M", "L"]})
    at(setup, "define_custom_field", {"key": "allergies", "label": "Allergies", "type": "text"})
    # DOMAIN §4.1: the pass catalogue (overlap allowed, so a new pass can be bought early)
    template_ids = {}
    for i, (tname, price, lessons, days, lesson_type) in enumerate(PASS_TEMPLATES):
        template_ids[tname] = uid("template", i)
        at(setup, "create_pass_template", {"id": template_ids[tname], "name": tname, "price": price, "lessons": lessons,
                                           "validity_days": days, "lesson_type": lesson_type, "allow_overlap": True})
    course_ids = [uid("course", i) for i in range(len(COURSES))]
    for cid, (name, lesson_type) in zip(course_ids, COURSES, strict=True):
        at(setup, "create_course", {"id": cid, "name": name, "lesson_type": lesson_type})
    # groups: per branch, course and term; capacity scaled so that most fit and some wait
    groups: list[tuple[str, str, date, date]] = []  # id, branch, starts, ends
    group_type: dict[str, str] = {}  # group id -> its course's lesson type
    capacity = max(6, clients // 60)
    for bname, _ in BRANCHES:
        for ci, cid in enumerate(course_ids):
            for a, b in terms(start.date(), end.date()):
                gid = uid("group", len(groups))
                groups.append((gid, branch_ids[bname], a, b))
                group_type[gid] = COURSES[ci][1]
                at(setup, "create_group", {"id": gid, "course_id": cid, "branch_id": branch_ids[bname],
                                           "name": f"{COURSES[ci][0]} {a:%Y/%m}", "capacity": capacity if ci < 4 else 4,
                                           "starts_on": a.isoformat(), "ends_on": b.isoformat(),
                                           "schedule": [{"weekday": rnd.randrange(5), "starts_at": f"{rnd.randint(14, 18)}:00", "minutes": 45}]})

    def open_groups(branch: str, when: date) -> list[tuple[str, str, date, date]]:
        current = [g for g in groups if g[1] == branch and g[3] >= when and g[2] <= when + timedelta(days=60)]
        return current or [g for g in groups if g[1] == branch and g[3] >= when]

    step = 365 * 24 * 60 * 0.9 / max(clients, 1)
    clock = start + timedelta(hours=1)
    made = n = reg_n = credit_n = pass_n = visit_n = 0

    def sell_and_visit(client: str, branch: str, lesson_type: str, when: datetime) -> None:
        """A pass sold around the enrolment (paid now, or on credit and paid later), then
        weekly visits while it lasts: attended mostly, sometimes a no-show, the odd extra
        visit charged at the single-visit price once the pass is used up (DOMAIN §4.3)."""
        nonlocal pass_n, visit_n
        tname, price, lessons, days, _ = rnd.choice([t for t in PASS_TEMPLATES if t[4] == lesson_type])
        pid = uid("pass", pass_n)
        pass_n += 1
        start_day = when.astimezone(ZONE).date()
        paid = rnd.random() < 0.6
        sale: dict[str, Any] = {"id": pid, "template_id": template_ids[tname], "client_ids": [client],
                                "branch_id": branch, "valid_from": start_day.isoformat(),
                                "payment": "paid" if paid else "on_credit"}
        if paid:
            sale["method"] = rnd.choice(["cash", "card", "bank"])
        at(when, "sell_pass", sale)
        if not paid and rnd.random() < 0.85:
            at(when + timedelta(days=rnd.randint(1, 20)), "receive_payment",
               {"id": uid("payment", pass_n), "client_id": client, "amount": price, "method": "bank",
                "branch_id": branch, "pass_id": pid})
        # breakage (DOMAIN §6.3): the morning after the last valid day
        expiry = datetime.combine(start_day + timedelta(days=days), clock_time(6), tzinfo=ZONE)
        at(expiry, "expire_pass", {"pass_id": pid})
        for k in range(lessons + rnd.choice([-2, -1, 0, 0, 1])):
            visit_at = when + timedelta(days=7 * k + 1, hours=rnd.randint(0, 6))
            if (visit_at.astimezone(ZONE).date() - start_day).days >= days:
                break
            at(visit_at, "record_visit", {"id": uid("visit", visit_n), "client_id": client, "lesson_type": lesson_type,
                                          "date": visit_at.astimezone(ZONE).date().isoformat(),
                                          "status": "attended" if rnd.random() < 0.9 else "absent"})
            visit_n += 1
    while made < clients:
        name, city = rnd.choice(BRANCHES)
        fk = fakers[rnd.choice(LOCALE_BY_CITY[city])]
        branch = branch_ids[name]
        family_size = rnd.choice([0, 0, 1, 1, 2, 3])
        parent = None
        if family_size:
            clock += timedelta(minutes=step * rnd.random())
            parent = uid("client", n)
            n += 1
            at(clock, "register_client", _client_args(fk, rnd, uuid.UUID(parent), branch, adult=True, today=clock.date()))
            made += 1
        for _ in range(max(family_size, 1)):
            if made >= clients:
                break
            clock += timedelta(minutes=step * rnd.random())
            child = uid("client", n)
            n += 1
            args = _client_args(fk, rnd, uuid.UUID(child), branch, adult=False, today=clock.date())
            if parent:
                args["parent_id"] = parent
            at(clock, "register_client", args)
            made += 1
            if rnd.random() < 0.3:
                at(clock + timedelta(minutes=2), "tag_client", {"client_id": child, "tag": rnd.choice(TAGS)})
            if rnd.random() < 0.05:
                at(clock + timedelta(minutes=3), "join_waitlist", {"client_id": child, "comment": "wants Saturday mornings"})
            # enrolment: this term or the next; later terms follow with probability
            when = clock + timedelta(hours=rnd.randint(1, 72))
            options = open_groups(branch, when.astimezone(ZONE).date())
            if not options:
                continue
            g = rnd.choice(options)
            while g is not None and when < end:
                rid = uid("reg", reg_n)
                reg_n += 1
                at(when, "register", {"id": rid, "client_id": child, "group_id": g[0]})
                if rnd.random() < 0.75:
                    sell_and_visit(child, branch, group_type[g[0]], when + timedelta(minutes=30))
                r = rnd.random()
                if r < 0.12:
                    at(when + timedelta(days=rnd.randint(7, 60)), "cancel_registration", {"registration_id": rid, "reason": rnd.choice(["illness", "moved", "schedule clash"])})
                    break
                if r < 0.2:
                    credit = uid("credit", credit_n)
                    credit_n += 1
                    grant = when + timedelta(days=rnd.randint(10, 40))
                    at(grant, "grant_credit", {"id": credit, "registration_id": rid, "kind": "makeup",
                                               "expires_on": (grant.astimezone(ZONE).date() + timedelta(days=rnd.randint(14, 45))).isoformat()})
                if rnd.random() < 0.03:
                    at(when + timedelta(days=rnd.randint(20, 120)), "archive_client", {"client_id": child, "reason": "left the school"})
                    break
                if rnd.random() > 0.7:
                    break
                following = [x for x in groups if x[1] == branch and x[2] > g[3]]
                if not following:
                    break
                g = min(following, key=lambda x: x[2])
                planned = datetime.combine(g[2] - timedelta(days=rnd.randint(3, 20)), clock_time(10), tzinfo=start.tzinfo)
                when = max(planned + timedelta(minutes=rnd.randint(0, 400)), when + timedelta(days=1))

    # Emit in time order, dropping what the state of that moment would refuse.
    archived: set[str] = set()
    cancelled: set[str] = set()
    reg_client: dict[str, str] = {}
    group_end = {g[0]: g[3] for g in groups}
    holds: set[tuple[str, str]] = set()
    known: set[str] = set()
    sold: set[str] = set()
    while heap:
        when, _, command, args = heapq.heappop(heap)
        if when > end:
            continue
        if command == "register_client":
            known.add(args["id"])
        client = args.get("client_id") or reg_client.get(args.get("registration_id", "")) or (
            args["client_ids"][0] if "client_ids" in args else None)
        if client is not None and (client in archived or client not in known):
            continue
        if command == "register":
            # the tenant's calendar decides when a group has ended (DOMAIN §1.2)
            if group_end[args["group_id"]] < when.astimezone(ZONE).date() or (client, args["group_id"]) in holds:
                continue
            reg_client[args["id"]] = args["client_id"]
            holds.add((args["client_id"], args["group_id"]))
        elif command in ("cancel_registration", "grant_credit"):
            rid = args["registration_id"]
            if rid not in reg_client or rid in cancelled:
                continue
            if command == "cancel_registration":
                cancelled.add(rid)
        elif command == "archive_client":
            archived.add(args["client_id"])
        elif command == "sell_pass":
            sold.add(args["id"])
        elif command == "expire_pass" and args["pass_id"] not in sold:
            continue
        yield _line(when, command, args)


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

