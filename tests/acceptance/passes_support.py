"""A school selling passes: two cities, lesson types group and individual, a few templates."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from classledger.application.principal import Principal
from classledger.instants import us
from classledger.projections.books import Books
from classledger.projections.passes import PassBook
from classledger.system import System
from tests.builders import T0, OnSchool, School, system_run


class PassSchool(OnSchool):
    """Built on the tests' one builder (tests/builders.py); the names below are its records."""

    def __init__(self, system: System, *, no_show_consumes: bool = False) -> None:
        self.school = School(system, uuid.uuid4(), T0, system_run(system), step=timedelta(minutes=5))
        self.school.create_tenant("Š", no_show_consumes=no_show_consumes)
        self.system = system
        self.tenant_id = self.school.tenant_id
        self.director, self.regional, self.admin = self.school.director, self.school.regional, self.school.admin
        self.ba = self.school.branch("Centrum", "Bratislava")
        self.ke = self.school.branch("Košice", "Košice")
        self.school.lesson_type("group", "Group", "15.00")
        self.school.lesson_type("individual", "Individual", "30.00")
        self.client = self.new_client("Eva")
        self.group10 = self.template("Group 10", "120.00", 10, 60, "group")

    def run(self, command: str, args: dict[str, Any], who: Principal | None = None) -> dict[str, Any]:
        return self.school.run(command, args, who)

    def new_client(self, name: str, branch: str | None = None) -> str:
        return self.school.client(name, branch or self.ba)

    def template(self, name: str, price: str, lessons: int, days: int, lesson_type: str, **flags: bool) -> str:
        return self.school.pass_template(name, price, lessons, days, lesson_type, **flags)

    def sell(self, template: str | None = None, clients: list[str] | None = None, *, payment: str = "paid",
             valid_from: date = date(2026, 3, 2), **extra: Any) -> dict[str, Any]:
        return self.school.pass_sold(template or self.group10, clients or [self.client], extra.pop("branch_id", self.ba),
                                     payment=payment, valid_from=valid_from, **extra)

    def visit(self, day: date = date(2026, 3, 3), client: str | None = None, lesson_type: str = "group",
              status: str = "attended") -> dict[str, Any]:
        return self.run("record_visit", {"client_id": client or self.client, "lesson_type": lesson_type,
                                         "date": day.isoformat(), "status": status})

    @property
    def books(self) -> Books:
        return self.system.view(Books)

    @property
    def passes(self) -> PassBook:
        return self.system.view(PassBook)

    def balance(self, client: str | None = None) -> dict[str, Any]:
        return self.books.balance(self.tenant_id, uuid.UUID(client or self.client), as_of=us(self.clock))

    def accounts(self) -> dict[str, str]:
        tb = self.books.trial_balance(self.tenant_id, as_of=us(self.clock))
        assert tb["total"] == "0.00"
        return dict(tb["accounts"])

    def card(self, client: str | None = None, day: date = date(2026, 3, 3)) -> dict[str, Any]:
        return self.passes.card_part(self.tenant_id, uuid.UUID(client or self.client), day)
