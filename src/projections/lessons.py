"""The timetable as the front desk reads it (DOMAIN §7.2–§7.4, API §8).

One row per lesson (where, when, who teaches, capacity, how many are booked, cancelled or
not), one row per client ever booked on it (booked or unbooked, why, and their attendance
mark), and the rooms and instructors. A cancelled lesson keeps its rows: its register is
history. Times are stored as UTC microseconds with the tenant's local date and wall clock
beside them, so lists are ordered and ranged by instant and shown as the school sees them.
"""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

import orjson

from classledger.aggregates.lesson import (
    LessonAttendanceMarked,
    LessonAttendanceUnmarked,
    LessonBooked,
    LessonCancelled,
    LessonScheduled,
    LessonUnbooked,
)
from classledger.aggregates.schedule import InstructorAdded, RoomAdded
from classledger.instants import iso, parse_us
from classledger.projections.runtime import EventRecord, QueuedProjection, handles
from classledger.store.database import Tx

_LESSON = ("lesson_id", "series_id", "branch_id", "room_id", "instructor_id", "group_id", "lesson_type", "day",
           "time", "duration_min", "starts_us", "ends_us", "capacity", "booked", "cancelled")
_LESSON_TYPES = ("text",) * 9 + ("text", "integer", "bigint", "bigint", "integer", "integer", "integer")
_BOOKING_TYPES = ("text",) * 7 + ("bigint", "bigint", "text", "text")




