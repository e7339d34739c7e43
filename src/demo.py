"""``classledger demo``: a realistic demo tenant, generated through the real command path.

The data is a JSONL command stream (the same format ``classledger import`` reads), run
by the importer with a business clock over the past year: a Slovak children's centre with
branches in four cities, staff of every role (the front desk records clients, sales,
payments and visits; the director the catalogue, cancellations, refunds, corrections,
discounts and write-offs; the regional director a lesson transfer; every key is issued
when the year begins), clients whose names and phones are Slovak (Faker's ``sk_SK``, the
tenant's country), families and tags, and every kind of journal entry.

Re-running on the same database reuses the tenant and its keys: their plain text is
shown once by the system, so the demo keeps it in a keys file (``--keys-file``; beside a
SQLite database, else in the working directory), readable by its owner only.
"""

from __future__ import annotations

import heapq
import os
import random
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from faker import Faker

from classledger.aggregates.tenant import Tenant
from classledger.application.importer import Importer
from classledger.application.tenants import hash_key, system_principal
from classledger.bootstrap import COMMANDS
from classledger.system import System, now

ZONE = ZoneInfo("Europe/Bratislava")
DEMO_NS = uuid.UUID("1b0c3f7e-6a52-4b8f-9d0e-3f6d2a1c9e44")
DIRECTOR = "Jana Nováková"
ADMIN = "Peter Kováč"
KOSICE_ADMIN = "Katarína Tóthová"
REGIONAL = "Martin Horváth"
STAFF = [
    (DIRECTOR, "director", None),
    (ADMIN, "admin", None),
    (KOSICE_ADMIN, "admin", "Košice"),
    ("Mária Szabóová", "accountant", None),
    (REGIONAL, "regional_director", None),
    ("Operátor", "operator", None),
]
BRANCHES = [("Slniečko Centrum", "Bratislava"), ("Slniečko Petržalka", "Bratislava"), ("Slniečko Košice", "Košice"),
            ("Slniečko Žilina", "Žilina"), ("Slniečko Nitra", "Nitra")]
LOCALE = "sk_SK"  # the tenant's country: names and phone numbers look Slovak
TAGS = ["trial", "newsletter", "sibling-discount", "summer-camp", "vip", "needs-invoice"]


def demo_tenant_id(seed: int) -> uuid.UUID:
    return uuid.uuid5(DEMO_NS, f"demo:{seed}")


def actor_for(command: str, city: str | None = None) -> str:
    """Who records a line: the role the command needs, the front desk of the client's city."""
    need = COMMANDS[command].need
    if need == "regional_director":
        return REGIONAL
    if need == "admin":
        return KOSICE_ADMIN if city == "Košice" else ADMIN
    return DIRECTOR


def _line(at: datetime, command: str, args: dict[str, Any], actor: str = DIRECTOR) -> bytes:
    return orjson.dumps({"at": at.isoformat(), "actor": actor, "command": command, "args": args})


