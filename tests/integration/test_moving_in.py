"""A school moving in (DOMAIN §1.7, API §6), on both databases: its tenant and staff are
created at the start of the history it brings, the history is imported in time order,
and re-running the file after fixing a line applies only what is new. The business clock
may not run behind the tenant's latest instant (``clock_behind`` says which it is) nor
more than 5 minutes ahead of the server's (``clock_ahead``): one mistyped year must not
lock a tenant out of its own present."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from classledger import cli
from classledger.application.importer import Importer
from classledger.system import System, now
from tests.builders import School

MARCH = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def line(at: datetime, command: str, args: dict[str, Any], actor: str = "Jana", **extra: object) -> bytes:
    return orjson.dumps({"at": at.isoformat(), "actor": actor, "command": command, "args": args, **extra})


def moved_in(system: System, at: datetime = MARCH) -> uuid.UUID:
    school = School.open(system, name="Hudobná škola", at=at)
    school.key("director", "Jana")
    return school.tenant_id


def run(system: System, tid: uuid.UUID, lines: list[bytes]) -> dict[str, Any]:
    return Importer(system.app, tid, server_clock=now).run(lines).as_json()


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    cli.main(list(argv))
    return orjson.loads(capsys.readouterr().out)


def cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    with pytest.raises(SystemExit) as exit_:
        cli.main(list(argv))
    assert exit_.value.code == 2
    return orjson.loads(capsys.readouterr().err)["error"]  # type: ignore[no-any-return]


def test_tenant_and_keys_created_at_the_start_of_the_history_let_it_import(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The tracker's case: stamped "now", the tenant refused every line of last March."""
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    tid = cli_json(capsys, "tenant", "create", "--name", "Škola", "--timezone", "Europe/Bratislava", "--currency", "EUR",
                   "--at", "2025-03-01T08:00:00+01:00", "--json")["tenant_id"]
    cli_json(capsys, "key", "create", "--tenant", tid, "--role", "director", "--staff", "Jana",
             "--at", "2025-03-01T08:00:00+01:00", "--json")
    f = tmp_path / "history.jsonl"
    f.write_bytes(line(MARCH, "add_branch", {"name": "Centrum", "city": "Bratislava"}) + b"\n")
    assert cli_json(capsys, "import", "--tenant", tid, str(f)) == {"applied": 1, "replayed": 0, "rejected": 0, "errors": []}
    # A key dated before the tenant's latest instant would write history out of order.
    err = cli_error(capsys, "key", "create", "--tenant", tid, "--role", "admin", "--staff", "Peter",
                    "--at", "2025-03-01T09:00:00+01:00")
    assert err["code"] == "clock_behind"
    assert err["details"]["latest"] == MARCH.isoformat()
    # Nor may a tenant or a key be dated in the future.
    assert cli_error(capsys, "tenant", "create", "--name", "X", "--timezone", "Europe/Bratislava", "--currency", "EUR",
                     "--at", "2062-03-01T08:00:00+01:00")["code"] == "clock_ahead"
    assert cli_error(capsys, "key", "create", "--tenant", tid, "--role", "admin", "--staff", "Peter",
                     "--at", "2062-03-01T08:00:00+01:00")["code"] == "clock_ahead"
    with pytest.raises(SystemExit):
        cli.main(["tenant", "create", "--name", "X", "--timezone", "Europe/Bratislava", "--currency", "EUR",
                  "--at", "2025-03-01T08:00:00"])  # no offset: argparse refuses it
    capsys.readouterr()
    assert cli_error(capsys, "key", "create", "--tenant", str(uuid.uuid4()), "--role", "admin",
                     "--staff", "Peter")["code"] == "tenant_not_found"


