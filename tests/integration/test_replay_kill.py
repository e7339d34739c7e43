"""API §5: killed with -9 at any moment and started again, replay continues from its
checkpoint and ends with identical tables. A real process, a real SIGKILL (SQLite)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from classledger.demo import generate
from classledger.projections.verify import dump, verify
from classledger.system import System

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "replay.py"


def dump_all(system: System) -> dict[str, list[tuple[object, ...]]]:
    with system.store.db.read() as tx:
        return {p.t(t): dump(tx, p, t) for p in system.views.values() for t in p.tables}


@pytest.mark.parametrize("workers", ["1", "2"])
def test_kill_minus_nine_then_resume(tmp_path: Path, workers: str) -> None:
    url = f"sqlite:///{tmp_path}/db.sqlite"
    system = System.open(url)
    generate(system, clients=150, seed=11)
    system.runner.catch_up()
    live = dump_all(system)
    env = {**os.environ, "CLASSLEDGER_DATABASE_URL": url}
    resumed = None
    for delay in (0.4, 0.7, 1.0, 1.5, 2.0, 3.0):
        proc = subprocess.Popen([sys.executable, str(SCRIPT), "--projection", "all", "--page", "10", "--workers", workers], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is not None:
            continue  # it finished before the kill: try a shorter run next time
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = subprocess.run([sys.executable, str(SCRIPT), "--projection", "all", "--page", "10", "--workers", workers], env=env,
                              capture_output=True, check=True)
        summary = orjson.loads(done.stdout.splitlines()[-1])
        if summary["resumed_from"]:
            resumed = summary
            break
    assert resumed is not None, "never caught the rebuild in the middle"
    assert all(v > 0 for v in resumed["resumed_from"].values())
    fresh = System.open(url)
    try:
        assert dump_all(fresh) == live
        assert verify(fresh.store, ["all"]).ok
    finally:
        fresh.close()
        system.close()