PASS_TEMPLATES = [  # name, price, lessons, validity days, lesson type
    ("Skupina 8 lekcií", "88.00", 8, 70, "group"),
    ("Skupina 12 lekcií", "120.00", 12, 100, "group"),
    ("Individuálne 5 lekcií", "115.00", 5, 60, "individual"),
]
EPISODE_CLIENTS = 8  # see ``episodes``
MONTHLY = ("Mesačná skupinová", "52.00", 4, "group")  # valid for a calendar month (DOMAIN §4.1)
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
    fk = Faker(LOCALE)
    fk.seed_instance(seed)
    end = start + timedelta(days=366)
    heap: list[tuple[datetime, int, str, dict[str, Any]]] = []
    seq = iter(range(10**9))

    def at(when: datetime, command: str, args: dict[str, Any]) -> None:
        heapq.heappush(heap, (when, next(seq), command, args))

    def uid(kind: str, n: int) -> str:
        return str(uuid.uuid5(tenant_id, f"{kind}:{n}"))

    branch_ids = {name: uid("branch", i) for i, (name, _) in enumerate(BRANCHES)}
    client_city: dict[str, str] = {}
    setup = start
    at(setup, "set_tenant_settings", {"locale": "sk"})
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
    template_ids[MONTHLY[0]] = uid("template", len(PASS_TEMPLATES))
    at(setup, "create_pass_template", {"id": template_ids[MONTHLY[0]], "name": MONTHLY[0], "price": MONTHLY[1],
                                       "lessons": MONTHLY[2], "validity_months": 1, "lesson_type": MONTHLY[3],
                                       "allow_overlap": True})
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
    made = EPISODE_CLIENTS  # the episodes' clients count among the demo's
    while made < clients:
        name, city = rnd.choice(BRANCHES)
        branch = branch_ids[name]
        family_size = rnd.choice([0, 0, 1, 1, 2, 3])
        parent = None
        if family_size:
            clock += timedelta(minutes=step * rnd.random())
            parent = uid("client", n)
            n += 1
            at(clock, "register_client", _client_args(fk, rnd, uuid.UUID(parent), branch, adult=True, today=clock.date()))
            client_city[parent] = city
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
            client_city[child] = city
            made += 1
            if parent and rnd.random() < 0.3:
                # DOMAIN §6.3: a family's discount, applied at the child's next sales
                at(clock + timedelta(minutes=2), "tag_client", {"client_id": child, "tag": "sibling-discount"})
                at(clock + timedelta(minutes=4), "give_discount", {"client_id": child, "kind": "percent", "value": "10",
                                                                   "reason": "súrodenecká zľava"})
            elif rnd.random() < 0.3:
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

    episodes(at, uid, fk, rnd, branch_ids[BRANCHES[0][0]], template_ids, start + timedelta(days=300), client_city)
    cities = {**client_city}
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
        # The director sets the school up; the year is everyone's work.
        actor = DIRECTOR if when == setup else actor_for(command, cities.get(client) if client else None)
        yield _line(when, command, args, actor)


Push = Callable[[datetime, str, dict[str, Any]], None]


