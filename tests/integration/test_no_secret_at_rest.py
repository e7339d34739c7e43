"""No issued secret is ever at rest (DOMAIN §1.4, §8.1, §8.2): staff keys, cabinet links,
cabinet invitations and parents' login tokens are shown once, to whoever asked for them,
and only their hashes are stored. Whoever holds the database files or a backup of them
cannot act as a member of staff or a parent.

Each kind is issued the ways the product issues it (the CLI, the routes, with and
without an Idempotency-Key, a create with its own id), then the raw files of SQLite
(database, WAL, shared memory) and every column of every PostgreSQL table are searched
for the secret and its obvious encodings.
"""

from __future__ import annotations

import base64
import binascii
import json
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from classledger import cli
from classledger.application import service
from classledger.system import System
from tests.http.support import Api, assert_error


def encodings(secret: str) -> set[bytes]:
    """The secret as text, base64, hex and URL-quoted, and the random bytes behind it."""
    text = secret.encode()
    out = {text, base64.b64encode(text), base64.urlsafe_b64encode(text), binascii.hexlify(text),
           binascii.hexlify(text).upper(), urllib.parse.quote(secret, safe="").encode(), json.dumps(secret)[1:-1].encode()}
    body = secret.removeprefix("clk_")
    out.add(body.encode())
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    out |= {raw, binascii.hexlify(raw), base64.b64encode(raw)}
    return out


def sqlite_files(url: str) -> dict[str, bytes]:
    db = Path(url.removeprefix("sqlite:///"))
    return {p.name: p.read_bytes() for p in db.parent.iterdir() if p.name.startswith(db.name)}


def postgres_cells(url: str) -> dict[str, bytes]:
    """Every value of every table of the database, as bytes, by table."""
    out: dict[str, bytes] = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'"
        ).fetchall()
        assert len(tables) > 5
        for schema, table in tables:
            chunks = []
            for row in conn.execute(f'SELECT * FROM "{schema}"."{table}"'):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode())
            out[f"{schema}.{table}"] = b"\n".join(chunks)
    return out


def at_rest(url: str) -> dict[str, bytes]:
    return sqlite_files(url) if url.startswith("sqlite") else postgres_cells(url)


def assert_absent(url: str, secrets: dict[str, str]) -> None:
    stored = at_rest(url)
    assert stored
    found = [(what, where) for what, secret in secrets.items() for where, data in stored.items()
             if any(form in data for form in encodings(secret))]
    assert found == [], f"secrets at rest: {found}"


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    system = System.open(database_url)
    yield Api(system)
    system.close()


