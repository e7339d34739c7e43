"""An import applies its lines in batched transactions (API §1, §6), on both databases.

One transaction carries many lines, each in its own savepoint: a rejected line rolls
back alone and every line stays atomic; the summary and the per-line errors are what a
line-by-line run gives; nothing of a batch counts, or stays, before it commits; and an
import killed mid-file, run again, applies exactly what was not applied.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from classledger.aggregates.client import Client
from classledger.application.audit import verify_chain
from classledger.application.importer import Importer, ImportSummary
from classledger.bootstrap import COMMANDS
from classledger.store.database import Store
from classledger.system import System
from tests.builders import School

T0 = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


def tenant(system: System) -> tuple[uuid.UUID, str]:
    school = School.open(system, name="Hudobná škola", at=T0)
    school.key("director", "Jana")
    return school.tenant_id, school.branch(at=T0)


def line(at: datetime, command: str, args: dict[str, Any], **extra: object) -> bytes:
    return orjson.dumps({"at": at.isoformat(), "actor": "Jana", "command": command, "args": args, **extra})


def a_term(branch: str, clients: int, payments: int, *, bad_every: int = 0) -> tuple[list[bytes], list[str]]:
    """A term of a school: clients registered (each by its id), then payments from them
    (each with its idempotency key); with ``bad_every``, every so many payments one for an
    unknown client (DOMAIN §6.3: refused). Re-runnable as a whole (API §6)."""
    ids = [str(uuid.uuid4()) for _ in range(clients)]
    lines, at = [], T0
    for i, cid in enumerate(ids):
        at += timedelta(minutes=5)
        lines.append(line(at, "register_client", {"id": cid, "name": f"Žiak {i}", "branch_id": branch}))
    run = uuid.uuid4().hex[:8]
    for i in range(payments):
        at += timedelta(minutes=20)
        bad = bad_every and i % bad_every == bad_every - 1
        client = str(uuid.UUID(int=1_000_000 + i)) if bad else ids[i * 7 % clients]
        lines.append(line(at, "receive_payment", {"client_id": client, "amount": f"{10 + i % 30}.50", "method": "cash",
                                                  "branch_id": branch}, idempotency_key=f"{run}-pay-{i}"))
    return lines, ids


def outcome(summary: ImportSummary) -> dict[str, Any]:
    return {"applied": summary.applied, "rejected": summary.rejected, "errors": summary.errors}


def test_lines_commit_in_batches_and_count_once_committed(system: System) -> None:
    """Progress is reported per committed batch, not per line: 70 lines are two commits
    at 64 lines a batch, each with the read models of its lines."""
    tid, branch = tenant(system)
    lines, _ = a_term(branch, 20, 50)
    reported: list[int] = []
    summary = Importer(system.app, tid).run(lines, progress=reported.append, batch_seconds=60)
    assert reported == [64, 6]
    assert (summary.applied, summary.rejected) == (70, 0)
    # The read models were brought up to date inside each batch's own transaction.
    head = system.store.recorder.max_notification_id()
    assert set(system.runner.positions().values()) == {head}


def test_a_rejected_line_rolls_back_alone_and_the_summary_is_that_of_a_line_by_line_run(system: System) -> None:
    """API §1: each line is atomic. Refused lines in the middle of a batch leave nothing
    behind; the lines around them in the same transaction stand; the errors name the same
    lines as a run that commits every line on its own."""
    tid_a, branch_a = tenant(system)
    tid_b, branch_b = tenant(system)
    lines_a, _ = a_term(branch_a, 15, 45, bad_every=10)
    lines_b, _ = a_term(branch_b, 15, 45, bad_every=10)
    lines_a.insert(20, b"{not json")
    lines_b.insert(20, b"{not json")
    batched = Importer(system.app, tid_a).run(lines_a, batch_seconds=60)
    one_by_one = Importer(system.app, tid_b).run(lines_b, batch_lines=1)
    assert (batched.applied, batched.rejected) == (56, 5)
    assert [e["line"] for e in batched.errors] == [21, 26, 36, 46, 56]
    assert outcome(batched) == outcome(one_by_one)
    recorder = system.store.recorder
    assert recorder.count_events(tid_a) == recorder.count_events(tid_b)
    assert verify_chain(system.store, tid_a)["ok"]
    # DOMAIN §9.1: the staff action log tells the same story, a row per line, done or refused.
    assert actions(system, tid_a) == actions(system, tid_b)


def actions(system: System, tid: uuid.UUID) -> list[tuple[Any, ...]]:
    """(at, actor, role, command, outcome, code, status, events, points at an event) per row."""
    rows, _ = system.store.recorder.staff_actions(tid, limit=1000)
    return [(r[2], r[3], r[5], r[6], r[7], r[8], r[9], r[12], r[13] is not None) for r in rows]


def test_lines_of_one_batch_see_each_other(system: System) -> None:
    """API §6 inside one transaction: a key or a create id used earlier in the same batch
    is answered from the record (``replayed``), exactly as across batches."""
    tid, branch = tenant(system)
    cid = str(uuid.uuid4())
    register = line(T0 + timedelta(minutes=1), "register_client", {"id": cid, "name": "Eva", "branch_id": branch})
    pay = line(T0 + timedelta(minutes=2), "receive_payment",
               {"client_id": cid, "amount": "20.00", "method": "card", "branch_id": branch}, idempotency_key="p-1")
    summary = Importer(system.app, tid).run([register, pay, register, pay], batch_seconds=60)
    assert (summary.applied, summary.replayed, summary.rejected) == (2, 2, 0)
    assert len(system.app.history(uuid.UUID(cid))) == 1


def test_a_batch_looks_up_its_lines_keys_in_the_command_log_at_once(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """API §6 with the command log read ahead: the keys and create ids of a batch's lines
    are looked up together before its first line runs, not one line at a time; a re-run is
    answered from that read (every line ``replayed``), and a key written earlier in the
    same batch is read again, not taken from the read ahead (a line sent twice in one
    batch is replayed, not applied twice)."""
    tid, branch = tenant(system)
    lines, _ = a_term(branch, 10, 20)
    lines.insert(15, lines[14])  # a payment sent twice in a row, in one batch
    recorder = system.store.recorder
    one_by_one: list[str] = []
    at_once: list[list[str]] = []
    real_one, real_many = recorder.get_command_record, recorder.get_command_records

    def one(tenant_id: uuid.UUID, key: str, within: Any = None) -> Any:
        one_by_one.append(key)
        return real_one(tenant_id, key, within)

    def many(tenant_id: uuid.UUID, keys: Any, within: Any = None) -> Any:
        at_once.append(list(keys))
        return real_many(tenant_id, keys, within)

    monkeypatch.setattr(recorder, "get_command_record", one)
    monkeypatch.setattr(recorder, "get_command_records", many)
    first = Importer(system.app, tid).run(lines, batch_seconds=60)
    assert (first.applied, first.replayed, first.rejected) == (30, 1, 0)
    twice = "key:" + orjson.loads(lines[14])["idempotency_key"]
    assert one_by_one == [twice]  # the only key the batch had written before a line asked
    assert len(at_once) == 1
    assert len(at_once[0]) == 30  # 31 lines, 30 distinct keys
    one_by_one.clear()
    again = Importer(system.app, tid).run(lines, batch_seconds=60)
    assert (again.applied, again.replayed, again.rejected) == (0, 31, 0)
    assert one_by_one == []
    assert Importer(system.app, tid).run(lines, batch_lines=8).replayed == 31


def test_a_batch_finds_which_ids_its_lines_create_are_free_at_once(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create checks that its id is free (API §2): the ids a batch's lines create are
    looked up together before its first line runs, not loaded one by one; an id created
    earlier in the same batch is still taken for a later line with other arguments."""
    tid, branch = tenant(system)
    lines, ids = a_term(branch, 12, 0)
    taken = orjson.loads(lines[3])
    lines.append(line(T0 + timedelta(hours=2), "register_client", {**taken["args"], "name": "Iná"}))
    recorder = system.store.recorder
    loaded: list[str] = []
    real = recorder.select_events_in

    def select_events_in(w: Any, originator_id: Any, **kwargs: Any) -> Any:
        loaded.append(str(originator_id))
        return real(w, originator_id, **kwargs)

    monkeypatch.setattr(recorder, "select_events_in", select_events_in)
    summary = Importer(system.app, tid).run(lines, batch_seconds=60)
    assert (summary.applied, summary.rejected) == (12, 1)
    assert summary.errors[0]["error"]["code"] == "duplicate_id"
    assert not set(loaded) & set(ids)
    assert all(isinstance(system.app.get(uuid.UUID(cid)), Client) for cid in ids)