def episodes(at: Push, uid: Callable[[str, int], str], fk: Faker, rnd: random.Random, branch: str,
             template_ids: dict[str, str], begin: datetime, client_city: dict[str, str]) -> None:
    """One client's story for each journal kind the everyday year may not give: a refund,
    a recalculation, a cancelled payment, a correction, a write-off, a discount at sale, a
    lesson transfer and a visit charged with no pass (DOMAIN §4.3, §4.7–§4.10, §6.3–§6.4),
    each on clients of its own."""
    group8, individual = template_ids[PASS_TEMPLATES[0][0]], template_ids[PASS_TEMPLATES[2][0]]

    def client(k: int, day: int) -> tuple[str, datetime]:
        cid = uid("episode-client", k)
        when = begin + timedelta(days=day)
        at(when, "register_client", _client_args(fk, rnd, uuid.UUID(cid), branch, adult=True,
                                                 today=when.astimezone(ZONE).date()))
        client_city[cid] = BRANCHES[0][1]
        return cid, when

    def sale(pid: str, cid: str, when: datetime, template: str, payment: str = "paid") -> None:
        args: dict[str, Any] = {"id": pid, "template_id": template, "client_ids": [cid], "branch_id": branch,
                                "valid_from": when.astimezone(ZONE).date().isoformat(), "payment": payment}
        if payment == "paid":
            args["method"] = "card"
        at(when, "sell_pass", args)

    def visit(n: int, cid: str, when: datetime, lesson_type: str = "group") -> None:
        at(when, "record_visit", {"id": uid("episode-visit", n), "client_id": cid, "lesson_type": lesson_type,
                                  "date": when.astimezone(ZONE).date().isoformat(), "status": "attended"})

    c, t = client(0, 0)  # a refund: two lessons used, the family moves away
    sale(uid("episode-pass", 0), c, t + timedelta(minutes=5), group8)
    visit(0, c, t + timedelta(days=2))
    visit(1, c, t + timedelta(days=9))
    at(t + timedelta(days=10), "refund_pass", {"pass_id": uid("episode-pass", 0), "method": "cash",
                                               "comment": "rodina sa odsťahovala"})
    c, t = client(1, 1)  # a recalculation: from group lessons to individual ones
    sale(uid("episode-pass", 1), c, t + timedelta(minutes=5), group8)
    visit(2, c, t + timedelta(days=2))
    at(t + timedelta(days=5), "recalculate_pass", {"pass_id": uid("episode-pass", 1), "template_id": individual})
    c, t = client(2, 2)  # a payment entered for the wrong client, cancelled; a correction
    at(t + timedelta(minutes=5), "receive_payment", {"id": uid("episode-payment", 0), "client_id": c, "amount": "30.00",
                                                     "method": "cash", "branch_id": branch})
    at(t + timedelta(hours=1), "cancel_transaction", {"transaction_id": uid("episode-payment", 0),
                                                      "reason": "zaevidované nesprávnemu klientovi"})
    at(t + timedelta(hours=2), "post_correction", {"id": uid("episode-correction", 0), "client_id": c, "branch_id": branch,
                                                   "amount": "5.00", "reason": "poplatok za stratenú kartu"})
    c, t = client(3, 3)  # a debt never paid, written off
    sale(uid("episode-pass", 3), c, t + timedelta(minutes=5), group8, payment="on_credit")
    at(t + timedelta(days=40), "write_off_debt", {"client_id": c, "city": BRANCHES[0][1], "reason": "nevymožiteľný dlh"})
    c, t = client(4, 4)  # a discount at sale, on a monthly pass
    at(t + timedelta(minutes=2), "give_discount", {"client_id": c, "kind": "percent", "value": "15",
                                                   "reason": "zamestnanecká zľava"})
    sale(uid("episode-pass", 4), c, t + timedelta(minutes=5), template_ids[MONTHLY[0]])
    giver, t = client(5, 5)  # a lesson transfer between two clients
    taker, _ = client(6, 5)
    sale(uid("episode-pass", 5), giver, t + timedelta(minutes=5), individual)
    at(t + timedelta(days=1), "transfer_lessons", {"from_client_id": giver, "to_client_id": taker,
                                                   "lesson_type": "individual", "count": 2})
    c, t = client(7, 6)  # a trial lesson with no pass: charged at the single-visit price (§4.3)
    visit(3, c, t + timedelta(days=1))
    at(t + timedelta(days=1, hours=1), "receive_payment", {"id": uid("episode-payment", 1), "client_id": c,
                                                           "amount": "12.00", "method": "cash", "branch_id": branch})


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
    """Create the demo tenant and its history; returns figures about the run, with the
    staff keys (issued as the year begins) under ``keys``."""
    tenant_id = demo_tenant_id(seed)
    start = now() - timedelta(days=366)
    principal = system_principal(tenant_id)
    system.execute(
        principal,
        "create_tenant",
        {"id": str(tenant_id), "name": "Detské centrum Slniečko (demo)", "timezone": "Europe/Bratislava", "currency": "EUR", "tiers": [["Start", 100], ["Standard", 300], ["Plus", 1000], ["Max", 5000]]},
        at=start,
    )
    # The director sets the school up; the other keys follow once there are branches (a
    # key may be bound to one city, DOMAIN §6.6).
    keys = {DIRECTOR: system.app.execute(principal, "issue_key", {"role": "director", "staff": DIRECTOR}, at=start)["key"]}
    setup = start + timedelta(minutes=1)
    lines = list(commands(tenant_id, clients=clients, seed=seed, start=setup))
    first = [raw for raw in lines if orjson.loads(raw)["at"] == setup.isoformat()]
    importer = Importer(system.app, tenant_id, server_clock=now)
    t0 = time.perf_counter()
    summary = importer.run(first, stop_on_error=True)
    if not summary.rejected:
        for staff, role, city in STAFF[1:]:
            answer = system.app.execute(principal, "issue_key", {"role": role, "staff": staff, "city": city},
                                        at=setup + timedelta(seconds=30), monotonic_clock=True)
            keys[staff] = answer["key"]
        rest = importer.run(lines[len(first):], stop_on_error=True)
        summary.applied += rest.applied
        summary.rejected += rest.rejected
        summary.errors += rest.errors
    elapsed = time.perf_counter() - t0
    if summary.rejected:
        raise RuntimeError(f"demo data was refused: {summary.errors[:3]}")
    system.runner.catch_up()
    return {"tenant_id": str(tenant_id), "commands": summary.applied, "seconds": round(elapsed, 2),
            "commands_per_second": round(summary.applied / elapsed, 1) if elapsed else None, "keys": keys}