def issue_everything(api: Api, database_url: str, capsys: pytest.CaptureFixture[str],
                     monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    secrets: dict[str, str] = {f"key of the {role}": key for role, key in api.keys.items()}

    # A staff key from the command line, and one from a director over HTTP.
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    capsys.readouterr()
    cli.main(["key", "create", "--tenant", str(api.tenant_id), "--role", "admin", "--staff", "Mária", "--json"])
    secrets["key from the CLI"] = orjson.loads(capsys.readouterr().out)["key"]
    made = api.post("/v1/keys", {"role": "admin", "staff": "Ján"}, role="director", **{"Idempotency-Key": "key-1"})
    assert made.status_code == 201, made.text
    secrets["key from the route"] = made.json()["key"]

    # A cabinet link (DOMAIN §8.1), twice: the second replaces the first.
    client = api.client()
    for n in (1, 2):
        link = api.post(f"/v1/clients/{client}/cabinet-link", {}, **{"Idempotency-Key": f"link-{n}"})
        assert link.status_code == 201, link.text
        secrets[f"cabinet link {n}"] = link.json()["token"]

    # A parent's invitation, a second one replacing it, and the login it is redeemed for
    # (DOMAIN §8.2); one more user registered under its own id.
    invited = api.post("/v1/cabinet-users", {}, **{"Idempotency-Key": "invite-1"})
    assert invited.status_code == 201, invited.text
    user_id = invited.json()["id"]
    secrets["invitation"] = invited.json()["invitation"]
    again = api.post(f"/v1/cabinet-users/{user_id}/invitation", {})
    assert again.status_code == 201, again.text
    secrets["second invitation"] = again.json()["invitation"]
    by_id = api.post("/v1/cabinet-users", {"id": str(uuid.uuid4())})
    assert by_id.status_code == 201, by_id.text
    secrets["invitation of a user created by id"] = by_id.json()["invitation"]
    login = api.http.post("/cabinet/users", json={"invitation": secrets["second invitation"]})
    assert login.status_code == 201, login.text
    secrets["login token"] = login.json()["token"]
    return secrets


def test_no_issued_secret_is_in_the_database_files(
    api: Api, database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = issue_everything(api, database_url, capsys, monkeypatch)
    # Every secret works: they are the real ones.
    for what in ("key from the CLI", "key from the route"):
        r = api.http.get("/v1/clients", headers={"Authorization": f"Bearer {secrets[what]}"})
        assert r.status_code == 200, what
    assert api.http.get(f"/cabinet/{secrets['cabinet link 2']}", headers={"Accept": "application/json"}).status_code == 200
    assert api.http.get("/cabinet/me", headers={"Authorization": f"Bearer {secrets['login token']}"}).status_code == 200

    assert_absent(database_url, secrets)
    api.system.close()  # SQLite: the WAL is checkpointed into the database file
    assert_absent(database_url, secrets)


def test_a_retried_secret_issuing_request_is_a_clear_409_and_writes_nothing(api: Api) -> None:
    """The secret was shown once and is not kept, so a retry cannot be answered with it;
    it must not quietly make a second one either. The caller asks for a new one."""
    client = api.client()
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        (f"/v1/clients/{client}/cabinet-link", {}, "admin", "token"),
        ("/v1/cabinet-users", {}, "admin", "invitation"),
        ("/v1/keys", {"role": "operator", "staff": "Oto"}, "director", "key"),
    ]
    for path, body, role, field in cases:
        first = api.post(path, body, role=role, **{"Idempotency-Key": f"retry:{path}"})
        assert first.status_code == 201, first.text
        before = api.events()
        error = assert_error(api.post(path, body, role=role, **{"Idempotency-Key": f"retry:{path}"}), 409,
                             "secret_not_repeated")
        assert field in error["details"]["withheld"]
        assert error["details"]["first_answer"]["id"] == first.json()["id"]
        assert field not in error["details"]["first_answer"]
        assert api.events() == before
        # A new request (no key, or a new one) gets a new secret.
        fresh = api.post(path, body, role=role)
        assert fresh.status_code == 201, fresh.text
        assert fresh.json()[field] != first.json()[field]

    # A user created under its own id, re-sent with the same id: the same rule.
    user = str(uuid.uuid4())
    assert api.post("/v1/cabinet-users", {"id": user}).status_code == 201
    assert_error(api.post("/v1/cabinet-users", {"id": user}), 409, "secret_not_repeated")


def test_the_secrets_earlier_versions_kept_are_scrubbed(
    api: Api, database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Earlier versions kept each answer whole in the command log. ``classledger secrets
    scrub`` takes the secrets out of it, and out of the files, once."""
    with monkeypatch.context() as earlier:
        earlier.setattr(service, "kept_answer", lambda spec, result: orjson.dumps(result, option=orjson.OPT_NON_STR_KEYS))
        secrets = issue_everything(api, database_url, capsys, earlier)
        field = api.post("/v1/custom-fields", {"key": "school", "label": "School", "type": "text"}, role="director",
                         **{"Idempotency-Key": "field-1"})
        assert field.status_code == 201, field.text
    with pytest.raises(AssertionError, match="secrets at rest"):
        assert_absent(database_url, secrets)

    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    capsys.readouterr()
    cli.main(["secrets", "scrub", "--json"])
    report = orjson.loads(capsys.readouterr().out)
    assert report["rewritten"] == len(secrets) - len(api.keys)  # the fixture's own keys were issued before
    assert report["compacted"] is True
    assert_absent(database_url, secrets)

    # A retry of a scrubbed answer is the 409 of today's answers; other answers are as they were.
    error = assert_error(api.post("/v1/keys", {"role": "admin", "staff": "Ján"}, role="director",
                                  **{"Idempotency-Key": "key-1"}), 409, "secret_not_repeated")
    assert error["details"]["withheld"] == ["key"]
    again = api.post("/v1/custom-fields", {"key": "school", "label": "School", "type": "text"}, role="director",
                     **{"Idempotency-Key": "field-1"})
    assert again.json() == field.json()
    # The secrets still work (revoking and re-issuing them is the school's next step), and
    # a second run finds nothing more to do.
    assert api.http.get("/v1/clients", headers={"Authorization": f"Bearer {secrets['key from the route']}"}).status_code == 200
    cli.main(["secrets", "scrub", "--json"])
    assert orjson.loads(capsys.readouterr().out)["rewritten"] == 0
