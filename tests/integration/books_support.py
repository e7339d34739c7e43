"""A school with two cities, a director, a city-bound director and a client: the books' tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.instants import us
from classledger.projections.books import Books
from classledger.system import System

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class School:
    def __init__(self, system: System) -> None:
        self.system = system
        self.tenant_id = uuid.uuid4()
        system.execute(system_principal(self.tenant_id), "create_tenant", {"name": "Š", "timezone": "Europe/Bratislava", "currency": "EUR"}, at=T0)
        self.director = Principal(self.tenant_id, uuid.uuid4(), "Jana", "director")
        self.admin = Principal(self.tenant_id, uuid.uuid4(), "Peter", "admin")
        self.ba = system.execute(self.director, "add_branch", {"name": "Centrum", "city": "Bratislava"}, at=T0)["id"]
        self.ke = system.execute(self.director, "add_branch", {"name": "Košice", "city": "Košice"}, at=T0)["id"]
        self.kosice_director = Principal(self.tenant_id, uuid.uuid4(), "Ivan", "director", "Košice")
        self.client = system.execute(self.admin, "register_client", {"name": "Eva", "branch_id": self.ba}, at=T0)["id"]
        self.clock = T0

    def run(self, command: str, args: dict, who: Principal | None = None) -> dict:
        self.clock += timedelta(minutes=5)
        return self.system.execute(who or self.admin, command, args, at=self.clock)

    @property
    def books(self) -> Books:
        return self.system.view(Books)

    def balance(self, at: datetime | None = None) -> dict:
        return self.books.balance(self.tenant_id, uuid.UUID(self.client), as_of=us(at or self.clock))
