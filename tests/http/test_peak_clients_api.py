"""The peak is the vendor's invoice, auditable client by client (DOMAIN §5.8, API §7):
the activity report names the clients counted in its peak and why each was eligible
(§5.1: registration, credit, pass), through the real app on both databases, and the
month replay (§5.7) names the same."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from classledger import cli
from classledger.instants import us
from classledger.projections.activity import ActivityTimeline
from classledger.projections.activity_months import replay_month
from tests.http.support import Api

ZONE = ZoneInfo("Europe/Bratislava")


def _day(offset: int = 0) -> str:
    return (datetime.now(ZONE).date() + timedelta(days=offset)).isoformat()


def test_the_report_names_the_peaks_clients_and_their_sources(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    api.post("/v1/lesson-types", {"code": "group", "name": "Skupina", "single_visit_price": "15.00"}, role="director")
    course = api.post("/v1/courses", {"name": "Balet", "lesson_type": "group"}).json()["id"]
    group = api.post("/v1/groups", {"course_id": course, "branch_id": api.branch, "name": "Po", "capacity": 9,
                                    "starts_on": _day(-10), "ends_on": _day(90)}).json()["id"]
    template = api.post("/v1/pass-templates", {"name": "Skupina 10", "price": "120.00", "lessons": 10,
                                               "validity_days": 30, "lesson_type": "group"}, role="director").json()["id"]
    anna, boris, cyril, dana = (api.client(n) for n in ("Anna", "Boris", "Cyril", "Dana"))
    reg_a = api.post("/v1/registrations", {"client_id": anna, "group_id": group}).json()["id"]
    pass_b = api.post("/v1/passes", {"template_id": template, "client_ids": [boris], "branch_id": api.branch,
                                     "valid_from": _day(), "payment": "on_credit"}).json()["id"]
    reg_c = api.post("/v1/registrations", {"client_id": cyril, "group_id": group}).json()["id"]
    credit_c = api.post(f"/v1/registrations/{reg_c}/credits", {"kind": "makeup", "expires_on": _day(20)}).json()["id"]
    # Cancelled today: Cyril stays active until midnight (§5.3), by the registration and the credit.
    assert api.post(f"/v1/registrations/{reg_c}/cancel", {"reason": "schedule"}).status_code == 200

    month = _day()[:7]
    report = api.get("/v1/reports/activity", month=month, role="accountant").json()
    assert report["peak"] == 3
    assert report["peak_clients"] == [
        {"id": anna, "name": "Anna", "sources": [{"kind": "registration", "id": reg_a}]},
        {"id": boris, "name": "Boris", "sources": [{"kind": "pass", "id": pass_b}]},
        {"id": cyril, "name": "Cyril", "sources": sorted([{"kind": "credit", "id": credit_c},
                                                          {"kind": "registration", "id": reg_c}],
                                                         key=lambda s: s["kind"][0] + ":" + s["id"])},
    ]
    assert dana not in [c["id"] for c in report["peak_clients"]]
    # The month replayed from its start names the same clients for the same reasons (§5.7).
    view = api.system.view(ActivityTimeline)
    replayed = replay_month(api.system.store, view, api.tenant_id, month, as_of=us(datetime.now(ZONE)))
    assert replayed is not None
    assert replayed.report["peak_clients"] == sorted(({"id": c["id"], "sources": c["sources"]} for c in report["peak_clients"]),
                                                     key=lambda c: c["id"])
    # The CLI gives the same body (API §1).
    monkeypatch.setenv("CLASSLEDGER_DATABASE_URL", database_url)
    cli.main(["report", "activity", "--tenant", str(api.tenant_id), "--month", month, "--json"])
    assert orjson.loads(capsys.readouterr().out)["peak_clients"] == report["peak_clients"]
    # A month with no activity names nobody.
    assert api.get("/v1/reports/activity", month="2026-01").json()["peak_clients"] == []
