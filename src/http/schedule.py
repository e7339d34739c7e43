"""The schedule's reads (API §8): lessons by range and filter, one lesson with its register,
a client's lessons, rooms and instructors with their weeks, and the same lists as an
iCalendar feed (RFC 5545, written by the ``icalendar`` library) that a calendar app imports.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from icalendar import Calendar
from icalendar import Event as CalendarEvent
from starlette.requests import Request
from starlette.responses import Response

from classledger import views
from classledger.application.principal import Principal
from classledger.http.errors import ApiError, render
from classledger.http.handlers import Handlers
from classledger.http.inputs import parse_query, path_id
from classledger.http.instants import instant_us
from classledger.http.offload import run_in_threadpool
from classledger.http.queries import LessonsQuery, WeekQuery
from classledger.instants import day_start
from classledger.projections.lessons import LessonCursorError, Timetable
from classledger.system import now

ICS = "text/calendar; charset=utf-8"


class ScheduleReads(Handlers):
    """The schedule's read handlers, part of the app's ``Api``."""

    @property
    def timetable(self) -> Timetable:
        return self.system.view(Timetable)

    async def list_lessons(self, request: Request) -> Response:
        principal = await self.principal(request)
        q = parse_query(request, LessonsQuery)
        return await self._lessons(principal, q, client_id=q.client_id)

    async def client_lessons(self, request: Request) -> Response:
        principal = await self.principal(request)
        client_id = path_id(request)
        q = parse_query(request, LessonsQuery)
        if not await run_in_threadpool(views.client_known, self.system, principal.tenant_id, client_id):
            raise ApiError(404, "client_not_found", f"no client {client_id}", id=str(client_id))
        return await self._lessons(principal, q, client_id=client_id)

    async def _lessons(self, principal: Principal, q: LessonsQuery, *, client_id: UUID | None) -> Response:
        await self.catch_up()
        tenant_id = principal.tenant_id

        def read() -> dict[str, Any]:
            zone = self.zone(tenant_id)
            return self.timetable.lessons(
                tenant_id, start_us=instant_us(q.from_, zone, field="from"),
                end_us=instant_us(q.to, zone, end=True, field="to"),
                branch_id=q.branch_id, room_id=q.room_id, instructor_id=q.instructor_id, client_id=client_id,
                group_id=q.group_id, include_cancelled=q.include_cancelled,
                limit=None if q.format == "ics" else q.limit, cursor=None if q.format == "ics" else q.cursor)

        try:
            page = await run_in_threadpool(read)
        except LessonCursorError as e:
            raise ApiError(422, "invalid_cursor", str(e), parameter="cursor") from None
        if q.format == "ics":
            return await self._feed(tenant_id, page["items"])
        return render(page)

    async def lesson(self, request: Request) -> Response:
        principal = await self.principal(request)
        lesson_id = path_id(request)
        await self.catch_up()
        found = await run_in_threadpool(self.timetable.lesson, principal.tenant_id, lesson_id)
        if found is None:
            raise ApiError(404, "lesson_not_found", f"no lesson {lesson_id}", id=str(lesson_id))
        return render(found)

    async def list_rooms(self, request: Request) -> Response:
        principal = await self.principal(request)
        await self.catch_up()
        items = await run_in_threadpool(self.timetable.rooms, principal.tenant_id)
        return render({"items": items, "total": len(items), "next_cursor": None})

    async def list_instructors(self, request: Request) -> Response:
        principal = await self.principal(request)
        await self.catch_up()
        items = await run_in_threadpool(self.timetable.instructors, principal.tenant_id)
        return render({"items": items, "total": len(items), "next_cursor": None})

    async def room_week(self, request: Request) -> Response:
        return await self._week(request, "room")

    async def instructor_week(self, request: Request) -> Response:
        return await self._week(request, "instructor")

    async def _week(self, request: Request, kind: str) -> Response:
        principal = await self.principal(request)
        holder_id = path_id(request)
        q = parse_query(request, WeekQuery)
        await self.catch_up()
        tenant_id = principal.tenant_id

        def read() -> dict[str, Any] | None:
            known = (self.timetable.rooms if kind == "room" else self.timetable.instructors)(tenant_id)
            holder = next((h for h in known if h["id"] == str(holder_id)), None)
            if holder is None:
                return None
            zone = self.zone(tenant_id)
            day = q.date or now().astimezone(zone).date()
            monday = day - timedelta(days=day.weekday())
            page = self.timetable.lessons(tenant_id, start_us=day_start(monday, zone),
                                          end_us=day_start(monday + timedelta(days=7), zone),
                                          limit=None, include_cancelled=False,
                                          **{f"{kind}_id": holder_id})  # type: ignore[arg-type]
            return {kind: holder, "week_of": monday.isoformat(), "items": page["items"]}

        week = await run_in_threadpool(read)
        if week is None:
            raise ApiError(404, f"{kind}_not_found", f"no {kind} {holder_id}", id=str(holder_id))
        if q.format == "ics":
            return await self._feed(tenant_id, week["items"])
        return render(week)

    async def _feed(self, tenant_id: UUID, items: list[dict[str, Any]]) -> Response:
        rooms = {r["id"]: r["name"] for r in await run_in_threadpool(self.timetable.rooms, tenant_id)}
        teachers = {i["id"]: i["name"] for i in await run_in_threadpool(self.timetable.instructors, tenant_id)}
        return Response(ics_feed(items, rooms, teachers, stamp=now()), media_type=ICS)


def ics_feed(items: list[dict[str, Any]], rooms: dict[str, str], teachers: dict[str, str], *,
             stamp: datetime) -> bytes:
    """Lessons as an iCalendar feed: one VEVENT per lesson, UTC instants, a stable UID, and
    ``STATUS:CANCELLED`` for a cancelled lesson so a calendar app takes it off."""
    cal = Calendar()
    cal.add("prodid", "-//classledger//schedule//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    for lesson in items:
        ev = CalendarEvent()
        ev.add("uid", f"{lesson['id']}@classledger")
        ev.add("dtstamp", stamp.astimezone(UTC))
        ev.add("dtstart", datetime.fromisoformat(lesson["starts_at"]))
        ev.add("dtend", datetime.fromisoformat(lesson["ends_at"]))
        ev.add("summary", lesson["lesson_type"])
        where = rooms.get(lesson["room_id"] or "")
        if where:
            ev.add("location", where)
        teacher = teachers.get(lesson["instructor_id"] or "")
        if teacher:
            ev.add("description", f"Instructor: {teacher}")
        ev.add("status", "CANCELLED" if lesson["cancelled"] else "CONFIRMED")
        cal.add_component(ev)
    feed: bytes = cal.to_ical()
    return feed
