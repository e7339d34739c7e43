"""``classledger serve --workers N``: N worker processes, each its own System on the same
database, behind one port (the second CPU core needs a second process: the command path
holds the GIL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_two_workers_answers_from_both_processes(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CLASSLEDGER_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db"}
    proc = subprocess.Popen([sys.executable, "-m", "classledger.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        answered = False
        while time.monotonic() < deadline and not answered:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    answered = response.status == 200
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        assert answered, "no worker answered"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert err.count("Started server process") == 2, err
    assert "serving with 2 workers on SQLite" in err, err  # what the operator is told of it
    assert "Traceback" not in err, err
