"""One table of every benchmark's figures, each beside its floor and its target.

    python bench/report.py DIR        # every *.json a bench wrote there with --json

Columns: what, database, figure, floor (the machine's own limit measured in the same run),
ratio (figure / floor), target (on the ratio, or on the figure when it has no floor) and
whether it is met. ``make bench`` ends with this table.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import Figure, read

DATABASES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    if (value == int(value) and abs(value) >= 10) or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    elif 0 < abs(value) < 0.01:
        text = f"{value:.1g}"  # a share of a share: its first digit, not 0.00
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def target(f: Figure) -> str:
    if f.bound is None or f.target is None:
        return ""
    on = "" if f.target_on == "ratio" else f" {f.unit}"
    return f"{'≥' if f.bound == '>=' else '≤'} {number(f.target)}{on}"


def met(value: bool | None) -> str:
    return "" if value is None else "yes" if value else "NO"


def table(figures: Sequence[Figure], title: str = "") -> Table:
    t = Table(title=title or None, box=box.SIMPLE_HEAD, title_justify="left")
    t.add_column("what")
    t.add_column("database")
    t.add_column("figure", justify="right")
    t.add_column("floor", justify="right")
    t.add_column("ratio", justify="right")
    t.add_column("target", justify="right")
    t.add_column("met?")
    for f in figures:
        t.add_row(f.what, DATABASES.get(f.database, f.database), number(f.figure, f.unit),
                  number(f.floor, f.floor_unit), number(f.ratio), target(f), met(f.met()))
    return t


def gather(paths: Sequence[Path]) -> list[Figure]:
    """The figures of every file given, and of every ``*.json`` in the directories given."""
    files = [p for path in paths for p in (sorted(path.glob("*.json")) if path.is_dir() else [path])]
    return [f for p in files for f in read(p)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", type=Path, nargs="+", help="result files (--json of a bench), or directories of them")
    parser.add_argument("--title", default="")
    a = parser.parse_args()
    figures = gather(a.paths)
    if not figures:
        raise SystemExit("no figures found")
    Console(width=200).print(table(figures, a.title))


if __name__ == "__main__":
    main()
