"""A school selling passes: two cities, lesson types group and individual, a few templates."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.instants import us
from classledger.projections.books import Books
from classledger.projections.passes import PassBook
from classledger.system import System

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class PassSchool:
    def __init__(self, system: System, *, no_show_consumes: bool = False) -> None:
        self.system = system
        self.tenant_id = uuid.uuid4()
        system.execute(system_principal(self.tenant_id), "create_tenant",
                       {"name": "Š", "timezone": "Europe/Bratislava", "currency": "EUR",
                        "no_show_consumes": no_show_consumes}, at=T0)
        self.director = Principal(self.tenant_id, uuid.uuid4(), "Jana", "director")
        self.regional = Principal(self.tenant_id, uuid.uuid4(), "Rita", "regional_director")
        self.admin = Principal(self.tenant_id, uuid.uuid4(), "Peter", "admin")
        self.clock = T0
        self.ba = self.run("add_branch", {"name": "Centrum", "city": "Bratislava"}, who=self.director)["id"]
        self.ke = self.run("add_branch", {"name": "Košice", "city": "Košice"}, who=self.director)["id"]
        self.run("define_lesson_type", {"code": "group", "name": "Group", "single_visit_price": "15.00"}, who=self.director)
        self.run("define_lesson_type", {"code": "individual", "name": "Individual", "single_visit_price": "30.00"},
                 who=self.director)
        self.client = self.new_client("Eva")
        self.group10 = self.template("Group 10", "120.00", 10, 60, "group")

    def run(self, command: str, args: dict[str, Any], who: Principal | None = None) -> dict[str, Any]:
        self.clock += timedelta(minutes=5)
        return self.system.execute(who or self.admin, command, args, at=self.clock)

    def new_client(self, name: str, branch: str | None = None) -> str:
        return str(self.run("register_client", {"name": name, "branch_id": branch or self.ba})["id"])

    def template(self, name: str, price: str, lessons: int, days: int, lesson_type: str, **flags: bool) -> str:
        return str(self.run("create_pass_template", {"name": name, "price": price, "lessons": lessons,
                                                     "validity_days": days, "lesson_type": lesson_type, **flags},
                            who=self.director)["id"])

    def sell(self, template: str | None = None, clients: list[str] | None = None, *, payment: str = "paid",
             valid_from: date = date(2026, 3, 2), **extra: Any) -> dict[str, Any]:
        args = {"template_id": template or self.group10, "client_ids": clients or [self.client],
                "branch_id": extra.pop("branch_id", self.ba), "valid_from": valid_from.isoformat(),
                "payment": payment, **extra}
        if payment == "paid":
            args.setdefault("method", "cash")
        return self.run("sell_pass", args)

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
