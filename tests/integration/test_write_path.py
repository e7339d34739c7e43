"""The write path on both databases: projections applied inside the command's own
transaction, group commit of concurrent writers, and the aggregate cache kept current by
the notification log across processes."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from classledger.aggregates.errors import Conflict
from classledger.instants import us
from classledger.projections.books import Books
from classledger.projections.clients import ClientDirectory
from classledger.store import hashchain
from classledger.system import System
from classledger.writer import Write, Written
from classledger.writer.group_commit import GroupCommit, Job
from tests.concurrency import run_in_threads
from tests.integration.books_support import School
from tests.integration.test_registrations import School as RegistrationSchool


def positions(system: System) -> set[int]:
    return set(system.runner.positions().values())


def test_a_command_commits_its_events_and_their_read_models_together(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    school = School(system)
    # No catch-up after the command: the write itself must have applied the projections.
    monkeypatch.setattr(system.runner, "catch_up", lambda **_: pytest.fail("catch-up was needed"))
    school.run("receive_payment", {"client_id": school.client, "amount": "25.00", "method": "cash", "branch_id": school.ba})
    head = system.store.recorder.max_notification_id()
    assert positions(system) == {head}
    assert school.balance()["total"] == "-25.00"


def test_a_failing_projection_never_fails_the_write(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    school = School(system)
    handlers = dict(Books.handlers)

    def broken(*_: object) -> None:
        raise RuntimeError("a bug in a read model")

    monkeypatch.setattr(Books, "handlers", dict.fromkeys(handlers, broken))
    answer = school.run("receive_payment", {"client_id": school.client, "amount": "25.00", "method": "cash", "branch_id": school.ba})
    assert answer["ok"]  # the payment is recorded although its read model failed
    # The other read models keep up while the books are stuck.
    eva = school.school.client("Nová Eva", school.ba)
    assert system.view(ClientDirectory).card(school.tenant_id, uuid.UUID(eva)) is not None
    head = system.store.recorder.max_notification_id()
    # The books are stuck for this school only, and say so (projections/failures.py).
    assert [(f.projection, f.tenant_id) for f in system.runner.stuck()] == [("books", str(school.tenant_id))]
    assert system.runner.positions()["clients"] == head
    # The bug is fixed (the code is deployed again): the runner applies what was missed.
    monkeypatch.setattr(Books, "handlers", handlers)
    system.runner.resume()  # what the runner does at start, then every half minute
    system.runner.catch_up()
    assert positions(system) == {head}
    assert system.runner.stuck() == []
    assert school.balance()["total"] == "-25.00"


def test_concurrent_writers_each_land_exactly_once(system: System) -> None:
    school = School(system)
    clients = [school.school.client(f"Klient {i}", school.ba) for i in range(8)]

    def pay(client: str) -> None:
        for _ in range(15):
            system.execute(school.admin, "receive_payment", {"client_id": client, "amount": "1.10", "method": "card", "branch_id": school.ba})

    assert run_in_threads(pay, clients) == []
    system.runner.catch_up()
    books = system.view(Books)
    later = us(datetime(2100, 1, 1, tzinfo=UTC))
    for c in clients:
        assert books.balance(school.tenant_id, uuid.UUID(c), as_of=later)["total"] == "-16.50"
    trial = books.trial_balance(school.tenant_id, as_of=later)
    assert trial["total"] == "0.00"
    assert sum(Decimal(v) for v in trial["accounts"].values()) == 0
    # Batched saves carry the tenant's chain head from job to job (DOMAIN §9.3).
    chain = hashchain.verify(school.tenant_id, system.store.recorder.chain_rows(school.tenant_id))
    assert chain.ok, chain


def test_a_conflict_inside_a_batch_fails_only_its_own_job() -> None:
    # Five writers queue while the first batch is being written; the second batch holds
    # them all, and the one that conflicts gets its error while the other four land.
    first_started, release = threading.Event(), threading.Event()
    batches: list[list[Job]] = []

    def write_batch(jobs: list[Job]) -> None:
        batches.append(list(jobs))
        if len(batches) == 1:
            first_started.set()
            assert release.wait(5)
        for j in jobs:
            if j in conflicting:
                j.error = Conflict("concurrency_conflict", "taken")
            else:
                j.written = Written((len(batches) * 100 + len(jobs),), 0, False)

    group = GroupCommit(write_batch)
    results: dict[int, Job] = {}
    conflicting: list[Job] = []

    def submit(i: int) -> None:
        job = Job(Write())
        if i == 3:
            conflicting.append(job)
        results[i] = group.submit(job)

    leader = threading.Thread(target=submit, args=(0,))
    leader.start()
    assert first_started.wait(5)
    followers = [threading.Thread(target=submit, args=(i,)) for i in range(1, 6)]
    for t in followers:
        t.start()
    while len(group._queue) < 5:
        threading.Event().wait(0.001)
    release.set()
    for t in [leader, *followers]:
        t.join(5)
    assert [len(b) for b in batches] == [1, 5]
    assert isinstance(results[3].error, Conflict)
    assert all(results[i].error is None and results[i].written is not None and results[i].written.ids
               for i in (0, 1, 2, 4, 5))


def test_a_write_by_another_process_is_seen_by_the_next_command(database_url: str) -> None:
    here = System.open(database_url)
    there = System.open(database_url)
    try:
        school = RegistrationSchool(here)
        group = school.group(5)
        client = school.client()
        assert here.app.get(uuid.UUID(client)).archived is False  # cached here
        there.execute(school.admin, "archive_client", {"client_id": client, "reason": "moved away"})
        # `register` only reads the client: no version conflict would catch a stale copy.
        with pytest.raises(Conflict) as refused:
            school.run("register", {"client_id": client, "group_id": group})
        assert refused.value.code == "client_archived"
    finally:
        there.close()
        here.close()