def default_keys_file(database: str) -> str:
    """Beside a SQLite database (``classledger.db.demo-keys.json``), else in the working directory."""
    if database.startswith("sqlite:///"):
        return database.removeprefix("sqlite:///") + ".demo-keys.json"
    return "classledger-demo-keys.json"


def _saved_keys(path: str, tenant: Tenant) -> dict[str, str] | None:
    """The keys file's keys, when each is still a live key of the demo tenant."""
    try:
        with open(path, "rb") as f:
            saved = orjson.loads(f.read())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(saved, dict) or saved.get("tenant_id") != str(tenant.id):
        return None
    keys = saved.get("keys")
    if not isinstance(keys, dict) or {s for s, _, _ in STAFF} - set(keys):
        return None
    live = {h for h, k in tenant.keys.items() if not k.revoked}
    if not all(isinstance(k, str) and hash_key(k) in live for k in keys.values()):
        return None
    return keys


def _save_keys(path: str, tenant_id: uuid.UUID, keys: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps({"tenant_id": str(tenant_id), "keys": keys}, option=orjson.OPT_INDENT_2))


def check_port_free(host: str, port: int) -> None:
    """Fail before building anything when the API could not be served there."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind((host, port))
        except OSError as e:
            raise DemoError("port_unavailable", f"cannot serve on {host}:{port}: {e.strerror or e}",
                            host=host, port=port) from None


class DemoError(Exception):
    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details


def run_demo(system: System, *, clients: int, seed: int, host: str, port: int, serve_api: bool,
             keys_file: str | None = None) -> None:
    if serve_api:
        check_port_free(host, port)
    tenant_id = demo_tenant_id(seed)
    path = keys_file or default_keys_file(system.store.url)
    out: dict[str, Any] = {"tenant_id": str(tenant_id), "database": system.store.url}
    keys: dict[str, str] | None = None
    if system.app.event_recorder.latest_at(tenant_id) is None:
        sys.stderr.write(f"generating the demo tenant ({clients} clients, a year of history)...\n")
        figures = generate(system, clients=clients, seed=seed)
        keys = figures.pop("keys")
        out["generated"] = figures
    else:
        tenant = system.app.get(tenant_id)
        keys = _saved_keys(path, tenant) if isinstance(tenant, Tenant) else None
        out["reused"] = keys is not None
    if keys is None:  # the tenant is there but its keys are not: new ones, from now on
        keys = {}
        for staff, role, city in STAFF:
            ans = system.execute(system_principal(tenant_id), "issue_key", {"role": role, "staff": staff, "city": city},
                                 at=now())
            keys[staff] = ans["key"]
    _save_keys(path, tenant_id, keys)
    roles = {staff: role for staff, role, _ in STAFF}
    shown: dict[str, Any] = {}
    for staff, key in keys.items():
        role = roles[staff]
        shown[role if role not in shown else f"{role}:{staff}"] = {"staff": staff, "key": key}
    out["keys"] = shown
    out["keys_file"] = path
    if serve_api:
        base = f"http://{host}:{port}"
        out["docs"] = f"{base}/docs"
        out["try"] = f"curl -H 'Authorization: Bearer {keys[DIRECTOR]}' '{base}/v1/clients?limit=5'"
    sys.stdout.write(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stdout.flush()
    if serve_api:
        from classledger.http.serve import serve

        serve(system, host, port)
