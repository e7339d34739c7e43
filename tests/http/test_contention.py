"""Contention on one record, through a real server with two worker processes (``serve
--workers 2``) on each database: many payments to one client's account at once, and a
registration rush into one popular group (DOMAIN §3.2). Every request gets its outcome;
none is refused because the others wrote first (no ``409 concurrency_conflict``)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from classledger.aggregates.course import Group
from classledger.system import System
from tests.builders import School as Builder
from tests.concurrency import run_in_threads

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
CLIENTS = 100
CAPACITY = 30
BUDGET_S = 120  # the whole rush, on a shared 2-core machine


@dataclass
class School:
    url: str
    database_url: str
    key: str
    branch: str
    group: str
    clients: list[str]

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{self.url}{path}", data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"Bearer {self.key}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=BUDGET_S) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def get(self, path: str) -> dict[str, Any]:
        request = urllib.request.Request(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.key}"})
        with urllib.request.urlopen(request, timeout=30) as r:
            return dict(json.loads(r.read()))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _set_up(database_url: str) -> tuple[str, str, str, list[str]]:
    system = System.open(database_url)
    try:
        school = Builder.open(system, name="Rush", at=T0)
        key = school.key("director", "Jana")

        def run(command: str, args: dict[str, Any]) -> dict[str, Any]:
            return school.run(command, args, school.director, at=T0)

        branch = school.branch(at=T0)
        school.lesson_type("group", "Group", "15.00", at=T0)
        course = run("create_course", {"name": "Salsa", "lesson_type": "group"})["id"]
        group = str(run("create_group", {"course_id": str(course), "branch_id": branch, "name": "Tuesday",
                                         "capacity": CAPACITY, "starts_on": "2027-02-01",
                                         "ends_on": "2027-06-30"})["id"])
        clients = [school.client(f"Client {i}", branch, who=school.director, at=T0) for i in range(CLIENTS)]
        return str(key), branch, group, clients
    finally:
        system.close()


@pytest.fixture
def school(database_url: str, tmp_path: Path) -> Iterator[School]:
    key, branch, group, clients = _set_up(database_url)
    port = _free_port()
    env = {**os.environ, "CLASSLEDGER_DATABASE_URL": database_url}
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen([sys.executable, "-m", "classledger.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.DEVNULL, stderr=log, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.3)
        yield School(url, database_url, key, branch, group, clients)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        log.seek(0)
        assert "Traceback" not in log.read()
        log.close()


def test_a_registration_rush_into_one_group_answers_every_request(school: School) -> None:
    """§3.2: 100 clients register at once into a group of 30: every request is answered with
    its outcome, 30 registered and 70 waitlisted, and the group holds exactly that."""
    answers: list[tuple[int, dict[str, Any]]] = []
    started = time.monotonic()
    errors = run_in_threads(lambda c: answers.append(school.post("/v1/registrations", {
        "client_id": c, "group_id": school.group})), school.clients)
    elapsed = time.monotonic() - started
    assert errors == []
    assert Counter(status for status, _ in answers) == {201: CLIENTS}, [a for a in answers if a[0] != 201][:3]
    states = Counter(body["state"] for _, body in answers)
    assert states == {"registered": CAPACITY, "waitlist": CLIENTS - CAPACITY}
    system = System.open(school.database_url)
    try:
        group = system.app.get(uuid.UUID(school.group))
        assert isinstance(group, Group)
        assert (len(group.seats), len(group.queue)) == (CAPACITY, CLIENTS - CAPACITY)
    finally:
        system.close()
    assert elapsed < BUDGET_S


def test_many_payments_to_one_account_at_once_are_all_taken(school: School) -> None:
    """§6.3: 200 payments of 1.00 to one client at once: every one is taken, none refused,
    and the balance is −200.00."""
    client = school.clients[0]
    answers: list[int] = []
    started = time.monotonic()
    errors = run_in_threads(lambda i: answers.append(school.post("/v1/payments", {
        "client_id": client, "amount": "1.00", "method": "cash", "branch_id": school.branch,
        "note": f"part {i}"})[0]), range(200))
    elapsed = time.monotonic() - started
    assert errors == []
    assert Counter(answers) == {201: 200}
    balance = school.get(f"/v1/clients/{client}/balance")
    assert Decimal(balance["total"]) == Decimal("-200.00")
    assert elapsed < BUDGET_S
