"""The schedule through the real app (API §8): writes, refusals as HTTP errors, the reads,
and the iCalendar feed parsed back as a calendar app would."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from icalendar import Calendar

from classledger.system import now
from tests.http.support import Api, assert_error


def next_monday() -> date:
    today = now().date()
    return today + timedelta(days=7 - today.weekday() + 7)  # a Monday at least a week away


def setup(api: Api) -> dict[str, str]:
    assert api.post("/v1/lesson-types", {"code": "dance", "name": "Tanec", "single_visit_price": "12.00"},
                    role="director").status_code == 201
    room = api.post("/v1/rooms", {"branch_id": api.branch, "name": "Sála A", "capacity": 12}, role="director")
    assert room.status_code == 201, room.text
    teacher = api.post("/v1/instructors", {"name": "Mária Kováčová", "lesson_types": ["dance"]}, role="director")
    assert teacher.status_code == 201, teacher.text
    hours = api.post(f"/v1/branches/{api.branch}/hours",
                     {"weekly": {d: [["08:00", "21:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}},
                     role="director")
    assert hours.status_code == 200, hours.text
    return {"room": room.json()["id"], "teacher": teacher.json()["id"]}


def test_plan_book_mark_and_read_back(api: Api) -> None:
    ids = setup(api)
    monday = next_monday()
    kid = api.client("Ema Malá")
    plan = api.post("/v1/lessons", {"branch_id": api.branch, "room_id": ids["room"], "instructor_id": ids["teacher"],
                                    "lesson_type": "dance", "starts_on": monday.isoformat(), "time": "17:00",
                                    "duration_min": 45, "capacity": 8,
                                    "repeat": {"every": "week", "weekdays": ["mon", "wed"],
                                               "until": (monday + timedelta(days=13)).isoformat()}})
    assert plan.status_code == 201, plan.text
    lesson_ids = plan.json()["lesson_ids"]
    assert len(lesson_ids) == 4
    booked = api.post(f"/v1/lessons/{lesson_ids[0]}/bookings", {"client_id": kid})
    assert booked.status_code == 201, booked.text
    assert_error(api.post(f"/v1/lessons/{lesson_ids[0]}/bookings", {"client_id": kid}), 409, "already_on_lesson")

    listed = api.get("/v1/lessons", **{"from": monday.isoformat(), "to": (monday + timedelta(days=6)).isoformat()})
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == 2
    assert [x["date"] for x in body["items"]] == [monday.isoformat(), (monday + timedelta(days=2)).isoformat()]
    page = api.get("/v1/lessons", limit="3").json()
    assert (len(page["items"]), page["total"]) == (3, 4)
    rest = api.get("/v1/lessons", limit="3", cursor=page["next_cursor"]).json()
    assert [x["id"] for x in page["items"] + rest["items"]] == lesson_ids
    assert rest["next_cursor"] is None
    assert_error(api.get("/v1/lessons", cursor="nonsense"), 422, "invalid_cursor")

    one = api.get(f"/v1/lessons/{lesson_ids[0]}").json()
    assert [(r["client_id"], r["state"]) for r in one["register"]] == [(kid, "booked")]
    mine = api.get(f"/v1/clients/{kid}/lessons").json()
    assert [x["id"] for x in mine["items"]] == [lesson_ids[0]]
    assert api.get("/v1/lessons", client_id=kid).json()["total"] == 1
    assert api.get("/v1/lessons", room_id=ids["room"]).json()["total"] == 4
    assert api.get("/v1/lessons", instructor_id=ids["teacher"], branch_id=api.branch).json()["total"] == 4

    week = api.get(f"/v1/rooms/{ids['room']}/week", date=(monday + timedelta(days=3)).isoformat()).json()
    assert week["week_of"] == monday.isoformat()
    assert len(week["items"]) == 2
    assert api.get(f"/v1/instructors/{ids['teacher']}/week", date=monday.isoformat()).json()["instructor"]["name"] == "Mária Kováčová"
    assert [r["name"] for r in api.get("/v1/rooms").json()["items"]] == ["Sála A"]
    assert api.get("/v1/instructors").json()["items"][0]["lesson_types"] == ["dance"]

    gone = api.post(f"/v1/lessons/{lesson_ids[1]}/cancel", {"reason": "holiday"})
    assert gone.status_code == 200, gone.text
    assert api.get("/v1/lessons", include_cancelled="false").json()["total"] == 3
    unbooked = api.send("DELETE", f"/v1/lessons/{lesson_ids[0]}/bookings/{kid}")
    assert unbooked.status_code == 200, unbooked.text
    assert api.get(f"/v1/lessons/{lesson_ids[0]}").json()["register"][0]["state"] == "unbooked"


def test_refusals_answer_with_their_codes(api: Api) -> None:
    ids = setup(api)
    monday = next_monday()
    base = {"branch_id": api.branch, "lesson_type": "dance", "time": "17:00", "duration_min": 45, "capacity": 8}
    assert api.post("/v1/lessons", {**base, "room_id": ids["room"], "starts_on": monday.isoformat()}).status_code == 201
    events = api.events()
    assert_error(api.post("/v1/lessons", {**base, "room_id": ids["room"], "starts_on": monday.isoformat(),
                                          "time": "17:30"}), 409, "room_booked")
    assert_error(api.post("/v1/lessons", {**base, "starts_on": (monday + timedelta(days=5)).isoformat()}),
                 409, "branch_closed")
    assert_error(api.post("/v1/lessons", {**base, "starts_on": monday.isoformat(), "capacity": 0}),
                 422, "lesson_admits_nobody")
    assert_error(api.post("/v1/lessons", {**base, "starts_on": "2026-01-05"}), 403, "in_the_past")
    assert_error(api.post("/v1/lessons", {**base, "starts_on": monday.isoformat(), "time": "25:00"}), 422, "invalid_time")
    assert_error(api.post("/v1/lessons", {**base, "starts_on": monday.isoformat(),
                                          "repeat": {"every": "week", "interval": 9, "until": "2027-12-31"}}), 422)
    assert_error(api.get("/v1/lessons/00000000-0000-0000-0000-000000000000"), 404, "lesson_not_found")
    assert api.events() == events  # nothing written
    # The regional director schedules in the past (DOMAIN §1.4).
    assert api.post("/v1/lessons", {**base, "starts_on": "2026-01-05"}, role="regional_director").status_code == 201


def test_the_calendar_feed_parses_back(api: Api) -> None:
    """GET /v1/lessons?format=ics (and per instructor, per client): RFC 5545 a calendar imports."""
    ids = setup(api)
    monday = next_monday()
    kid = api.client("Ema Malá")
    lessons = api.post("/v1/lessons", {"branch_id": api.branch, "room_id": ids["room"],
                                       "instructor_id": ids["teacher"], "lesson_type": "dance",
                                       "starts_on": monday.isoformat(), "time": "16:00", "duration_min": 60,
                                       "capacity": 5, "client_ids": [kid],
                                       "repeat": {"every": "day", "until": (monday + timedelta(days=2)).isoformat()}}
                       ).json()["lesson_ids"]
    api.post(f"/v1/lessons/{lessons[2]}/cancel", {"reason": "holiday"})
    for params in ({}, {"instructor_id": ids["teacher"]}, {"client_id": kid}):
        r = api.get("/v1/lessons", format="ics", **params)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/calendar")
        cal = Calendar.from_ical(r.content)
        events = cal.walk("VEVENT")
        assert [str(e["uid"]) for e in events] == [f"{i}@classledger" for i in lessons]
        starts = [e.decoded("dtstart") for e in events]
        assert all(isinstance(s, datetime) for s in starts)
        assert next(s.astimezone().date() for s in starts) == monday
        assert (events[0].decoded("dtend") - starts[0]) == timedelta(hours=1)
        assert str(events[0]["location"]) == "Sála A"
        assert [str(e["status"]) for e in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    week = api.get(f"/v1/instructors/{ids['teacher']}/week", date=monday.isoformat(), format="ics")
    assert len(Calendar.from_ical(week.content).walk("VEVENT")) == 2  # the cancelled one is left out
