"""A benchmark's figures as the summary table reads them.

Every bench prints its own lines for a reader; with ``--json PATH`` it also writes the
figures that have a floor or a target as a list of ``Figure`` records, which
``bench/report.py`` gathers into one table and ``bench/compare.py`` sets side by side.

A figure is a measured value (``figure``) next to the machine's own limit measured in the
same run (``floor``: the raw durable commit, the raw read rate, the same case with one
client...) and their ratio; its target, when it has one, bounds either the ratio or the
figure itself (``target_on``).
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import orjson

Bound = Literal[">=", "<="]


@dataclass(frozen=True)
class Figure:
    what: str
    database: str
    figure: float
    unit: str
    floor: float | None = None
    floor_unit: str = ""
    ratio: float | None = None
    bound: Bound | None = None
    target: float | None = None
    target_on: Literal["ratio", "figure"] = "ratio"

    @property
    def key(self) -> tuple[str, str]:
        return self.what, self.database

    def met(self) -> bool | None:
        """Whether the target holds; None when there is no target (or nothing to test)."""
        if self.bound is None or self.target is None:
            return None
        value = self.ratio if self.target_on == "ratio" else self.figure
        if value is None:
            return None
        return value >= self.target if self.bound == ">=" else value <= self.target


def against(what: str, database: str, figure: float, unit: str, floor: float, floor_unit: str,
            target: tuple[Bound, float] | None = None) -> Figure:
    """A figure with its floor, their ratio, and a target on that ratio."""
    bound, value = target if target else (None, None)
    return Figure(what, database, figure, unit, floor, floor_unit, figure / floor if floor else None, bound, value)


def alone(what: str, database: str, figure: float, unit: str,
          target: tuple[Bound, float] | None = None) -> Figure:
    """A figure with no floor, and a target on the figure itself."""
    bound, value = target if target else (None, None)
    return Figure(what, database, figure, unit, bound=bound, target=value, target_on="figure")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="also write the figures with their floors and targets to PATH (bench/report.py reads it)")


def write(path: Path | None, figures: Iterable[Figure]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps([asdict(f) for f in figures], option=orjson.OPT_INDENT_2))


def read(path: Path) -> list[Figure]:
    raw: list[dict[str, Any]] = orjson.loads(path.read_bytes())
    return [Figure(**r) for r in raw]


def medians(runs: Sequence[Sequence[Figure]]) -> list[Figure]:
    """Each figure as the median of its runs (figure, floor and ratio each a median of
    their own), in the order of first appearance."""
    by_key: dict[tuple[str, str], list[Figure]] = {}
    for run in runs:
        for f in run:
            by_key.setdefault(f.key, []).append(f)
    out = []
    for seen in by_key.values():
        floors = [f.floor for f in seen if f.floor is not None]
        ratios = [f.ratio for f in seen if f.ratio is not None]
        out.append(replace(seen[0], figure=statistics.median(f.figure for f in seen),
                           floor=statistics.median(floors) if floors else None,
                           ratio=statistics.median(ratios) if ratios else None))
    return out
