"""A read model that cannot apply an event takes nothing else down (defence in depth).

A bug in one projection's handler, hit by one school's event: the write is accepted; the
other schools' reads, and this school's reads from the other projections, keep
answering; the reads that need the stuck projection for this school say so (503
``read_model_stuck``), never a stale answer; ``GET /healthz``, ``replay.py --status`` and
the log name the projection, the event, the tenant and the error. Once the code is fixed
the projection resumes from the event it could not apply, and nothing is lost. The bug is
injected by patching one handler to raise for one client's name. On both databases.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from classledger import cli, cli_replay
from classledger.http.app import create_app
from classledger.projections import replay
from classledger.projections.books import Books
from classledger.projections.clients import ClientDirectory
from classledger.projections.runtime import EventRecord
from classledger.projections.verify import verify
from classledger.system import System
from tests.http.support import LIMIT, Api, assert_error

POISON = "Otrávená Udalosť"


def names(api: Api) -> list[str]:
    r = api.get("/v1/clients")
    assert r.status_code == 200, r.text
    return sorted(c["name"] for c in r.json()["items"])


def inject_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client directory's handler raises on one client's registration, as a bug would."""
    original = ClientDirectory.handlers["ClientRegistered"]

    def buggy(p: Any, tx: Any, ev: EventRecord) -> None:
        if ev.data["name"] == POISON:
            raise KeyError("preferences.locale")
        original(p, tx, ev)

    monkeypatch.setitem(ClientDirectory.handlers, "ClientRegistered", buggy)


