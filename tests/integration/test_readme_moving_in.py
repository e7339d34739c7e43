"""README.md's "Moving a school in" is run verbatim, on both databases: its commands,
parsed out of the README (so this test breaks when they change), load the sample history
in docs/examples/ with no line rejected, and the summary it shows is the one they print;
run again, every line is answered from the record (DOMAIN §1.7, API §6)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Moving a school in"


def readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:end if end != -1 else None]


def commands(section: str) -> str:
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the section shows its commands in a ```sh block"
    return match.group(1)


def run(script: str, cwd: Path, database_url: str) -> list[str]:
    env = {**os.environ, "CLASSLEDGER_DATABASE_URL": database_url}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_readme_moves_the_sample_school_in_with_no_rejection(database_url: str, tmp_path: Path) -> None:
    section = readme_section()
    script = commands(section)
    # The commands are run as a reader runs them: from a checkout, with its .venv and docs.
    for name in (".venv", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    sample = ROOT / "docs" / "examples" / "school-history.jsonl"
    assert f"{sample.relative_to(ROOT)}" in script
    lines = sum(1 for raw in sample.read_bytes().splitlines() if raw.strip())
    last = script.strip().splitlines()[-1]
    assert last.startswith(".venv/bin/classledger import ")
    out = run(script + "\n" + last + "\n", tmp_path, database_url)  # the import, then once again
    first, again = orjson.loads(out[-2]), orjson.loads(out[-1])
    assert first == {"applied": lines, "replayed": 0, "rejected": 0, "errors": []}
    assert again == {"applied": 0, "replayed": lines, "rejected": 0, "errors": []}
    # What the README says the import answers is what it answers.
    shown = re.search(r"The import answers `(\{.*?\})`", section)
    assert shown
    assert orjson.loads(shown.group(1)) == first
    assert f"all {lines} are `replayed`" in section.replace("\n", " ")
