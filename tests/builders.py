"""The tests' one builder of schools: a tenant and what it sells, made by running commands.

``School.open(system)`` creates a tenant (Europe/Bratislava, EUR unless told) with an
admin, a director and a regional director, and then makes branches, lesson types,
clients, pass templates, passes and payments, each call returning the new record's id
(or the command's answer). Every command goes through one ``Run``: ``system_run`` runs it
on a ``System`` at the builder's clock; ``http_run`` sends it to the app's
``/v1/commands`` with the key of the principal's role (the server's clock then decides).
The support modules of the test packages build their schools on it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.system import System

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# How a command is run: (principal, command, args, at) → the answer.
Run = Callable[[Principal, str, dict[str, Any], datetime], dict[str, Any]]


def system_run(system: System) -> Run:
    """Commands run on ``system``, at the instant given."""

    def run(who: Principal, command: str, args: dict[str, Any], at: datetime) -> dict[str, Any]:
        return system.execute(who, command, args, at=at)

    return run


def http_run(http: TestClient, keys: Mapping[str, str], system: System) -> Run:
    """Commands sent over HTTP (``POST /v1/commands``) with the key of the principal's
    role; tenant set-up (``need="system"``), which no key may run, goes to ``system``."""
    direct = system_run(system)

    def run(who: Principal, command: str, args: dict[str, Any], at: datetime) -> dict[str, Any]:
        if who.role == "system":
            return direct(who, command, args, at)
        r = http.post("/v1/commands", json={"command": command, "args": args},
                      headers={"Authorization": f"Bearer {keys[who.role]}"})
        assert r.status_code in (200, 201), r.text
        answer: dict[str, Any] = r.json()
        return answer

    return run


@dataclass
class School:
    """One tenant and its staff; ``run`` advances the clock by ``step`` unless given ``at``."""

    system: System
    tenant_id: uuid.UUID
    clock: datetime
    run_on: Run
    step: timedelta = timedelta(minutes=1)
    admin: Principal = field(init=False)
    director: Principal = field(init=False)
    regional: Principal = field(init=False)

    def __post_init__(self) -> None:
        self.admin = Principal(self.tenant_id, uuid.uuid4(), "Peter", "admin")
        self.director = Principal(self.tenant_id, uuid.uuid4(), "Jana", "director")
        self.regional = Principal(self.tenant_id, uuid.uuid4(), "Rita", "regional_director")

    @classmethod
    def open(cls, system: System, *, name: str = "Š", at: datetime = T0, step: timedelta = timedelta(minutes=1),
             run: Run | None = None, **settings: Any) -> School:
        """A new tenant, created at ``at`` (``create_tenant``)."""
        school = cls(system, uuid.uuid4(), at, run or system_run(system), step)
        school.create_tenant(name, **settings)
        return school

    def create_tenant(self, name: str = "Š", **settings: Any) -> None:
        """The tenant, created at the clock: ``settings`` are ``create_tenant``'s other
        arguments (``timezone`` and ``currency`` default to Europe/Bratislava and EUR)."""
        self.run("create_tenant", {"name": name, "timezone": "Europe/Bratislava", "currency": "EUR", **settings},
                 who=system_principal(self.tenant_id), at=self.clock)

    def run(self, command: str, args: dict[str, Any], who: Principal | None = None, *,
            at: datetime | None = None) -> dict[str, Any]:
        """Run one command as ``who`` (the admin unless told): at ``at``, or one step after
        the previous command without one."""
        if at is None:
            self.clock += self.step
            at = self.clock
        return self.run_on(who or self.admin, command, args, at)

    def principal(self, role: str, name: str, city: str | None = None) -> Principal:
        """Another member of staff of this tenant."""
        return Principal(self.tenant_id, uuid.uuid4(), name, role, city)

    def key(self, role: str, staff: str | None = None, city: str | None = None) -> str:
        """A new staff key of ``role`` (the secret itself)."""
        args = {"role": role, "staff": staff or f"{role} person", **({"city": city} if city else {})}
        return str(self.run("issue_key", args, who=system_principal(self.tenant_id), at=self.clock)["key"])

    def branch(self, name: str = "Centrum", city: str = "Bratislava", *, at: datetime | None = None) -> str:
        return str(self.run("add_branch", {"name": name, "city": city}, who=self.director, at=at)["id"])

    def lesson_type(self, code: str, name: str, price: str, *, at: datetime | None = None) -> None:
        self.run("define_lesson_type", {"code": code, "name": name, "single_visit_price": price},
                 who=self.director, at=at)

    def client(self, name: str, branch: str, *, who: Principal | None = None, at: datetime | None = None,
               **fields: Any) -> str:
        return str(self.run("register_client", {"name": name, "branch_id": branch, **fields}, who=who, at=at)["id"])

    def pass_template(self, name: str, price: str, lessons: int, days: int, lesson_type: str, **flags: Any) -> str:
        return str(self.run("create_pass_template", {"name": name, "price": price, "lessons": lessons,
                                                     "validity_days": days, "lesson_type": lesson_type, **flags},
                            who=self.director)["id"])

    def pass_sold(self, template: str, clients: list[str], branch: str, *, payment: str = "paid",
                  valid_from: date = date(2026, 3, 2), who: Principal | None = None, **extra: Any) -> dict[str, Any]:
        """Sell a pass (the whole answer: its id, the transaction's); paid in cash unless told."""
        args = {"template_id": template, "client_ids": clients, "branch_id": branch,
                "valid_from": valid_from.isoformat(), "payment": payment, **extra}
        if payment == "paid":
            args.setdefault("method", "cash")
        return self.run("sell_pass", args, who=who)

    def payment(self, client: str, amount: str, branch: str, *, method: str = "cash", who: Principal | None = None,
                **extra: Any) -> str:
        """A payment received from ``client``: its transaction's id."""
        return str(self.run("receive_payment", {"client_id": client, "amount": amount, "method": method,
                                                "branch_id": branch, **extra}, who=who)["id"])


class OnSchool:
    """A test's own school class built on ``School`` (held as ``self.school``): its clock
    is the builder's, read and moved through it."""

    school: School

    @property
    def clock(self) -> datetime:
        return self.school.clock

    @clock.setter
    def clock(self, at: datetime) -> None:
        self.school.clock = at
