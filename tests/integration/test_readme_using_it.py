"""README.md's "Using it" is run as a reader runs it: its commands, parsed out of the
README (so this test breaks when they change), run from a checkout in a fresh folder,
each answering with exit status 0; the last one serves the API, which answers /healthz.
On PostgreSQL the block's first line is the commented alternative, as the README says."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Using it"


def block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    match = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert match, "the section shows its commands in a ```sh block"
    return [line for line in match.group(1).strip().splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_readme_commands_run_verbatim(database_url: str, tmp_path: Path) -> None:
    lines = block()
    assert lines[0].startswith("export CLASSLEDGER_DATABASE_URL=sqlite:///./classledger.db")
    assert lines[-1].startswith(".venv/bin/classledger serve --port 8000")
    for name in (".venv", "scripts", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    script = lines[:-1]
    if not database_url.startswith("sqlite"):
        script[0] = f"export CLASSLEDGER_DATABASE_URL={database_url}"
    env = {k: v for k, v in os.environ.items() if k != "CLASSLEDGER_DATABASE_URL"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert '"differences":[]' in done.stdout  # replay --verify found the live tables equal to a rebuild
    assert '"head"' in done.stdout

    # The last line serves what the others built (on a free port instead of 8000, which a
    # test machine may have taken).
    port = free_port()
    serve = lines[-1].split("#")[0].replace("--port 8000", f"--port {port}")
    url = script[0].split("=", 1)[1].split()[0]
    server = subprocess.Popen(["bash", "-c", f"exec {serve}"], cwd=tmp_path,
                              env={**env, "CLASSLEDGER_DATABASE_URL": url},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    status = r.status
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read() if server.stderr else "the server stopped"
                assert time.monotonic() < deadline, "the server did not answer within a minute"
                time.sleep(0.2)
        assert status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
