"""Over HTTP: courses, groups, registrations, credits, and activity on the card,
the client list and the reports (API §3, DOMAIN §3, §5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.http.support import Api, assert_error


def test_enrolment_makes_the_client_active_everywhere(api: Api) -> None:
    api.post("/v1/lesson-types", {"code": "group", "name": "Skupina", "single_visit_price": "10.00"}, role="director")
    course = api.post("/v1/courses", {"name": "Balet", "lesson_type": "group"})
    assert course.status_code == 201, course.text
    today = datetime.now(UTC).date()
    group = api.post("/v1/groups", {"course_id": course.json()["id"], "branch_id": api.branch, "name": "Po 16:00",
                                    "capacity": 1, "starts_on": (today - timedelta(days=10)).isoformat(),
                                    "ends_on": (today + timedelta(days=90)).isoformat(),
                                    "schedule": [{"weekday": 0, "starts_at": "16:00", "minutes": 45}]}).json()["id"]
    a = api.post("/v1/clients", {"name": "Anna", "branch_id": api.branch}).json()["id"]
    b = api.post("/v1/clients", {"name": "Boris", "branch_id": api.branch}).json()["id"]
    ra = api.post("/v1/registrations", {"client_id": a, "group_id": group})
    assert (ra.status_code, ra.json()["state"]) == (201, "registered")
    rb = api.post("/v1/registrations", {"client_id": b, "group_id": group}).json()
    assert rb["state"] == "waitlist"
    assert_error(api.post("/v1/registrations", {"client_id": a, "group_id": group}), 409, "already_registered")

    card = api.get(f"/v1/clients/{a}").json()
    assert card["active"] is True
    assert card["registrations"] == [{"id": ra.json()["id"], "group_id": group, "state": "registered"}]
    assert [c["name"] for c in api.get("/v1/clients", status="active").json()["items"]] == ["Anna"]
    assert [c["name"] for c in api.get("/v1/clients", status="inactive").json()["items"]] == ["Boris"]
    assert api.get("/v1/reports/active-clients").json()["active"] == 1

    credit = api.post(f"/v1/registrations/{ra.json()['id']}/credits", {"kind": "makeup", "expires_on": (today + timedelta(days=5)).isoformat()})
    assert credit.status_code == 201, credit.text
    assert api.post(f"/v1/credits/{credit.json()['id']}/use", {}).status_code == 200
    assert_error(api.post(f"/v1/credits/{credit.json()['id']}/void", {}), 409, "credit_used")

    cancel = api.post(f"/v1/registrations/{ra.json()['id']}/cancel", {"reason": "moving away"})
    assert cancel.status_code == 200
    assert api.get(f"/v1/clients/{b}").json()["registrations"][0]["state"] == "registered"  # promoted
    # Anna stays active until the tenant's next midnight (DOMAIN §5.3)
    assert api.get(f"/v1/clients/{a}").json()["active"] is True
    month = today.strftime("%Y-%m")
    report = api.get("/v1/reports/activity", month=month).json()
    assert report["peak"] == 2
    assert_error(api.post("/v1/registrations", {"client_id": a, "group_id": group}, role="accountant"), 403)
