"""`classledger import` (API §1–2): JSONL lines applied atomically one by one, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from classledger import cli
from classledger.application.importer import Importer
from classledger.system import System
from tests.builders import School

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe/Bratislava moves to CEST


def tenant(system: System) -> uuid.UUID:
    school = School.open(system, name="Jazyková škola", at=T0)
    school.key("director", "Jana")
    return school.tenant_id


def line(at: datetime, command: str, args: dict, actor: str = "Jana", **extra: object) -> bytes:
    return orjson.dumps({"at": at.isoformat(), "actor": actor, "command": command, "args": args, **extra})


def test_lines_apply_in_order_and_rejections_are_reported_by_line(system: System) -> None:
    tid = tenant(system)
    lines = [
        line(T0 + timedelta(minutes=1), "add_branch", {"name": "Centrum", "city": "Bratislava"}),
        b"{not json",
        line(T0 + timedelta(minutes=2), "define_lesson_type", {"code": "group", "name": "G", "single_visit_price": 12}),
        line(T0 + timedelta(minutes=3), "define_lesson_type", {"code": "group", "name": "G", "single_visit_price": "12.00"}),
        line(T0 + timedelta(minutes=4), "add_branch", {"name": "X", "city": "Y"}, actor="Nobody"),
        b"",
        line(T0 + timedelta(minutes=5), "no_such_command", {}),
    ]
    summary = Importer(system.app, tid).run(lines)
    assert summary.applied == 2
    assert summary.rejected == 4
    assert [(e["line"], e["error"]["code"]) for e in summary.errors] == [
        (2, "malformed_json"),
        (3, "invalid_args"),
        (5, "unknown_actor"),
        (7, "unknown_command"),
    ]
    t = system.app.get(tid)
    assert [b.name for b in t.branches.values()] == ["Centrum"]
    assert t.lesson_types["group"].single_visit_price == 1200


def test_a_line_earlier_than_the_tenants_latest_event_is_rejected(system: System) -> None:
    tid = tenant(system)
    lines = [
        line(T0 + timedelta(hours=2), "add_branch", {"name": "Later", "city": "Bratislava"}),
        line(T0 + timedelta(hours=1), "add_branch", {"name": "Earlier", "city": "Bratislava"}),
    ]
    summary = Importer(system.app, tid).run(lines)
    assert summary.applied == 1
    assert summary.errors[0]["error"]["code"] == "clock_behind"


def test_stop_on_error_stops_at_the_first_rejection(system: System) -> None:
    tid = tenant(system)
    lines = [
        line(T0 + timedelta(minutes=1), "add_branch", {"name": "A", "city": "Tartu"}),
        line(T0 + timedelta(minutes=2), "add_branch", {"name": "", "city": "Tartu"}),
        line(T0 + timedelta(minutes=3), "add_branch", {"name": "C", "city": "Tartu"}),
    ]
    summary = Importer(system.app, tid).run(lines, stop_on_error=True)
    assert (summary.applied, summary.rejected) == (1, 1)
    assert [b.name for b in system.app.get(tid).branches.values()] == ["A"]


def test_idempotency_keys_make_a_rerun_of_the_same_file_harmless(system: System) -> None:
    tid = tenant(system)
    lines = [line(T0 + timedelta(minutes=1), "add_branch", {"name": "A", "city": "Tartu"}, idempotency_key="row-1")]
    assert Importer(system.app, tid).run(lines).applied == 1
    again = [line(T0 + timedelta(minutes=2), "add_branch", {"name": "A", "city": "Tartu"}, idempotency_key="row-1")]
    rerun = Importer(system.app, tid).run(again)
    assert (rerun.applied, rerun.replayed) == (0, 1)  # answered from the record (API §6)
    assert len(system.app.get(tid).branches) == 1


def test_cli_end_to_end(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    cli.main(["tenant", "create", "--name", "Tantsukool", "--timezone", "Europe/Tallinn", "--currency", "EUR", "--tier", "Basic:100", "--json"])
    tid = orjson.loads(capsys.readouterr().out)["tenant_id"]
    cli.main(["key", "create", "--tenant", tid, "--role", "admin", "--staff", "Kadri", "--json"])
    key = orjson.loads(capsys.readouterr().out)
    assert key["key"].startswith("clk_")
    f = tmp_path / "cmds.jsonl"
    now = datetime.now(UTC)
    f.write_bytes(line(now, "add_branch", {"name": "Kesklinn", "city": "Tallinn"}, actor="Kadri") + b"\n")
    with pytest.raises(SystemExit) as refused:
        cli.main(["import", "--tenant", tid, str(f)])  # an admin may not add branches
    assert refused.value.code == 1
    summary = orjson.loads(capsys.readouterr().out)
    assert summary["rejected"] == 1
    assert summary["errors"][0]["error"]["code"] == "forbidden_role"
    with pytest.raises(SystemExit) as bad:
        cli.main(["tenant", "create", "--name", "X", "--timezone", "Nowhere/Land", "--currency", "EUR"])
    assert bad.value.code == 2
    assert orjson.loads(capsys.readouterr().err)["error"]["code"] == "unknown_timezone"
