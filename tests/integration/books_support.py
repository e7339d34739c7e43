"""A school with two cities, a director, a city-bound director and a client: the books' tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from classledger.application.principal import Principal
from classledger.instants import us
from classledger.projections.books import Books
from classledger.system import System
from tests.builders import T0, OnSchool, system_run
from tests.builders import School as Builder


class School(OnSchool):
    """Built on the tests' one builder (tests/builders.py): the set-up at ``T0``, then five
    minutes between commands."""

    def __init__(self, system: System) -> None:
        self.school = Builder(system, uuid.uuid4(), T0, system_run(system), step=timedelta(minutes=5))
        self.school.create_tenant("Š")
        self.system = system
        self.tenant_id = self.school.tenant_id
        self.director, self.admin = self.school.director, self.school.admin
        self.ba = self.school.branch("Centrum", "Bratislava", at=T0)
        self.ke = self.school.branch("Košice", "Košice", at=T0)
        self.kosice_director = self.school.principal("director", "Ivan", "Košice")
        self.client = self.school.client("Eva", self.ba, at=T0)

    def run(self, command: str, args: dict, who: Principal | None = None) -> dict:
        return self.school.run(command, args, who)

    @property
    def books(self) -> Books:
        return self.system.view(Books)

    def balance(self, at: datetime | None = None) -> dict:
        return self.books.balance(self.tenant_id, uuid.UUID(self.client), as_of=us(at or self.clock))
