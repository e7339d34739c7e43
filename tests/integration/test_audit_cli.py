"""``classledger audit head`` and ``audit verify --expect-head`` (DOMAIN §9.4, API §9), and
the audit key read from the deployment's configuration (docs/operations.md, Audit)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from classledger import cli
from classledger.store.audit_key import (
    DEVELOPMENT_KEY,
    DEVELOPMENT_SECRET,
    KEY_FILE_VAR,
    KEY_VAR,
    AuditKey,
    AuditKeyError,
    audit_key_from_env,
)
from classledger.system import System

SECRET = "9f2c4e1a7b3d5f60 the school's audit key 0a1b2c3d"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    try:
        cli.main(list(argv))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, orjson.loads(captured.out or captured.err)


def test_the_auditor_keeps_the_head_and_a_cut_tail_is_found(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    monkeypatch.setenv(KEY_VAR, SECRET)
    _, created = run(capsys, "tenant", "create", "--name", "Tantsukool", "--timezone", "Europe/Tallinn",
                     "--currency", "EUR", "--json")
    tid = created["tenant_id"]
    run(capsys, "key", "create", "--tenant", tid, "--role", "director", "--staff", "Kadri", "--json")

    code, head = run(capsys, "audit", "head", "--tenant", tid, "--json")
    assert code == 0
    assert set(head) == {"tenant_id", "notification_id", "hash", "events", "taken_at", "key"}
    assert head["events"] == 2
    assert len(head["hash"]) == 64
    assert head["key"] == {"fingerprint": AuditKey(SECRET.encode(), KEY_VAR).fingerprint, "development": False}

    code, answer = run(capsys, "audit", "verify", "--tenant", tid, "--expect-head", head["hash"], "--json")
    assert code == 0
    assert answer["head"] == {"notification_id": head["notification_id"], "hash": head["hash"]}
    assert answer["expected_head"]["found"] is True

    # The newest event is cut out of the database: the log alone looks whole, the kept
    # head does not.
    system = System.open(database_url)
    try:
        with system.store.db.write() as tx:
            tx.execute(f"DELETE FROM {system.store.recorder._events} WHERE notification_id = ?", (head["notification_id"],))
    finally:
        system.close()
    assert run(capsys, "audit", "verify", "--tenant", tid, "--json")[0] == 0
    code, answer = run(capsys, "audit", "verify", "--tenant", tid, "--expect-head", head["hash"], "--json")
    assert code == 1
    assert answer["ok"] is False
    assert answer["expected_head"]["found"] is False

    # Under another key nothing verifies, and the fingerprint says why.
    monkeypatch.delenv(KEY_VAR)
    code, answer = run(capsys, "audit", "verify", "--tenant", tid, "--json")
    assert code == 1
    assert answer["key"]["development"] is True


def test_a_malformed_expected_head_is_refused(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    code, body = run(capsys, "audit", "verify", "--tenant", "00000000-0000-0000-0000-000000000001",
                     "--expect-head", "not-a-hash")
    assert code == 2
    assert body["error"]["code"] == "invalid_head"


def test_a_bad_audit_key_stops_every_command(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    monkeypatch.setenv(KEY_VAR, "too short")
    code, body = run(capsys, "audit", "verify", "--tenant", "00000000-0000-0000-0000-000000000001")
    assert code == 2
    assert body["error"]["code"] == "bad_audit_key"
    assert "at least 32" in body["error"]["message"]


def test_the_key_comes_from_the_variable_or_a_file(tmp_path: Path) -> None:
    assert audit_key_from_env({}) == DEVELOPMENT_KEY
    assert audit_key_from_env({KEY_VAR: f"  {SECRET}\n"}).secret == SECRET.encode()
    key_file = tmp_path / "audit.key"
    key_file.write_text(SECRET + "\n")
    from_file = audit_key_from_env({KEY_FILE_VAR: str(key_file)})
    assert from_file.secret == SECRET.encode()
    assert not from_file.development
    assert repr(from_file).count(SECRET) == 0  # the secret never shows in a repr or a log line
    for env, problem in [
        ({KEY_VAR: SECRET, KEY_FILE_VAR: str(key_file)}, "not both"),
        ({KEY_VAR: "   "}, "blank"),
        ({KEY_FILE_VAR: str(tmp_path / "missing")}, "cannot read"),
        ({KEY_VAR: DEVELOPMENT_SECRET.decode()}, "published development key"),
    ]:
        with pytest.raises(AuditKeyError, match=problem):
            audit_key_from_env(env)


def test_serving_without_a_key_warns_loudly(capsys: pytest.CaptureFixture[str]) -> None:
    cli.warn_if_development_key(DEVELOPMENT_KEY)
    assert "NO AUDIT KEY CONFIGURED" in capsys.readouterr().err
    cli.warn_if_development_key(AuditKey(SECRET.encode(), KEY_VAR))
    assert capsys.readouterr().err == ""