def test_tenant_settings_from_the_command_line(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    tid = cli_json(capsys, "tenant", "create", "--name", "Škola", "--timezone", "Europe/Bratislava", "--currency", "EUR",
                   "--json")["tenant_id"]
    out = cli_json(capsys, "tenant", "settings", "--tenant", tid, "--unique-phones", "on", "--no-show-consumes", "on",
                   "--locale", "sk", "--json")
    assert out["settings"] == {"unique_phones": True, "no_show_consumes": True, "locale": "sk"}
    out = cli_json(capsys, "tenant", "settings", "--tenant", tid, "--no-show-consumes", "off", "--json")
    assert out["settings"] == {"unique_phones": True, "no_show_consumes": False, "locale": "sk"}


def test_a_rerun_after_fixing_one_line_applies_only_what_is_new(system: System) -> None:
    """API §6: lines already recorded (by idempotency key, or by create id with the same
    args) are answered from the record whatever their ``at``, and counted as replayed."""
    tid = moved_in(system)
    branch = str(uuid.uuid4())
    first = [
        line(MARCH + timedelta(minutes=1), "add_branch", {"id": branch, "name": "Centrum", "city": "Bratislava"}),
        line(MARCH + timedelta(minutes=2), "define_lesson_type", {"code": "piano", "name": "Klavír", "single_visit_price": "20.00"},
             idempotency_key="row-2"),
        line(MARCH + timedelta(minutes=3), "register_client", {"id": str(uuid.uuid4()), "name": "", "branch_id": branch}),
        line(MARCH + timedelta(minutes=4), "create_course", {"id": str(uuid.uuid4()), "name": "Klavír", "lesson_type": "piano"}),
    ]
    summary = run(system, tid, first)
    assert (summary["applied"], summary["replayed"], summary["rejected"]) == (3, 0, 1)
    assert summary["errors"][0]["line"] == 3
    fixed = [*first]
    fixed[2] = line(MARCH + timedelta(minutes=3), "register_client", {"id": str(uuid.uuid4()), "name": "Eva Nováková",
                                                                       "branch_id": branch})
    events = system.store.recorder.count_events(tid)
    summary = run(system, tid, fixed)
    # The fixed line is earlier than the course recorded at minute 4: the re-run must not
    # refuse it for its clock, since what came after it is recorded already...
    assert summary["replayed"] == 3
    # ...but a new line still keeps time order: it is refused as behind, with the instant.
    assert (summary["applied"], summary["rejected"]) == (0, 1)
    assert summary["errors"][0]["error"]["code"] == "clock_behind"
    assert summary["errors"][0]["error"]["details"]["latest"] == (MARCH + timedelta(minutes=4)).isoformat()
    assert system.store.recorder.count_events(tid) == events
    # Re-dated after the latest instant, it applies; everything else is replayed again.
    fixed[2] = line(MARCH + timedelta(minutes=5), "register_client", orjson.loads(fixed[2])["args"])
    summary = run(system, tid, fixed)
    assert (summary["applied"], summary["replayed"], summary["rejected"]) == (1, 3, 0)


def test_a_create_id_recorded_with_other_args_is_still_a_conflict(system: System) -> None:
    tid = moved_in(system)
    branch = str(uuid.uuid4())
    run(system, tid, [line(MARCH, "add_branch", {"id": branch, "name": "Centrum", "city": "Bratislava"})])
    summary = run(system, tid, [line(MARCH, "add_branch", {"id": branch, "name": "Iné", "city": "Bratislava"})])
    assert summary["errors"][0]["error"]["code"] == "duplicate_id"
    assert summary["replayed"] == 0


def test_a_mistyped_year_is_refused_and_the_tenant_keeps_its_present(system: System) -> None:
    """The tracker's case: a line of 2062 was accepted and no line of today could follow it."""
    tid = moved_in(system)
    today = now()
    summary = run(system, tid, [
        line(today.replace(year=2062), "add_branch", {"name": "Typo", "city": "Bratislava"}),
        line(today, "add_branch", {"name": "Centrum", "city": "Bratislava"}),
    ])
    assert (summary["applied"], summary["rejected"]) == (1, 1)
    err = summary["errors"][0]["error"]
    assert err["code"] == "clock_ahead"
    assert err["details"]["limit_seconds"] == 300
    assert [b.name for b in system.app.get(tid).branches.values()] == ["Centrum"]


def test_a_line_a_few_minutes_ahead_is_within_the_tolerance(system: System) -> None:
    tid = moved_in(system)
    summary = run(system, tid, [
        line(now() + timedelta(minutes=4), "add_branch", {"name": "A", "city": "Bratislava"}),
        line(now() + timedelta(minutes=6), "add_branch", {"name": "B", "city": "Bratislava"}),
    ])
    assert (summary["applied"], summary["rejected"]) == (1, 1)
    assert summary["errors"][0]["error"]["code"] == "clock_ahead"


def test_lines_a_few_minutes_ahead_keep_the_live_month_report_equal_to_its_replay(system: System) -> None:
    """DOMAIN §5.7: the live peak and the replayed peak are always equal. Clients activated
    by lines 3 minutes ahead of the server's clock are not active yet, in either."""
    from classledger.instants import us
    from classledger.projections.activity import ActivityTimeline
    from classledger.projections.activity_months import replay_month

    start = now()
    tid = moved_in(system, at=start - timedelta(days=3))
    branch, course, group = (str(uuid.uuid4()) for _ in range(3))
    today = start.date()
    lines = [
        line(start - timedelta(days=2), "add_branch", {"id": branch, "name": "Centrum", "city": "Bratislava"}),
        line(start - timedelta(days=2), "define_lesson_type", {"code": "group", "name": "Skupina", "single_visit_price": "10.00"}),
        line(start - timedelta(days=2), "create_course", {"id": course, "name": "Balet", "lesson_type": "group"}),
        line(start - timedelta(days=2), "create_group", {"id": group, "course_id": course, "branch_id": branch, "name": "Balet",
                                                         "capacity": 10, "starts_on": str(today - timedelta(days=30)),
                                                         "ends_on": str(today + timedelta(days=60))}),
    ]
    for i in range(3):
        client = str(uuid.uuid4())
        lines.append(line(start + timedelta(minutes=3), "register_client", {"id": client, "name": f"Dieťa {i}", "branch_id": branch}))
        lines.append(line(start + timedelta(minutes=3), "register", {"client_id": client, "group_id": group}))
    assert run(system, tid, lines)["applied"] == len(lines)
    system.runner.catch_up()
    month, as_of = start.strftime("%Y-%m"), us(now())
    view = system.view(ActivityTimeline)
    live = view.report(tid, month, as_of=as_of)
    replayed = replay_month(system.store, view, tid, month, as_of=as_of)
    assert replayed is not None
    assert live == replayed.report
    assert live is not None
    assert live["peak"] == 0
    later = us(start + timedelta(minutes=4))
    assert view.report(tid, month, as_of=later)["peak"] == 3  # type: ignore[index]


def test_a_create_recorded_under_another_key_is_replayed_by_its_id(system: System) -> None:
    """A re-run whose keys were renumbered still finds its creates by id (API §2, §6)."""
    tid = moved_in(system)
    course = {"id": str(uuid.uuid4()), "name": "Klavír", "lesson_type": "piano"}
    first = [
        line(MARCH, "define_lesson_type", {"code": "piano", "name": "Klavír", "single_visit_price": "20.00"}),
        line(MARCH + timedelta(minutes=1), "create_course", course, idempotency_key="old-2"),
    ]
    assert run(system, tid, first)["applied"] == 2
    summary = run(system, tid, [line(MARCH + timedelta(minutes=1), "create_course", course, idempotency_key="new-7")])
    assert (summary["applied"], summary["replayed"], summary["rejected"]) == (0, 1, 0)
