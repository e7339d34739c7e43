"""Planning a school year against a busy timetable (DOMAIN §7.2, §7.4).

A branch whose one room and one instructor already hold 2,000 scheduled lessons; then a
weekly lesson for a school year (40 dates) is planned in that room with that instructor:
every date is checked against the room's and the instructor's timetables, the branch's
opening hours and the capacity, and the 40 lessons are written in one atomic save. The
refused plan (its last date clashes) checks all 40 dates and writes nothing. Both are
printed as milliseconds and as a multiple of this machine's raw durable single-row commit,
measured in the same run. Medians of several runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import drop, engine_names, fresh_database, median_ms, raw_insert_rate
from bench.results import Figure, add_json_option, against, write
from classledger.aggregates.errors import Conflict
from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.system import System

T0 = datetime(2026, 8, 1, 8, tzinfo=UTC)
FIRST = date(2026, 9, 1)
BUSY_TIMES = ("08:00", "09:00", "10:00", "11:00", "17:00")  # 5 a day × 400 days = 2,000 lessons


def setup(system: System) -> tuple[Principal, dict[str, str]]:
    tid = uuid.uuid4()
    system.execute(system_principal(tid), "create_tenant", {"name": "B", "timezone": "Europe/Bratislava",
                                                            "currency": "EUR"}, at=T0)
    boss = Principal(tid, uuid.uuid4(), "Bench", "director")
    branch = system.execute(boss, "add_branch", {"name": "Centrum", "city": "Bratislava"}, at=T0)["id"]
    system.execute(boss, "define_lesson_type", {"code": "dance", "name": "Tanec", "single_visit_price": "10.00"}, at=T0)
    system.execute(boss, "set_branch_hours", {"branch_id": branch, "weekly": {
        d: [["07:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}, at=T0)
    room = system.execute(boss, "add_room", {"branch_id": branch, "name": "A"}, at=T0)["id"]
    teacher = system.execute(boss, "add_instructor", {"name": "M"}, at=T0)["id"]
    ids = {"branch_id": branch, "room_id": room, "instructor_id": teacher}
    for t in BUSY_TIMES:
        system.execute(boss, "schedule_lessons", {**ids, "lesson_type": "dance", "starts_on": FIRST.isoformat(),
                                                  "time": t, "duration_min": 50, "capacity": 10,
                                                  "repeat": {"every": "day", "until": (FIRST + timedelta(days=399)).isoformat()}},
                       at=T0)
    return boss, ids


def measure(url: str, runs: int) -> dict[str, float]:
    system = System.open(url)
    try:
        raw = raw_insert_rate(system.store, 500)
        boss, ids = setup(system)
        year = {"every": "week", "until": (FIRST + timedelta(weeks=39)).isoformat()}
        slot = iter(range(1000))

        def plan() -> None:
            minute = 12 * 60 + 10 * next(slot)  # a free 10-minute slot each time
            system.execute(boss, "schedule_lessons", {**ids, "lesson_type": "dance", "starts_on": FIRST.isoformat(),
                                                      "time": f"{minute // 60:02d}:{minute % 60:02d}",
                                                      "duration_min": 10, "capacity": 10, "repeat": year}, at=T0)

        last = FIRST + timedelta(weeks=39)
        system.execute(boss, "schedule_lessons", {**ids, "lesson_type": "dance", "starts_on": last.isoformat(),
                                                  "time": "20:00", "duration_min": 30, "capacity": 1}, at=T0)

        def refused() -> None:
            try:
                system.execute(boss, "schedule_lessons", {**ids, "lesson_type": "dance",
                                                          "starts_on": FIRST.isoformat(), "time": "20:00",
                                                          "duration_min": 30, "capacity": 10, "repeat": year}, at=T0)
            except Conflict as e:
                if e.details["date"] != last.isoformat():
                    raise AssertionError(f"the clash was found on {e.details['date']}") from e
            else:
                raise AssertionError("the clash on the last date was not found")

        plan_ms = median_ms(plan, runs)
        refused_ms = median_ms(refused, runs)
        return {"raw_commit_ms": 1000 / raw, "plan_ms": plan_ms, "refused_ms": refused_ms}
    finally:
        system.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    add_json_option(ap)
    args = ap.parse_args()
    figures: list[Figure] = []
    print("database    raw commit ms   plan 40 dates ms (× raw)   refused plan ms (× raw)   (2,000 lessons booked)")
    with tempfile.TemporaryDirectory() as tmp:
        for name in engine_names():
            url = fresh_database(name, Path(tmp))
            try:
                m = measure(url, args.runs)
            finally:
                drop(url)
            raw = m["raw_commit_ms"]
            print(f"{name:<11} {raw:>13.2f}   {m['plan_ms']:>16.1f} ({m['plan_ms'] / raw:>5.1f}×)   "
                  f"{m['refused_ms']:>15.1f} ({m['refused_ms'] / raw:>5.1f}×)")
            figures += [against("plan 40 weekly dates, 2,000 booked", name, m["plan_ms"], "ms", raw, "ms raw commit"),
                        against("refused plan, 2,000 booked", name, m["refused_ms"], "ms", raw, "ms raw commit")]
    write(args.json, figures)


if __name__ == "__main__":
    main()
