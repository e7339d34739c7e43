"""Old projection versions' tables are dropped on the operator's word, and only those.

A version bump builds the new tables beside the old ones (no downtime), so the
old ones stay until every process runs the new code; ``replay.py --prune-old`` then drops
them. Tables of the current version, of newer versions (a rolling deploy's next code)
and of anything not a projection are left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from classledger.projections.books import Books
from classledger.projections.replay import prune_old_versions
from classledger.system import System

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "replay.py"


def _tables(system: System) -> set[str]:
    if system.store.dialect == "sqlite":
        rows = system.store.db.query("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = system.store.db.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return {r[0] for r in rows}


def test_only_older_versions_are_dropped(system: System) -> None:
    books = system.view(Books)
    current = books.t("transactions")
    older = [f"p_books_v{books.version - 1}_transactions", f"p_books_v{books.version - 1}_postings_scratch",
             "p_activity_v1_month_state"]
    keep = [f"p_books_v{books.version + 1}_transactions", "p_notaprojection_v1_rows", "bench_raw"]
    with system.store.db.write() as tx:
        for t in older + keep:
            tx.execute(f"CREATE TABLE {t} (x INTEGER)")
    dropped = prune_old_versions(system.store)
    assert sorted(dropped) == sorted(older)
    tables = _tables(system)
    assert not set(older) & tables
    assert set(keep) <= tables
    assert current in tables
    assert "events" in tables
    assert prune_old_versions(system.store) == []  # nothing left to do


def test_the_cli_prints_what_it_dropped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/prune.db"
    system = System.open(url)
    try:
        with system.store.db.write() as tx:
            tx.execute("CREATE TABLE p_clients_v1_clients (x INTEGER)")
    finally:
        system.close()
    out = subprocess.run([sys.executable, str(SCRIPT), "--prune-old"], env={"CLASSLEDGER_DATABASE_URL": url, "PATH": ""},
                         capture_output=True, check=True)
    assert orjson.loads(out.stdout.splitlines()[-1]) == {"dropped": ["p_clients_v1_clients"]}
