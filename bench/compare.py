"""Before and after in one window: this checkout's benches against two versions of the code.

    python bench/compare.py f8513e7              # that commit (A) against this checkout (B)
    python bench/compare.py f8513e7 main         # two commits
    python bench/compare.py f8513e7 --only bench_import bench_http --rounds 3

Each version other than this checkout (``.``) is checked out with ``git worktree`` in a
temporary directory. Its code runs under *this* checkout's bench scripts, so the two are
measured the same way even when the older scripts lack a figure: the package
``classledger`` is the directory ``src/`` (pyproject.toml maps it), so a directory holding
one link, ``classledger -> <checkout>/src``, put first on ``PYTHONPATH`` makes every
process a bench starts (the server, the replay script) import that version instead of
the editable install. When the version's dependencies (``pyproject.toml``) differ from
this one's, it gets a virtual environment of its own instead.

The benches run alternately, A, B, A, B, ... (``--rounds`` pairs, one whole run of a
bench each), bench by bench, so both versions see the same window of a shared machine;
the table gives each figure's median over the rounds, side by side.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import DATABASES, met, number, target
from bench.results import Figure, medians, read
from bench.suite import ACTIVITY_CLIENTS, NAMES, command

THIS = "."


@dataclass(frozen=True)
class Version:
    label: str
    python: str
    env: dict[str, str]


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


def dependencies(checkout: Path) -> list[str]:
    """What the package needs to run (the benches need nothing of the dev tools)."""
    with (checkout / "pyproject.toml").open("rb") as f:
        return sorted(tomllib.load(f)["project"]["dependencies"])


def checkout(ref: str, tmp: Path) -> Version:
    """The version ``ref`` ready to run: this checkout's own, or a worktree of the commit."""
    if ref == THIS:
        return Version("this checkout", sys.executable, dict(os.environ))
    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    short = git("rev-parse", "--short", commit)
    label = ref if short.startswith(ref) else f"{ref} ({short})"
    code = tmp / f"code-{commit[:12]}"
    git("worktree", "add", "--detach", str(code), commit)
    if dependencies(code) == dependencies(ROOT):
        path = tmp / f"path-{commit[:12]}"
        path.mkdir()
        (path / "classledger").symlink_to(code / "src", target_is_directory=True)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(path), os.environ.get("PYTHONPATH")]))}
        return Version(label, sys.executable, env)
    venv = tmp / f"venv-{commit[:12]}"
    print(f"{label}: its dependencies differ from this checkout's, installing it in a virtual environment of its own", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-e", f"{code}[dev]"], check=True)
    return Version(label, str(venv / "bin" / "python"), dict(os.environ))


def imported_from(version: Version) -> str:
    """Where that version's processes import ``classledger`` from (a check before measuring)."""
    return subprocess.run([version.python, "-c", "import classledger, pathlib; print(pathlib.Path(classledger.__file__).resolve().parent)"],
                          env=version.env, check=True, capture_output=True, text=True).stdout.strip()


def side_by_side(a: Version, b: Version, rows_a: list[Figure], rows_b: list[Figure], title: str) -> Table:
    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    for name, justify in (("what", "left"), ("database", "left"), ("floor A", "right"), ("figure A", "right"),
                          ("figure B", "right"), ("floor B", "right"), ("ratio A", "right"), ("ratio B", "right"),
                          ("B / A", "right"), ("target", "right"), ("met? A → B", "left")):
        t.add_column(name, justify=justify)  # type: ignore[arg-type]
    by_key = {f.key: f for f in rows_b}
    for fa in rows_a:
        fb = by_key.get(fa.key)
        t.add_row(fa.what, DATABASES.get(fa.database, fa.database), number(fa.floor, fa.floor_unit),
                  number(fa.figure, fa.unit), number(fb.figure, fb.unit) if fb else "",
                  number(fb.floor, fb.floor_unit) if fb else "", number(fa.ratio), number(fb.ratio) if fb else "",
                  number(fb.figure / fa.figure) if fb and fa.figure else "", target(fa),
                  f"{met(fa.met())} → {met(fb.met())}" if fb and fa.met() is not None else "")
    return t


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", help="the version before: a git ref, or . for this checkout")
    parser.add_argument("b", nargs="?", default=THIS, help="the version after (default: this checkout)")
    parser.add_argument("--rounds", type=int, default=3, help="A, B pairs per bench, medians taken (default 3)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the replay store (default 1,000,000)")
    parser.add_argument("--clients", type=int, default=ACTIVITY_CLIENTS,
                        help=f"clients of the activity bench's school (default {ACTIVITY_CLIENTS:,})")
    parser.add_argument("--only", nargs="+", choices=NAMES, help="these benches only")
    args = parser.parse_args(argv)
    names = [n for n in NAMES if not args.only or n in args.only]
    with tempfile.TemporaryDirectory(prefix="classledger-compare-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            versions: list[Version] = []
            for ref in (args.a, args.b):
                version = checkout(ref, tmp)
                print(f"{'AB'[len(versions)]}: {version.label}, classledger from {imported_from(version)}", flush=True)
                versions.append(version)
            runs: dict[str, list[list[Figure]]] = {"A": [], "B": []}
            for name in names:
                for r in range(args.rounds):
                    for side, version in zip("AB", versions, strict=True):
                        print(f"\n== {name}, {side} ({version.label}), round {r + 1} of {args.rounds}", flush=True)
                        out = tmp / "results" / side / f"{name}-{r}.json"
                        cmd = [version.python, *command(name, runs=1, events=args.events, out=out, clients=args.clients)[1:]]
                        subprocess.run(cmd, env=version.env, check=True)
                        runs[side].append(read(out))
            a, b = versions
            title = f"A: {a.label}   B: {b.label}   (medians of {args.rounds} alternating runs each)"
            Console(width=220).print(side_by_side(a, b, medians(runs["A"]), medians(runs["B"]), title))
        finally:
            for code in tmp.glob("code-*"):
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(code)], check=False)


if __name__ == "__main__":
    main()
