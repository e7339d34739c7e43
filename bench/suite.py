"""Every benchmark, one after the other, each writing its figures; then one table.

    python bench/suite.py [--runs 3] [--events 1000000] [--clients 2000] [--only bench_import bench_http] [--out DIR]

Each bench prints its own lines as it goes, takes the median of ``--runs`` runs where it
repeats whole runs (the others take medians of their own samples), and writes its
figures to ``DIR/<bench>.json``; the table of ``bench/report.py`` ends the run. The
databases are SQLite, and PostgreSQL when ``CLASSLEDGER_BENCH_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import table
from bench.results import read

# The benches in the order they run: (name, its arguments, whether it takes --runs).
BENCHES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("bench_import", (), True),
    ("bench_books", (), True),
    ("bench_floor", (), True),
    ("bench_activity", (), False),  # --clients from the suite; medians of 5 per month
    ("bench_visits", (), True),
    ("bench_schedule", (), False),  # medians of its own 15 samples
    ("bench_http", (), True),
    ("bench_replay", (), True),  # --events from the suite
)
NAMES = [name for name, _, _ in BENCHES]


ACTIVITY_CLIENTS = 2000  # the activity bench's school: 10,000 clients take 11 minutes to build per database here


def command(name: str, *, runs: int, events: int, out: Path, clients: int = ACTIVITY_CLIENTS) -> list[str]:
    """The command line of one bench: this checkout's script, whatever code it measures."""
    args, repeats = next((args, repeats) for n, args, repeats in BENCHES if n == name)
    extra = {"bench_replay": ["--events", str(events)], "bench_activity": [str(clients)]}.get(name, [])
    return [sys.executable, str(ROOT / "bench" / f"{name}.py"), *args, *extra,
            *(["--runs", str(runs)] if repeats else []), "--json", str(out)]


def run(name: str, *, runs: int, events: int, clients: int, out: Path, env: Mapping[str, str] | None = None) -> float:
    """Runs one bench (its lines go to this terminal) and returns its wall time in s."""
    t0 = time.perf_counter()
    subprocess.run(command(name, runs=runs, events=events, out=out, clients=clients), env=env, check=True)
    return time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="whole runs per bench, medians taken (default 3)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the replay store (default 1,000,000)")
    parser.add_argument("--clients", type=int, default=ACTIVITY_CLIENTS,
                        help=f"clients of the activity bench's school (default {ACTIVITY_CLIENTS:,})")
    parser.add_argument("--only", nargs="+", choices=NAMES, help="these benches only")
    parser.add_argument("--out", type=Path, help="where the figures go (default: a temporary directory)")
    a = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = a.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        names = [n for n in NAMES if not a.only or n in a.only]
        seconds = {}
        for name in names:
            print(f"\n== {name}", flush=True)
            seconds[name] = run(name, runs=a.runs, events=a.events, clients=a.clients, out=out / f"{name}.json", env=dict(os.environ))
        figures = [f for name in names for f in read(out / f"{name}.json")]
        took = ", ".join(f"{n.removeprefix('bench_')} {s:.0f} s" for n, s in seconds.items())
        Console(width=200).print(table(figures, f"Medians of {a.runs} runs ({took})"))


if __name__ == "__main__":
    main()