class Timetable(QueuedProjection):
    name = "lessons"
    version = 1
    tables = {
        "lessons": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, lesson_id TEXT NOT NULL, series_id TEXT NOT NULL, "
            "branch_id TEXT NOT NULL, room_id TEXT, instructor_id TEXT, group_id TEXT, lesson_type TEXT NOT NULL, "
            "day TEXT NOT NULL, time TEXT NOT NULL, duration_min INTEGER NOT NULL, starts_us BIGINT NOT NULL, "
            "ends_us BIGINT NOT NULL, capacity INTEGER NOT NULL, booked INTEGER NOT NULL, cancelled INTEGER NOT NULL, "
            "PRIMARY KEY (tenant_id, lesson_id))"
        ),
        "bookings": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, lesson_id TEXT NOT NULL, client_id TEXT NOT NULL, "
            "state TEXT NOT NULL, why TEXT, registration_id TEXT, credit_id TEXT, booked_us BIGINT NOT NULL, "
            "unbooked_us BIGINT, mark TEXT, visit_id TEXT, PRIMARY KEY (tenant_id, lesson_id, client_id))"
        ),
        "rooms": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, room_id TEXT NOT NULL, branch_id TEXT NOT NULL, "
            "name TEXT NOT NULL, capacity INTEGER, PRIMARY KEY (tenant_id, room_id))"
        ),
        "instructors": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, instructor_id TEXT NOT NULL, name TEXT NOT NULL, "
            "lesson_types TEXT NOT NULL, PRIMARY KEY (tenant_id, instructor_id))"
        ),
    }
    indexes = [
        "CREATE INDEX IF NOT EXISTS {t_lessons}_by_start ON {t_lessons} (tenant_id, starts_us)",
        "CREATE INDEX IF NOT EXISTS {t_bookings}_by_client ON {t_bookings} (tenant_id, client_id)",
    ]

    @handles(RoomAdded)
    def _room(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        self._queue.add(f"INSERT INTO {self.t('rooms')} (tenant_id, room_id, branch_id, name, capacity)",
                        ("text", "text", "text", "text", "integer"),
                        (str(ev.tenant_id), str(ev.aggregate_id), d["branch_id"], d["name"], d.get("capacity")),
                        "ON CONFLICT (tenant_id, room_id) DO NOTHING")

    @handles(InstructorAdded)
    def _instructor(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        self._queue.add(f"INSERT INTO {self.t('instructors')} (tenant_id, instructor_id, name, lesson_types)",
                        ("text", "text", "text", "text"),
                        (str(ev.tenant_id), str(ev.aggregate_id), d["name"],
                         orjson.dumps(d.get("lesson_types", [])).decode()),
                        "ON CONFLICT (tenant_id, instructor_id) DO NOTHING")

    @handles(LessonScheduled)
    def _scheduled(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        t, lesson = str(ev.tenant_id), str(ev.aggregate_id)
        bookings = d.get("bookings", [])
        self._queue.add(
            f"INSERT INTO {self.t('lessons')} (tenant_id, {', '.join(_LESSON)})", _LESSON_TYPES,
            (t, lesson, d["series_id"], d["branch_id"], d.get("room_id"), d.get("instructor_id"), d.get("group_id"),
             d["lesson_type"], d["day"], d["time"][:5], d["duration_min"], parse_us(d["starts_at"]), parse_us(d["ends_at"]),
             d["capacity"], len(bookings), 0),
            "ON CONFLICT (tenant_id, lesson_id) DO NOTHING",
        )
        for b in bookings:
            self._book(t, lesson, b, ev.at_us)

    def _book(self, tenant: str, lesson: str, b: dict[str, Any], at_us: int) -> None:
        # A booking again after an unbooking: the unbooking's update was sent before this
        # is queued (``_sql``), so one statement never holds the same booking twice.
        self._queue.add(
            f"INSERT INTO {self.t('bookings')} (tenant_id, lesson_id, client_id, state, why, registration_id, "
            "credit_id, booked_us, unbooked_us, mark, visit_id)", _BOOKING_TYPES,
            (tenant, lesson, b["client_id"], "booked", None, b.get("registration_id"), b.get("credit_id"), at_us,
             None, None, None),
            "ON CONFLICT (tenant_id, lesson_id, client_id) DO UPDATE SET state = 'booked', why = NULL, "
            "registration_id = excluded.registration_id, credit_id = excluded.credit_id, booked_us = excluded.booked_us, "
            "unbooked_us = NULL",
        )

    @handles(LessonBooked)
    def _booked(self, tx: Tx, ev: EventRecord) -> None:
        t, lesson = str(ev.tenant_id), str(ev.aggregate_id)
        self._book(t, lesson, ev.data["booking"], ev.at_us)
        self._sql(tx, f"UPDATE {self.t('lessons')} SET booked = booked + 1 WHERE tenant_id = ? AND lesson_id = ?",
                   (t, lesson))

    @handles(LessonUnbooked)
    def _unbooked(self, tx: Tx, ev: EventRecord) -> None:
        t, lesson = str(ev.tenant_id), str(ev.aggregate_id)
        self._sql(tx, f"UPDATE {self.t('bookings')} SET state = 'unbooked', why = ?, unbooked_us = ? "
                   "WHERE tenant_id = ? AND lesson_id = ? AND client_id = ?",
                   (ev.data["why"], ev.at_us, t, lesson, ev.data["client_id"]))
        self._sql(tx, f"UPDATE {self.t('lessons')} SET booked = booked - 1 WHERE tenant_id = ? AND lesson_id = ?",
                   (t, lesson))

    @handles(LessonCancelled)
    def _cancelled(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(tx, f"UPDATE {self.t('lessons')} SET cancelled = 1 WHERE tenant_id = ? AND lesson_id = ?",
                   (str(ev.tenant_id), str(ev.aggregate_id)))

    @handles(LessonAttendanceMarked)
    def _marked(self, tx: Tx, ev: EventRecord) -> None:
        m = ev.data["mark"]
        self._sql(tx, f"UPDATE {self.t('bookings')} SET mark = ?, visit_id = ? "
                   "WHERE tenant_id = ? AND lesson_id = ? AND client_id = ?",
                   (m["status"], m["visit_id"], str(ev.tenant_id), str(ev.aggregate_id), m["client_id"]))

    @handles(LessonAttendanceUnmarked)
    def _unmarked(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(tx, f"UPDATE {self.t('bookings')} SET mark = NULL, visit_id = NULL "
                   "WHERE tenant_id = ? AND lesson_id = ? AND client_id = ? AND visit_id = ?",
                   (str(ev.tenant_id), str(ev.aggregate_id), ev.data["client_id"], ev.data["visit_id"]))

    # ---- reads ----------------------------------------------------------------------

    def lessons(self, tenant_id: UUID, *, start_us: int | None = None, end_us: int | None = None,
                branch_id: UUID | None = None, room_id: UUID | None = None, instructor_id: UUID | None = None,
                client_id: UUID | None = None, group_id: UUID | None = None, include_cancelled: bool = True,
                limit: int | None = 100, cursor: str | None = None) -> dict[str, Any]:
        """Lessons that overlap ``[start_us, end_us)``, by start; keyset-paged (API §7)."""
        lt = self.t("lessons")
        where = ["l.tenant_id = ?"]
        params: list[Any] = [str(tenant_id)]
        if start_us is not None:
            where.append("l.ends_us > ?")
            params.append(start_us)
        if end_us is not None:
            where.append("l.starts_us < ?")
            params.append(end_us)
        for column, value in (("branch_id", branch_id), ("room_id", room_id), ("instructor_id", instructor_id),
                              ("group_id", group_id)):
            if value is not None:
                where.append(f"l.{column} = ?")
                params.append(str(value))
        if client_id is not None:
            where.append(f"EXISTS (SELECT 1 FROM {self.t('bookings')} b WHERE b.tenant_id = l.tenant_id "
                         "AND b.lesson_id = l.lesson_id AND b.client_id = ? AND b.state = 'booked')")
            params.append(str(client_id))
        if not include_cancelled:
            where.append("l.cancelled = 0")
        sql = f"FROM {lt} l WHERE {' AND '.join(where)}"
        with self.db.read() as tx:
            total = int(tx.one(f"SELECT COUNT(*) {sql}", params)[0])  # type: ignore[index]
            page_sql, page_params = sql, list(params)
            if cursor is not None:
                after_us, after_id = decode_cursor(cursor)
                page_sql += " AND (l.starts_us > ? OR (l.starts_us = ? AND l.lesson_id > ?))"
                page_params += [after_us, after_us, after_id]
            page_sql += " ORDER BY l.starts_us, l.lesson_id"
            if limit is not None:
                page_sql += f" LIMIT {int(limit) + 1}"
            rows = list(tx.execute(f"SELECT {', '.join('l.' + c for c in _LESSON)} {page_sql}", page_params))
        more = limit is not None and len(rows) > limit
        rows = rows[:limit] if limit is not None else rows
        items = [_lesson(r) for r in rows]
        next_cursor = encode_cursor(rows[-1][10], rows[-1][0]) if more and rows else None
        return {"items": items, "total": total, "next_cursor": next_cursor}

    def lesson(self, tenant_id: UUID, lesson_id: UUID) -> dict[str, Any] | None:
        """One lesson with its register: everyone ever booked, their state and mark."""
        with self.db.read() as tx:
            row = tx.one(f"SELECT {', '.join(_LESSON)} FROM {self.t('lessons')} WHERE tenant_id = ? AND lesson_id = ?",
                         (str(tenant_id), str(lesson_id)))
            if row is None:
                return None
            register = list(tx.execute(
                f"SELECT client_id, state, why, registration_id, credit_id, booked_us, unbooked_us, mark, visit_id "
                f"FROM {self.t('bookings')} WHERE tenant_id = ? AND lesson_id = ? ORDER BY booked_us, client_id",
                (str(tenant_id), str(lesson_id))))
        out = _lesson(row)
        out["register"] = [
            {"client_id": c, "state": s, "why": w, "registration_id": r, "credit_id": cr, "booked_at": iso(b, zulu=True),
             "unbooked_at": iso(u, zulu=True) if u is not None else None, "attendance": m, "visit_id": v}
            for c, s, w, r, cr, b, u, m, v in register
        ]
        return out

    def rooms(self, tenant_id: UUID, branch_id: UUID | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT room_id, branch_id, name, capacity FROM {self.t('rooms')} WHERE tenant_id = ?"
        params: list[Any] = [str(tenant_id)]
        if branch_id is not None:
            sql += " AND branch_id = ?"
            params.append(str(branch_id))
        with self.db.read() as tx:
            rows = tx.execute(sql + " ORDER BY name, room_id", params)
            return [{"id": r, "branch_id": b, "name": n, "capacity": c} for r, b, n, c in rows]

    def instructors(self, tenant_id: UUID) -> list[dict[str, Any]]:
        with self.db.read() as tx:
            rows = tx.execute(f"SELECT instructor_id, name, lesson_types FROM {self.t('instructors')} "
                              "WHERE tenant_id = ? ORDER BY name, instructor_id", (str(tenant_id),))
            return [{"id": i, "name": n, "lesson_types": orjson.loads(lt)} for i, n, lt in rows]


def _lesson(r: tuple[Any, ...]) -> dict[str, Any]:
    (lesson_id, series_id, branch_id, room_id, instructor_id, group_id, lesson_type, day, time, minutes, starts_us,
     ends_us, capacity, booked, cancelled) = r
    return {"id": lesson_id, "series_id": series_id, "branch_id": branch_id, "room_id": room_id,
            "instructor_id": instructor_id, "group_id": group_id, "lesson_type": lesson_type, "date": day,
            "time": time, "duration_min": int(minutes), "starts_at": iso(int(starts_us), zulu=True),
            "ends_at": iso(int(ends_us), zulu=True), "capacity": int(capacity), "booked": int(booked),
            "cancelled": bool(cancelled)}


def encode_cursor(starts_us: int, lesson_id: str) -> str:
    return base64.urlsafe_b64encode(f"{int(starts_us)}|{lesson_id}".encode()).decode()


class LessonCursorError(ValueError):
    pass


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        us_text, lesson_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return int(us_text), str(UUID(lesson_id))
    except (ValueError, UnicodeError) as e:
        raise LessonCursorError("not a cursor this list gave") from e
