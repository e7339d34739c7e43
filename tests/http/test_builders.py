"""The tests' one builder makes the same school over HTTP as on the System it serves."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from classledger.application.principal import Principal
from classledger.instants import us
from classledger.projections.books import Books
from classledger.projections.clients import ClientDirectory
from tests.builders import T0, School
from tests.http.support import Api


def _make(school: School) -> dict[str, Any]:
    branch = school.branch("Juh", "Košice")
    school.lesson_type("group", "Skupina", "15.00")
    template = school.pass_template("G10", "120.00", 10, 60, "group")
    client = school.client("Ema", branch, tags=["trial"])
    school.pass_sold(template, [client], branch, payment="on_credit")
    school.payment(client, "20.00", branch, method="card")
    card = school.system.view(ClientDirectory).card(school.tenant_id, uuid.UUID(client))
    assert card is not None
    balance = school.system.view(Books).balance(school.tenant_id, uuid.UUID(client), as_of=us(datetime.max.replace(tzinfo=T0.tzinfo)))
    return {"name": card["name"], "tags": card["tags"], "balance": balance["total"]}


def test_a_school_over_http_is_the_school_on_the_system(api: Api) -> None:
    direct = School.open(api.system)
    over_http = _make(api.school)
    assert over_http == _make(direct)
    assert over_http == {"name": "Ema", "tags": ["trial"], "balance": "100.00"}  # owes 120.00 less the 20.00 paid (DOMAIN §6.5)


def test_over_http_a_refusal_is_the_apps(api: Api) -> None:
    with pytest.raises(AssertionError, match="forbidden_role"):
        api.school.run("add_branch", {"name": "X", "city": "Y"}, api.school.admin)  # a director's command


def test_the_clock_steps_unless_told() -> None:
    runs: list[datetime] = []

    def record(who: Principal, command: str, args: dict[str, Any], at: datetime) -> dict[str, Any]:
        runs.append(at)
        return {}

    school = School(None, uuid.uuid4(), T0, record)  # type: ignore[arg-type]  # no System: the runner is all it uses
    school.run("first", {})
    school.run("told", {}, at=T0)
    school.run("second", {})
    assert runs == [T0 + school.step, T0, T0 + 2 * school.step]
