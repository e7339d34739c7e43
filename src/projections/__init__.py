"""Read models, each fed by tracked events through ``runtime.Runner``.

``build(db)`` lists every projection the system runs; add a new one here.
"""

from __future__ import annotations

from collections.abc import Sequence

from classledger.projections.activity import ActivityTimeline
from classledger.projections.books import Books
from classledger.projections.cabinet import Cabinet
from classledger.projections.cabinet_users import CabinetUsers
from classledger.projections.catalogue import Catalogue
from classledger.projections.clients import ClientDirectory
from classledger.projections.keys import StaffKeys
from classledger.projections.lessons import Timetable
from classledger.projections.passes import PassBook
from classledger.projections.runtime import Projection, Runner
from classledger.projections.trail import ClientTrail
from classledger.store.database import Database


def build(db: Database, *, suffix: str = "") -> list[Projection]:
    return [
        StaffKeys(db, suffix=suffix),
        ActivityTimeline(db, suffix=suffix),
        ClientDirectory(db, suffix=suffix),
        Books(db, suffix=suffix),
        PassBook(db, suffix=suffix),
        Cabinet(db, suffix=suffix),
        CabinetUsers(db, suffix=suffix),
        Timetable(db, suffix=suffix),
        Catalogue(db, suffix=suffix),
        ClientTrail(db, suffix=suffix),
    ]


def select(db: Database, names: Sequence[str], *, suffix: str = "") -> list[Projection]:
    """The projections named (``["all"]``: every one), in that order; ``KeyError`` names
    the unknown ones."""
    every = build(db, suffix=suffix)
    if list(names) == ["all"]:
        return every
    known = {p.name: p for p in every}
    missing = [n for n in names if n not in known]
    if missing:
        raise KeyError(f"unknown projection(s) {missing}; known: {sorted(known)}")
    return [known[n] for n in names]


__all__ = ["Projection", "Runner", "build", "select"]