def test_a_stuck_projection_stops_only_its_own_reads_of_one_school_and_resumes_with_nothing_lost(
    system: System, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    school, other = Api(system, name="Škola A"), Api(system, name="Škola B")
    school.client("Eva Nováková")
    other.client("Jana Malá")
    inject_bug(monkeypatch)

    with caplog.at_level(logging.ERROR):
        r = school.post("/v1/clients", {"name": POISON, "branch_id": school.branch})
    assert r.status_code == 201, r.text  # a read model never refuses a write
    poisoned = system.store.recorder.max_notification_id()
    assert any("projection clients cannot apply event" in m and str(school.tenant_id) in m for m in caplog.messages)

    # The school's reads from the client directory are refused, not served without the client.
    refused = assert_error(school.get("/v1/clients"), 503, "read_model_stuck")
    assert refused["details"] == {"projections": ["clients"], "since_notification_id": poisoned}
    assert school.get("/v1/clients").headers["retry-after"]
    # Its reads from other read models, and from the event store, keep answering.
    assert school.get("/v1/ledger/trial-balance").status_code == 200
    assert school.get("/v1/reports/active-clients").status_code == 200
    # The other school is not affected at all, writes and reads, in the same read model.
    other.client("Peter Veľký")
    assert names(other) == ["Jana Malá", "Peter Veľký"]
    # Later writes of the stuck school are accepted and wait for the fix.
    after = school.client("Oskar Neskorý")
    assert school.post(f"/v1/clients/{after}/tags", {"tag": "vip"}).status_code < 300

    # The operator sees it: /healthz, replay.py --status (exit 1), the table every process reads.
    health = school.http.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["ok"] is False
    assert body["status"] == "degraded"
    [stuck] = body["stuck"]
    assert stuck["projection"] == "clients"
    assert stuck["tenant_id"] == str(school.tenant_id)
    assert stuck["notification_id"] == poisoned
    assert stuck["event_type"] == "ClientRegistered"
    assert stuck["error"] == "KeyError: 'preferences.locale'"
    assert stuck["position"] == system.store.recorder.max_notification_id()  # it went on for the others
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    capsys.readouterr()
    assert cli_replay.main(["--status"]) == 1
    told = capsys.readouterr()
    assert (f"clients: stuck for tenant {school.tenant_id} at event {poisoned} (ClientRegistered), "
            f"position {stuck['position']}: KeyError: 'preferences.locale'") in told.err
    # ``classledger replay`` is the same command.
    with pytest.raises(SystemExit) as exited:
        cli.main(["replay", "--status"])
    assert exited.value.code == 1
    assert capsys.readouterr() == told
    status = replay.status(system.store)
    assert status["stuck"] == body["stuck"]
    assert status["projections"]["clients"]["stuck_tenants"] == 1
    # Still broken: a retry (the runner makes one every half minute) changes nothing but the attempts.
    assert [f.attempts for f in system.runner.resume()] == [stuck["attempts"] + 1]
    assert_error(school.get("/v1/clients"), 503, "read_model_stuck")

    # The fix is deployed (a new process): the first catch-up resumes from the failed event.
    monkeypatch.undo()
    system.close()
    fixed = System.open(database_url)
    try:
        for api in (school, other):
            api.system = fixed
            api.http = TestClient(create_app(fixed, body_limit=LIMIT), raise_server_exceptions=False)
        assert names(school) == ["Eva Nováková", "Oskar Neskorý", POISON]
        card = school.get(f"/v1/clients/{after}").json()
        assert card["tags"] == ["vip"]  # the events after the failed one were applied, in order
        assert names(other) == ["Jana Malá", "Peter Veľký"]
        assert school.http.get("/healthz").json() == {"ok": True}
        monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
        assert cli_replay.main(["--status"]) == 0
        # Exactly what a rebuild from the first event gives.
        assert verify(fixed.store, ["clients"]).ok
    finally:
        fixed.close()


def test_the_retry_follows_a_second_bad_event_and_a_rebuild_clears_it(
    system: System, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The resume applies what it can and stops at the next event that fails; a rebuild
    of the projection (once fixed) is the other way out, and clears what was stuck."""
    school = Api(system)
    inject_bug(monkeypatch)
    school.client(POISON)
    first = system.store.recorder.max_notification_id()
    school.client("Eva Nováková")
    [f] = system.runner.refresh_stuck()
    assert (f.projection, f.notification_id) == ("clients", first)
    tried = f.attempts

    # A different bug now: the first event applies, the second fails.
    monkeypatch.undo()
    original = ClientDirectory.handlers["ClientRegistered"]

    def other_bug(p: Any, tx: Any, ev: EventRecord) -> None:
        if ev.data["name"] == "Eva Nováková":
            raise ValueError("bad phone")
        original(p, tx, ev)

    monkeypatch.setitem(ClientDirectory.handlers, "ClientRegistered", other_bug)
    [f] = system.runner.resume()
    assert (f.notification_id, f.event_type, f.error, f.attempts) == (first + 1, "ClientRegistered",
                                                                       "ValueError: bad phone", tried + 1)
    monkeypatch.undo()
    summary = replay.rebuild(system.store, ["clients"])
    assert summary.projections == ["clients"]
    assert system.runner.refresh_stuck() == []
    assert names(school) == ["Eva Nováková", POISON]
    assert orjson.loads(orjson.dumps(replay.status(system.store)))["ok"] is True


def test_a_payment_the_books_cannot_apply_stops_no_other_school_s_journal(
    system: System, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The case that used to stop every school's journal (DOMAIN §6): the books fail on one
    school's payment. The other school's payments reach its journal; the stuck school's
    journal, trial balance and parents' cabinet say they cannot answer; its client list
    (another read model) answers; the fix brings every payment in."""
    from tests.http.test_family_cabinet_api import bearer, signup

    school, other = Api(system, name="Škola A"), Api(system, name="Škola B")
    eva, jana = school.client("Eva Nováková"), other.client("Jana Malá")
    _, login = signup(school)
    original = Books.handlers["TransactionPosted"]

    def buggy(p: Any, tx: Any, ev: EventRecord) -> None:
        if str(ev.tenant_id) == str(school.tenant_id) and ev.data["transaction"]["kind"] == "payment":
            raise TypeError("'NoneType' object is not subscriptable")
        original(p, tx, ev)

    monkeypatch.setitem(Books.handlers, "TransactionPosted", buggy)
    pay = {"amount": "25.00", "method": "cash", "branch_id": school.branch}
    assert school.post("/v1/payments", {**pay, "client_id": eva}).status_code == 201
    for _ in range(2):
        assert other.post("/v1/payments", {**pay, "client_id": jana, "branch_id": other.branch}).status_code == 201
    journal = other.get("/v1/ledger/journal", kind="payment")
    assert journal.status_code == 200, journal.text
    assert len(journal.json()["items"]) == 2
    for path in ("/v1/ledger/journal", "/v1/ledger/trial-balance", f"/v1/clients/{eva}/balance"):
        assert_error(school.get(path), 503, "read_model_stuck")
    assert_error(school.http.get("/cabinet/me", headers=bearer(login)), 503, "read_model_stuck")
    assert names(school) == ["Eva Nováková"]

    monkeypatch.undo()
    assert system.runner.resume() == []
    items = school.get("/v1/ledger/journal", kind="payment").json()["items"]
    assert len(items) == 1
    assert school.get(f"/v1/clients/{eva}/balance").json()["total"] == "-25.00"
    assert school.http.get("/cabinet/me", headers=bearer(login)).status_code == 200


def test_another_process_sees_at_once_what_one_process_set_aside(
    system: System, monkeypatch: pytest.MonkeyPatch, database_url: str,
) -> None:
    """Two API processes on one database: the one that hits the bug records it, and the
    other refuses the stuck school's read at its very next read (no stale answer while it
    waits for its background poll), and keeps serving the other school."""
    school, other = Api(system, name="Škola A"), Api(system, name="Škola B")
    second = System.open(database_url)
    try:
        there = TestClient(create_app(second, body_limit=LIMIT), raise_server_exceptions=False)
        assert there.get("/v1/clients", headers=school.h()).status_code == 200
        inject_bug(monkeypatch)
        school.client(POISON)
        refused = there.get("/v1/clients", headers=school.h())
        assert refused.status_code == 503, refused.text
        assert there.get("/v1/clients", headers=other.h()).status_code == 200
        assert there.get("/healthz").json()["status"] == "degraded"
    finally:
        second.close()