def test_a_line_whose_write_fails_leaves_no_chain_link_and_is_answered_from_the_record(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOMAIN §9.3, API §6: a line whose write fails inside the batch (here a payment sent
    twice whose second send misses the record once, so it writes again and meets its own
    command-log row) is rolled back to its savepoint: its events and their chain links go
    with it, and it is answered from the record. The chain verifies, and the tenant has
    exactly the events of a run where the second send was simply replayed."""
    tid, branch = tenant(system)
    twin, twin_branch = tenant(system)
    lines, _ = a_term(branch, 6, 6)
    twin_lines, _ = a_term(twin_branch, 6, 6)
    lines.insert(9, lines[8])  # the second payment, sent twice in a row
    twin_lines.insert(9, twin_lines[8])
    key = "key:" + orjson.loads(lines[8])["idempotency_key"]
    Importer(system.app, twin).run(twin_lines, batch_seconds=60)
    recorder = system.store.recorder
    real = recorder.get_command_record
    misses: list[str] = []

    def missing_twice(tenant_id: uuid.UUID, wanted: str, within: Any = None) -> Any:
        if wanted == key and len(misses) < 2:
            misses.append(wanted)
            return None
        return real(tenant_id, wanted, within)

    monkeypatch.setattr(recorder, "get_command_record", missing_twice)
    summary = Importer(system.app, tid).run(lines, batch_seconds=60)
    assert len(misses) == 2
    assert (summary.applied, summary.rejected) == (13, 0)
    chain = verify_chain(system.store, tid)
    assert chain["ok"]
    assert chain["events_checked"] == recorder.count_events(tid) == recorder.count_events(twin)


def test_a_batch_that_fails_leaves_nothing_and_the_cache_forgets_it(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing of a batch is recorded before it commits: when the batch fails (here an
    unexpected error on its third line), the lines before it in the same transaction are
    rolled back too, the application does not remember their states, and a re-run applies
    them all."""
    tid, branch = tenant(system)
    lines, ids = a_term(branch, 5, 0)
    spec = COMMANDS["register_client"]
    real = spec.handler
    calls: list[int] = []

    def failing_third(ctx: Any, args: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the disk is gone")
        return real(ctx, args)

    monkeypatch.setitem(COMMANDS, "register_client", dataclasses.replace(spec, handler=failing_third))
    with pytest.raises(RuntimeError):
        Importer(system.app, tid).run(lines, batch_seconds=60)
    assert system.app.find(Client, uuid.UUID(ids[0]), tid) is None
    assert system.store.recorder.count_events(tid) == 3  # the tenant, its key, its branch
    monkeypatch.setitem(COMMANDS, "register_client", spec)
    summary = Importer(system.app, tid).run(lines)
    assert (summary.applied, summary.replayed, summary.rejected) == (5, 0, 0)
    assert all(system.app.find(Client, uuid.UUID(c), tid) is not None for c in ids)


def test_a_projection_that_fails_inside_a_batch_rolls_back_alone(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read model that raises never costs a line: the line's events stay, and the runner
    applies them after the commit."""
    tid, branch = tenant(system)
    lines, ids = a_term(branch, 4, 0)
    real = system.runner.apply_inline
    failed: list[int] = []

    def failing_once(tx: Any, rows: Any, prev: int) -> bool:
        if not failed:
            tx.execute("UPDATE projection_positions SET position = position")  # a write to roll back
            failed.append(1)
            raise RuntimeError("projection bug")
        return real(tx, rows, prev)

    monkeypatch.setattr(system.app.writer, "project", failing_once)
    summary = Importer(system.app, tid).run(lines, batch_seconds=60)
    assert failed
    assert (summary.applied, summary.rejected) == (4, 0)
    system.runner.catch_up()
    assert all(system.app.find(Client, uuid.UUID(c), tid) is not None for c in ids)
    assert system.runner.positions() == {k: system.store.recorder.max_notification_id() for k in system.runner.positions()}


def _events(url: str, tid: uuid.UUID) -> int:
    s = Store.open(url)
    try:
        return s.recorder.count_events(tid)
    finally:
        s.close()


def test_an_import_killed_mid_file_and_run_again_applies_every_line_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    """API §6: the process is killed (SIGKILL) while a batch is open; what committed is
    answered from the record on the re-run, the rest is applied. Every line lands once:
    the same events, and the same summary as one uninterrupted run but for ``replayed``."""
    system = System.open(database_url)
    try:
        tid, branch = tenant(system)
        twin, twin_branch = tenant(system)
        lines, _ = a_term(branch, 150, 650, bad_every=100)
        twin_lines, _ = a_term(twin_branch, 150, 650, bad_every=100)
        uninterrupted = Importer(system.app, twin).run(twin_lines)
    finally:
        system.close()
    before = _events(database_url, tid)
    path = tmp_path / "term.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    env = {**os.environ, "CLASSLEDGER_DATABASE_URL": database_url}
    run = [sys.executable, "-c", "from classledger.cli import main; main()", "import", "--tenant", str(tid), str(path)]
    proc = subprocess.Popen(run, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _events(database_url, tid) < before + 100:  # a batch or more has committed
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert proc.poll() is None, "the import ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    landed = _events(database_url, tid)
    assert before + 100 <= landed < before + 150 + 650
    rerun = subprocess.run(run, env=env, capture_output=True, timeout=300)
    second = orjson.loads(rerun.stdout)
    assert rerun.returncode == 1  # some lines are rejected, as in the uninterrupted run
    assert second["replayed"] > 0
    assert second["applied"] + second["replayed"] == uninterrupted.applied
    assert (second["rejected"], second["errors"]) == (uninterrupted.rejected, uninterrupted.errors)
    assert _events(database_url, tid) == _events(database_url, twin)
    store = Store.open(database_url)
    try:
        assert verify_chain(store, tid)["ok"]
    finally:
        store.close()


def test_a_client_registered_and_erased_in_one_batch_stays_erased(system: System, database_url: str) -> None:
    """DOMAIN §2.9 inside one batch: the client's data key is made, stored and destroyed
    in the same transaction; after the commit neither this process nor a fresh one can
    read the name, and the client registered after it reads as usual."""
    tid, branch = tenant(system)
    erased, kept = str(uuid.uuid4()), str(uuid.uuid4())
    lines = [
        line(T0 + timedelta(minutes=1), "register_client", {"id": erased, "name": "Ľubica Šťastná", "branch_id": branch}),
        line(T0 + timedelta(minutes=2), "erase_client", {"client_id": erased, "reason": "request 7"}),
        line(T0 + timedelta(minutes=3), "register_client", {"id": kept, "name": "Eva Malá", "branch_id": branch}),
    ]
    summary = Importer(system.app, tid).run(lines, batch_seconds=60)
    assert (summary.applied, summary.rejected) == (3, 0)
    fresh = System.open(database_url)
    try:
        for app in (system.app, fresh.app):
            gone = app.find(Client, uuid.UUID(erased), tid)
            assert gone is not None
            assert gone.name != "Ľubica Šťastná"
            here = app.find(Client, uuid.UUID(kept), tid)
            assert here is not None
            assert here.name == "Eva Malá"
    finally:
        fresh.close()


def test_a_line_whose_staff_action_row_fails_in_the_database_is_rolled_back_and_written_again(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The staff action row is the last write of a line (on PostgreSQL sent together with
    the savepoint's release): when the database refuses it (here once, a NOT NULL
    violation), the line's events go with it, the command decides again and lands once;
    the chain, the events and the staff action log are those of an undisturbed run."""
    from classledger.store import recorders

    tid, branch = tenant(system)
    twin, twin_branch = tenant(system)
    lines, _ = a_term(branch, 4, 6)
    twin_lines, _ = a_term(twin_branch, 4, 6)
    Importer(system.app, twin).run(twin_lines, batch_seconds=60)
    real = recorders.staff_actions.insert
    failed: list[int] = []

    def refused_once(tx: Any, table: str, actions: Any, param: Any) -> None:
        if not failed and any(a.command == "receive_payment" for a, _ in actions):
            failed.append(1)
            tx.executemany(f"INSERT INTO {table} (tenant_id) VALUES (?)", [(None,)])
        real(tx, table, actions, param)

    monkeypatch.setattr(recorders.staff_actions, "insert", refused_once)
    summary = Importer(system.app, tid).run(lines, batch_seconds=60)
    assert failed
    assert (summary.applied, summary.rejected) == (10, 0)
    chain = verify_chain(system.store, tid)
    assert chain["ok"]
    assert chain["events_checked"] == system.store.recorder.count_events(twin)
    assert actions(system, tid) == actions(system, twin)
