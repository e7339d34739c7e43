"""``classledger demo`` as API §6 has it, on both databases: ``--host``/``--port`` (and
``make demo PORT=N``), a busy port refused before anything is built, ``--no-serve`` printing
no URL, a re-run reusing the demo tenant and its keys; and a year recorded by several staff,
with Slovak names and numbers (the tenant's country) and the books' many kinds."""

from __future__ import annotations

import socket
import subprocess
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from classledger import cli
from classledger.aggregates.phones import phone_number
from classledger.aggregates.tenant import Tenant
from classledger.demo import STAFF, demo_tenant_id
from classledger.projections.books import Books
from classledger.projections.clients import ClientDirectory
from classledger.store.database import Store
from classledger.system import System

ROOT = Path(__file__).resolve().parents[2]
SEED = 11


@pytest.fixture
def demo_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)  # where a PostgreSQL demo keeps its keys file
    return database_url


def demo(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    cli.main(["demo", "--clients", "25", "--seed", str(SEED), "--no-serve", *args])
    out = capsys.readouterr().out
    assert "http://" not in out  # --no-serve: nothing is served, so no URL is printed
    return orjson.loads(out)  # type: ignore[no-any-return]


def events(url: str) -> int:
    store = Store.open(url)
    try:
        return store.recorder.count_events(demo_tenant_id(SEED))
    finally:
        store.close()


def test_a_busy_port_fails_before_anything_is_built(demo_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as refused:
            cli.main(["demo", "--clients", "25", "--seed", str(SEED), "--host", "127.0.0.1", "--port", str(port)])
    assert refused.value.code == 2
    error = orjson.loads(capsys.readouterr().err)["error"]
    assert (error["code"], error["details"]["port"]) == ("port_unavailable", port)
    assert events(demo_env) == 0


def test_a_rerun_reuses_the_demo_tenant_and_its_keys(demo_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    first = demo(capsys)
    assert "generated" in first
    built = events(demo_env)
    again = demo(capsys)
    assert again["reused"] is True
    assert "generated" not in again
    assert again["keys"] == first["keys"]
    assert again["tenant_id"] == first["tenant_id"]
    assert events(demo_env) == built  # nothing generated or issued twice
    assert Path(first["keys_file"]).stat().st_mode & 0o077 == 0  # the owner's alone


def test_the_demo_year_is_recorded_by_several_staff_in_the_tenants_country(demo_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = demo(capsys)
    assert {k["staff"] for k in out["keys"].values()} == {s for s, _, _ in STAFF}
    system = System.open(demo_env)
    try:
        tenant_id = demo_tenant_id(SEED)
        tenant = system.app.get(tenant_id)
        assert isinstance(tenant, Tenant)
        assert tenant.settings.locale == "sk"
        assert {k.role for k in tenant.keys.values()} >= {"admin", "director", "accountant", "regional_director"}
        journal = system.view(Books).journal(tenant_id, limit=1_000_000)
        kinds = Counter(j["kind"] for j in journal)
        assert set(kinds) >= {"sale", "payment", "revenue", "visit_charge", "refund", "recalculation", "reversal",
                              "correction", "write_off"}
        actors = {j["actor"] for j in journal}
        assert {"Peter Kováč", "Jana Nováková"} <= actors
        page = system.view(ClientDirectory).search(tenant_id, include=frozenset({"archived"}), limit=500)
        phones = [p for c in page["items"] for p in c["phones"]]
        assert phones
        assert all(phone_number(p, "SK").startswith("+421") for p in phones)  # Slovak numbers
        cities = {tenant.branches[uuid.UUID(c["branch_id"])].city for c in page["items"]}
        assert cities <= {"Bratislava", "Košice", "Žilina", "Nitra"}
    finally:
        system.close()


def test_make_demo_takes_a_port_and_the_readme_says_so() -> None:
    dry = subprocess.run(["make", "-n", "demo", "PORT=8123", "HOST=0.0.0.0"], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert "classledger demo --port 8123 --host 0.0.0.0" in dry.stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.index("make demo") < readme.index("make test")  # still the first two commands
    assert "make demo PORT=" in readme
    assert "--no-serve" in readme
