"""The benchmarks' summary: figures against their floors and targets, their medians over
runs, the one table, and every bench taking the options the suite gives it."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bench.bench_http import http_figures
from bench.compare import Version, side_by_side
from bench.report import gather, number, table
from bench.results import Figure, against, alone, medians, read, write
from bench.suite import BENCHES, command

ROOT = Path(__file__).resolve().parents[2]


def render(renderable: object) -> str:
    console = Console(width=250, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def cells(text: str, what: str) -> list[str]:
    """The non-empty cells of the table's row about ``what`` (cells are apart by 2+ spaces)."""
    row = next(line for line in text.splitlines() if what in line)
    return [c for c in re.split(r" {2,}", row.strip()) if c]


def test_a_target_on_the_ratio_is_met_or_not_by_the_ratio() -> None:
    f = against("import vs raw commit", "sqlite", 690, "lines/s", 395, "raw commits/s", (">=", 0.8))
    assert f.ratio == pytest.approx(690 / 395)
    assert f.met() is True
    assert against("import vs raw commit", "postgres", 239, "lines/s", 502, "raw commits/s", (">=", 0.5)).met() is False


def test_a_target_on_the_figure_is_met_or_not_by_the_figure() -> None:
    assert alone("p99", "sqlite", 49.9, "ms", ("<=", 50.0)).met() is True
    assert alone("p99", "sqlite", 50.1, "ms", ("<=", 50.0)).met() is False
    assert Figure("cpu", "sqlite", 2.2, "ms", 1.3, "ms direct", 2.2 / 1.3, "<=", 1.5, "figure").met() is False


def test_a_figure_without_a_target_is_neither_met_nor_missed() -> None:
    assert against("payments, 2x4 server", "sqlite", 500, "payments/s", 1000, "raw commits/s").met() is None
    assert alone("as-of balance", "sqlite", 4.5, "ms").met() is None


def test_figures_survive_the_file_between_a_bench_and_the_report(tmp_path: Path) -> None:
    figures = [against("a", "sqlite", 1.0, "x/s", 2.0, "y/s", (">=", 0.25)), alone("b", "postgres", 3.0, "ms", ("<=", 5.0))]
    write(tmp_path / "one.json", figures)
    write(None, figures)  # no --json: nothing written, nothing raised
    assert read(tmp_path / "one.json") == figures
    assert gather([tmp_path]) == figures


def test_medians_are_taken_per_figure_and_database_over_the_runs() -> None:
    runs = [[against("a", "sqlite", v, "x/s", f, "y/s"), against("a", "postgres", 10 * v, "x/s", f, "y/s")]
            for v, f in ((1.0, 4.0), (3.0, 2.0), (2.0, 8.0))]
    sqlite, postgres = medians(runs)
    assert (sqlite.database, sqlite.figure, sqlite.floor) == ("sqlite", 2.0, 4.0)
    # the median of each run's own ratio (0.25, 1.5, 0.25), not the medians' ratio (0.5)
    assert sqlite.ratio == pytest.approx(0.25)
    assert postgres.figure == 20.0


def test_the_http_rush_is_judged_on_scaling_tail_workers_and_cpu() -> None:
    # (workers, clients) -> (payments/s, p50 ms, p99 ms, server CPU ms per payment)
    cases = {(1, 1): (250.0, 2.3, 15.0, 2.2), (1, 16): (520.0, 28.0, 64.0, 1.5),
             (2, 1): (263.0, 2.5, 18.0, 2.1), (2, 16): (423.0, 29.0, 139.0, 1.8)}
    by_what = {f.what: f for f in http_figures("sqlite", cases, direct=1.26)}
    assert by_what["HTTP 16 clients vs 1, 1 worker(s)"].ratio == pytest.approx(520 / 250)
    assert by_what["HTTP 16 clients vs 1, 1 worker(s)"].met() is True
    assert by_what["HTTP p99 at 16 clients, 1 worker(s)"].met() is False
    assert by_what["HTTP 2 workers vs 1, 1 client(s)"].met() is True
    assert by_what["HTTP 2 workers vs 1, 16 client(s)"].met() is False
    assert by_what["HTTP server CPU per payment, 1 worker(s), 16 client(s)"].met() is True
    assert by_what["HTTP server CPU per payment, 2 worker(s), 1 client(s)"].met() is False


def test_the_table_has_a_row_per_figure_with_its_floor_target_and_verdict() -> None:
    text = render(table([
        against("import vs raw commit", "postgres", 239, "lines/s", 502, "raw commits/s", (">=", 0.5)),
        alone("replay peak memory", "sqlite", 337, "MB", ("<=", 500.0)),
        against("refused plan", "sqlite", 1.4, "ms", 0.35, "ms raw commit"),
    ]))
    assert cells(text, "import vs raw commit") == ["import vs raw commit", "PostgreSQL", "239 lines/s",
                                                   "502 raw commits/s", "0.48", "≥ 0.50", "NO"]
    assert cells(text, "replay peak memory") == ["replay peak memory", "SQLite", "337 MB", "≤ 500 MB", "yes"]
    assert cells(text, "refused plan") == ["refused plan", "SQLite", "1.40 ms", "0.35 ms raw commit", "4.00"]


def test_counts_show_whole_and_tiny_ratios_keep_their_first_digit() -> None:
    assert number(40.0, "events") == "40 events"
    assert number(40 / 82_177) == "0.0005"
    assert number(12.34, "ms") == "12.3 ms"
    assert number(0.5) == "0.50"
    assert number(125_877.0) == "125,877"


def test_the_comparison_sets_both_versions_side_by_side() -> None:
    a = [against("import vs raw commit", "sqlite", 300, "lines/s", 400, "raw commits/s", (">=", 0.8))]
    b = [against("import vs raw commit", "sqlite", 600, "lines/s", 400, "raw commits/s", (">=", 0.8))]
    v = Version("v", sys.executable, {})
    text = render(side_by_side(v, v, a, b, "A: before   B: after"))
    assert cells(text, "import vs raw commit") == [
        "import vs raw commit", "SQLite", "400 raw commits/s", "300 lines/s", "600 lines/s", "400 raw commits/s",
        "0.75", "1.50", "2.00", "≥ 0.80", "NO → yes"]


@pytest.mark.parametrize(("name", "args", "repeats"), BENCHES)
def test_every_bench_takes_the_options_the_suite_gives_it(name: str, args: tuple[str, ...], repeats: bool,
                                                          tmp_path: Path) -> None:
    line = command(name, runs=3, events=1000, out=tmp_path / "x.json")
    assert line[1] == str(ROOT / "bench" / f"{name}.py")
    assert ("--runs" in line) is repeats
    shown = subprocess.run([sys.executable, line[1], "--help"], capture_output=True, text=True, check=True).stdout
    for option in [o for o in line[2:] if o.startswith("--")]:
        assert option in shown, f"{name} does not take {option}"
