"""The writer (classledger.writer) on both databases: what a write answers, the order in
which it applies the projections and tells the cache, and how a reader waits for it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from classledger.aggregates.errors import Refused
from classledger.application.service import ClassLedger
from classledger.store.recorders import EventRow
from classledger.store.tx import Tx
from classledger.system import System
from classledger.writer import Write, Writer, Written
from tests.integration.books_support import School


def pay(school: School, amount: str = "25.00") -> dict[str, Any]:
    return {"client_id": school.client, "amount": amount, "method": "cash", "branch_id": school.ba}


def test_a_write_answers_its_ids_and_the_position_the_read_models_reached(system: System) -> None:
    school = School(system)
    school.clock += timedelta(minutes=5)
    outcome = system.app.execute_written(school.admin, "receive_payment", pay(school), at=school.clock)
    written = outcome.written
    assert outcome.answer["ok"] is True
    head = system.store.recorder.max_notification_id()
    assert written.ids
    assert written.ids[-1] == written.position == head
    assert written.inline  # the projections were applied in the write's own transaction
    assert set(system.runner.positions().values()) == {head}


def test_a_write_without_events_answers_the_head(system: System) -> None:
    school = School(system)
    head = system.store.recorder.max_notification_id()
    with pytest.raises(Refused):
        system.app.execute_written(school.admin, "receive_payment", pay(school, "-1.00"), at=school.clock)
    # The refusal's staff action row is written alone, through the writer.
    written = system.app.writer.write(Write())
    assert written == Written((), head, False)


def test_the_projections_then_the_cache_in_that_order(system: System) -> None:
    school = School(system)
    calls: list[str] = []
    project = system.app.writer.project
    assert project is not None

    def projected(tx: Tx, rows: list[EventRow], prev: int) -> bool:
        calls.append(f"project {[r.notification_id for r in rows]}")
        return project(tx, rows, prev)

    class Cache:
        def saved(self, states: Any, first: int, last: int) -> None:
            calls.append(f"cache {first}..{last}")
            system.app.cache.saved(states, first, last)

        def reset(self) -> None:  # pragma: no cover - only a lost batch resets
            system.app.cache.reset()

    writer = Writer(system.store.recorder, project=projected, cache=Cache())
    school.clock += timedelta(minutes=5)
    app = ClassLedger(system.store, writer, system.app.cache, commands=system.app.commands, hooks=system.app.hooks)  # the calls written down
    written = app.execute_written(school.admin, "receive_payment", pay(school), at=school.clock).written
    first, last = written.ids[0], written.ids[-1]
    assert calls == [f"project {list(written.ids)}", f"cache {first}..{last}"]
    assert written.inline
    assert school.balance()["total"] == "-25.00"


def test_a_projection_that_raises_leaves_the_write_and_the_reader_waits_for_it(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    school = School(system)

    def broken(tx: Tx, rows: list[EventRow], prev: int) -> bool:
        tx.execute("UPDATE projection_positions SET position = position")  # a write to roll back
        raise RuntimeError("a bug in a read model")

    monkeypatch.setattr(system.app.writer, "project", broken)
    school.clock += timedelta(minutes=5)
    written = system.app.execute_written(school.admin, "receive_payment", pay(school), at=school.clock).written
    head = system.store.recorder.max_notification_id()
    assert not written.inline
    assert written.position == head
    assert min(system.runner.positions().values()) < head
    system.runner.wait(written.position)
    assert set(system.runner.positions().values()) == {head}
    assert school.balance()["total"] == "-25.00"


def test_wait_returns_at_once_when_the_runner_is_there(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    school = School(system)
    system.runner.catch_up()
    head = system.store.recorder.max_notification_id()
    monkeypatch.setattr(system.runner, "catch_up", lambda **_: pytest.fail("no catch-up was needed"))
    system.runner.wait(head)
    system.runner.wait(0)
    assert school.balance()["total"] == "0.00"


def test_a_batch_reads_what_it_wrote_and_lands_at_its_end(system: System) -> None:
    school = School(system)
    app, recorder = system.app, system.store.recorder
    before = recorder.max_notification_id()
    cid = str(uuid.uuid4())
    with app.write_batch() as batch:
        assert batch is not None  # a database file: one transaction for the batch
        school.clock += timedelta(minutes=5)
        app.execute(school.admin, "register_client", {"id": cid, "name": "Ema", "branch_id": school.ba},
                    at=school.clock, batch=batch)
        # The batch sees its own write; the store outside it does not, yet.
        assert batch.head() > before == recorder.max_notification_id()
        assert app.get(uuid.UUID(cid), batch).name == "Ema"
        school.clock += timedelta(minutes=5)
        app.execute(school.admin, "receive_payment", {**pay(school), "client_id": cid}, at=school.clock, batch=batch)
    assert recorder.max_notification_id() > before
    assert app.get(uuid.UUID(cid)).name == "Ema"
    system.runner.catch_up()
    assert set(system.runner.positions().values()) == {recorder.max_notification_id()}
