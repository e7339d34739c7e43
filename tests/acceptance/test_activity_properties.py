"""§5.7 and §5.5 as a property, through the real commands: for random command sequences
over several months, the live monthly report == the report replayed from that month's
events == an independent reference walking time event by event and midnight by midnight."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from classledger.aggregates.errors import Refused
from classledger.instants import us
from classledger.projections.activity import ActivityTimeline
from classledger.projections.activity_months import replay_month
from classledger.projections.runtime import decode
from classledger.system import System
from tests.activity_reference import daily_active
from tests.builders import School

ZONE = ZoneInfo("Europe/Bratislava")
START = datetime(2026, 2, 20, 8, 0, tzinfo=ZONE)
MONTHS = ["2026-02", "2026-03", "2026-04", "2026-05"]

steps = st.lists(
    st.tuples(
        st.sampled_from(["register", "register", "cancel", "transfer", "credit", "use", "archive", "restore"]),
        st.integers(0, 5),  # client
        st.integers(0, 2),  # group
        st.integers(0, 9),  # which earlier registration / credit
        st.integers(1, 60 * 24 * 5),  # minutes to the next command
        st.integers(0, 30),  # credit validity in days
    ),
    min_size=1,
    max_size=30,
)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory):
    s = System.open(f"sqlite:///{tmp_path_factory.mktemp('prop')}/db.sqlite")
    yield s
    s.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps)
def test_live_equals_replay_equals_reference(system: System, plan: list[tuple[str, int, int, int, int, int]]) -> None:
    at = START
    school = School.open(system, name="P", at=at, timezone=ZONE.key, tiers=[["S", 2], ["L", 100]])
    tid = school.tenant_id
    admin = school.admin = school.principal("admin", "A")
    school.director = school.principal("director", "D")
    branch = school.branch("B", "Bratislava", at=at)
    school.lesson_type("group", "G", "9.00", at=at)
    course = system.execute(admin, "create_course", {"name": "C", "lesson_type": "group"}, at=at)["id"]
    ends = ["2026-03-10", "2026-04-19", "2026-05-31"]
    groups = [system.execute(admin, "create_group", {"course_id": course, "branch_id": branch, "name": f"G{i}", "capacity": 2,
                                                     "starts_on": "2026-02-01", "ends_on": e}, at=at)["id"] for i, e in enumerate(ends)]
    clients = [school.client(f"K{i}", branch, at=at) for i in range(6)]
    regs: list[str] = []
    credits: list[str] = []
    for action, ci, gi, pick, minutes, valid in plan:
        at = at + timedelta(minutes=minutes)
        if at >= datetime(2026, 5, 31, tzinfo=ZONE):
            break
        try:
            if action == "register":
                regs.append(system.execute(admin, "register", {"client_id": clients[ci], "group_id": groups[gi]}, at=at)["id"])
            elif action == "cancel" and regs:
                system.execute(admin, "cancel_registration", {"registration_id": regs[pick % len(regs)], "reason": "x"}, at=at)
            elif action == "transfer" and regs:
                system.execute(admin, "transfer_registration", {"registration_id": regs[pick % len(regs)], "group_id": groups[gi]}, at=at)
            elif action == "credit" and regs:
                exp = (at.astimezone(ZONE).date() + timedelta(days=valid)).isoformat()
                credits.append(system.execute(admin, "grant_credit", {"registration_id": regs[pick % len(regs)], "kind": "makeup", "expires_on": exp}, at=at)["id"])
            elif action == "use" and credits:
                system.execute(admin, "use_credit", {"credit_id": credits[pick % len(credits)]}, at=at)
            elif action == "archive":
                system.execute(admin, "archive_client", {"client_id": clients[ci], "reason": "x"}, at=at)
            elif action == "restore":
                system.execute(admin, "restore_client", {"client_id": clients[ci]}, at=at)
        except Refused:
            pass
    system.runner.catch_up()
    as_of = us(datetime(2026, 7, 1, tzinfo=ZONE))
    rows = [decode(r) for r in system.store.recorder.read_rows(0, 100_000, tenant_id=tid)]
    stream = [(r.at_us, r.type, str(r.aggregate_id), r.data) for r in rows]
    first = date(2026, 2, 1)
    reference = daily_active(stream, ZONE, first, (date(2026, 6, 1) - first).days)
    event(f"someone was active: {max(reference) > 0}")
    view = system.view(ActivityTimeline)
    offset = 0
    for month in MONTHS:
        live = view.report(tid, month, as_of=as_of)
        replayed = replay_month(system.store, view, tid, month, as_of=as_of)
        assert live is not None
        assert replayed is not None
        assert live == replayed.report
        assert replayed.events_read == sum(1 for r in rows if month_of(r.at_us) == month)
        days = [d["peak"] for d in live["days"]]
        assert days == reference[offset: offset + len(days)], month
        offset += len(days)


def month_of(instant_us: int) -> str:
    from classledger.projections.activity_model import month_of as m

    return m(instant_us, ZONE)
