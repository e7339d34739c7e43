"""Whatever a command accepts, every projection can apply (DOMAIN §1.1, §6.1; API §2).

Random commands of many kinds, with arguments drawn to hurt (NUL and other control
characters, zero-width and very long text, cities without a letter, dates from year 1 to
9999 and with a time part, amounts at the limit, numbers where strings belong), go through
the one pipeline, ``System.execute``. A refusal is fine; anything else that goes wrong is
a bug. And after every command each projection must be at the head, and the reads (card,
list, balance, journal, trial balance, activity, passes) must answer, on both databases.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classledger.aggregates.errors import Refused
from classledger.application.principal import Principal
from classledger.system import System
from tests.http.support import Api

EXAMPLES = 100  # per database; each example runs one to four commands and every read

# ---- argument strategies -------------------------------------------------------------------

NASTY_TEXT = [
    "\u0000", "a\u0000b", "\u0001", "\u007f", "\u0085", "\u200b", "\u200b\u200c\ufeff", " ", "\t", "line\nbreak",
    "-", "–", "·", "x" * 5001, "Š" * 201, "Eva Nováková", "Москва", "北京", "🙂", "'; DROP TABLE t; --", "%_\\",
    "=1+2", "\u2028", "\ud7ff", "a\u0301", "ﬁ", "𝐀",
]
def mixed(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], good_share: int = 4) -> st.SearchStrategy[Any]:
    """Mostly good values (so that commands get accepted and build on each other), often bad."""
    return st.sampled_from((True,) * good_share + (False,)).flatmap(lambda ok: good if ok else bad)


words = st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=12)
nasty_text = st.sampled_from(NASTY_TEXT)
text = mixed(st.one_of(words, st.sampled_from(["Eva Nováková", "Salsa", "Москва", "北京", "🙂", "=1+2"])),
             st.one_of(nasty_text, nasty_text, nasty_text, st.text(max_size=40)))
city = mixed(st.sampled_from(["Bratislava", "bratislava", "Košice", "Nové Zámky", "Москва", "ǅ"]),
             st.sampled_from(["-", "--", "·", " - ", "\u0000", "Košice\u0000", "\u200b", "x" * 121]), good_share=1)
DAYS = ["9999-12-31", "0001-01-01", "1899-12-31", "1900-01-01", "2199-12-31", "2200-01-01", "2026-01-01T00:00:00",
        "2026-02-30", " 2026-03-02", "20260303", 0, 1767225600, None]
day = mixed(st.dates(date(2025, 6, 1), date(2026, 12, 31)).map(lambda d: d.isoformat()),
            st.one_of(st.sampled_from(DAYS), st.sampled_from(DAYS), st.dates().map(lambda d: d.isoformat())))
MONEY = ["1000000000000000.00", "0.00", " 10.00", "10.00 ", "1e1", "10", "10.5", "-0.00", "NaN", 10, 10.5,
         "١٠.٠٠", "+1.00", "-999999999999999.99"]
money = mixed(st.one_of(st.sampled_from(["999999999999999.99", "0.01", "10.00", "80.00"]),
                        st.decimals(min_value=0, max_value=10**6, places=2).map(str)),
              st.one_of(st.sampled_from(MONEY), st.decimals(min_value=-10**16, max_value=10**16, places=2).map(str)))
PERCENTS = ["1e1", "10", "12.5", "100", "100.01", "0", "0.01", " 10", "-5", "NaN", "Infinity", "1E2", "50.000"]
count = mixed(st.integers(1, 40), st.sampled_from([0, 1000, 1001, 3660, 10**9, -1, 2**63]))
months = mixed(st.dates(date(2025, 6, 1), date(2027, 12, 31)).map(lambda d: d.isoformat()[:7]),
               st.sampled_from(["0000-01", "0001-01", "2110-01", "9999-12", "2026-13", "1900-01", "2199-12"]))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


class World:
    """One tenant in a system, and the ids its accepted commands have made so far."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.api = Api(system)
        self.me = Principal(self.api.tenant_id, uuid.uuid4(), "Director", "regional_director")
        self.clock = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        self.ids: dict[str, list[str]] = {k: [] for k in (
            "client", "pass", "template", "transaction", "course", "group", "registration", "credit", "visit",
            "room", "instructor", "lesson")}
        self.ids["branch"] = [self.api.branch]
        self.do("define_lesson_type", {"code": "salsa", "name": "Salsa", "single_visit_price": "10.00"})
        self.do("create_pass_template", {"name": "8×", "price": "80.00", "lessons": 8, "validity_days": 30,
                                         "lesson_type": "salsa"}, "template")
        self.do("register_client", {"name": "Eva", "branch_id": self.api.branch}, "client")
        self.do("register_client", {"name": "Ján", "branch_id": self.api.branch}, "client")
        self.do("create_course", {"name": "Salsa I", "lesson_type": "salsa"}, "course")
        self.do("define_custom_field", {"key": "level", "label": "Level", "type": "number"})

    def do(self, command: str, args: Any, kind: str | None = None) -> dict[str, Any] | None:
        self.clock += timedelta(minutes=7)
        try:
            answer = self.system.execute(self.me, command, self.resolve(args), at=self.clock)
        except Refused:
            return None
        if kind is not None:
            self.ids[kind].append(str(answer["id"]))
        self.ids["lesson"] += [str(i) for i in answer.get("lesson_ids", ())]
        tx = answer.get("transaction_id")
        if tx:
            self.ids["transaction"].append(str(tx))
        return answer

    def resolve(self, value: Any) -> Any:
        """The arguments with each ``Ref`` replaced by an id made so far (or an unknown one)."""
        if isinstance(value, Ref):
            pool = self.ids[value.kind]
            return pool[value.n % len(pool)] if pool and value.n else str(uuid.UUID(int=value.n + 1))
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value


class Ref:
    """An id of a kind, chosen when the command runs: the strategies stay independent of
    what earlier examples made (hypothesis replays them)."""

    def __init__(self, kind: str, n: int) -> None:
        self.kind, self.n = kind, n

    def __repr__(self) -> str:
        return f"Ref({self.kind!r}, {self.n})"


def some(kind: str) -> st.SearchStrategy[Ref]:
    return st.integers(0, 12).map(lambda n: Ref(kind, n))


def commands() -> st.SearchStrategy[tuple[str, dict[str, Any], str | None]]:
    """One command of a kind drawn at random, with arguments drawn to hurt."""
    client, branch = some("client"), some("branch")
    table: list[tuple[str, str | None, dict[str, st.SearchStrategy[Any]], dict[str, st.SearchStrategy[Any]]]] = [
        ("add_branch", "branch", {"name": text, "city": city}, {}),
        ("register_client", "client", {"name": text, "branch_id": branch},
         {"notes": text, "birth_date": day, "tags": st.lists(text, max_size=3), "phones": st.lists(text, max_size=2),
          "email": text, "card_number": text, "photo": text, "custom_fields": st.dictionaries(st.one_of(st.just("level"), text),
                                         st.one_of(text, st.integers(), st.floats()), max_size=2)}),
        ("update_client", None, {"client_id": client},
         {"name": text, "notes": text, "birth_date": day,
          "custom_fields": st.dictionaries(st.just("level"), st.one_of(st.integers(), st.floats()), max_size=1)}),
        ("tag_client", None, {"client_id": client, "tag": text}, {}),
        ("freeze_client", None, {"client_id": client, "from": day, "to": day}, {"reason": text}),
        ("set_next_call", None, {"client_id": client, "on": day}, {}),
        ("join_waitlist", None, {"client_id": client}, {"instructor": text, "comment": text}),
        ("receive_payment", "transaction", {"client_id": client, "amount": money, "method": st.just("cash"),
                                           "branch_id": branch}, {"note": text, "pass_id": some("pass")}),
        ("post_correction", "transaction", {"client_id": client, "branch_id": branch, "amount": money, "reason": text},
         {}),
        ("write_off_debt", None, {"client_id": client, "city": city, "reason": text}, {"amount": money}),
        ("give_discount", None, {"client_id": client, "kind": st.sampled_from(["absolute", "percent"]),
                                 "value": mixed(st.sampled_from(PERCENTS), money), "reason": text}, {}),
        ("cancel_transaction", None, {"transaction_id": some("transaction"), "reason": text}, {}),
        ("create_pass_template", "template", {"name": text, "price": money, "lessons": count, "validity_days": count,
                                              "lesson_type": st.sampled_from(["salsa", "tango", "\u0000"])},
         {"description": text}),
        ("sell_pass", "pass", {"template_id": some("template"), "client_ids": st.lists(client, min_size=1, max_size=1),
                               "branch_id": branch, "valid_from": day,
                               "payment": st.just("paid"), "method": st.just("cash")}, {}),
        ("extend_pass", None, {"pass_id": some("pass"), "valid_until": day}, {"bonus_lessons": count}),
        ("correct_pass_validity", None, {"pass_id": some("pass"), "valid_until": day}, {"valid_from": day}),
        ("add_virtual_visits", None, {"pass_id": some("pass"), "count": count}, {}),
        ("record_visit", "visit", {"client_id": client, "lesson_type": st.just("salsa"), "date": day,
                                   "status": st.sampled_from(["attended", "absent"])}, {}),
        ("refund_pass", None, {"pass_id": some("pass"), "method": st.just("cash"), "comment": text},
         {"amount": money}),
        ("recalculate_pass", None, {"pass_id": some("pass"), "template_id": some("template")},
         {"difference": money}),
        ("create_group", "group", {"course_id": some("course"), "branch_id": branch, "name": text,
                                   "capacity": count, "starts_on": day, "ends_on": day}, {}),
        ("register", "registration", {"client_id": client, "group_id": some("group")}, {}),
        ("grant_credit", "credit", {"registration_id": some("registration"),
                                    "kind": st.sampled_from(["makeup", "coupon"]), "expires_on": day},
         {"value": money}),
        ("define_custom_field", None, {"key": text, "label": text, "type": st.sampled_from(["text", "choice"])},
         {"choices": st.lists(text, max_size=3)}),
        ("request_tier_downgrade", None, {"month": months, "tier": text}, {}),
        ("add_room", "room", {"branch_id": branch, "name": text}, {"capacity": count}),
        ("add_instructor", "instructor", {"name": text}, {"lesson_types": st.lists(st.just("salsa"), max_size=1)}),
        ("schedule_lessons", None, {"branch_id": branch, "lesson_type": st.just("salsa"), "starts_on": day,
                                    "time": mixed(st.sampled_from(["10:00", "18:30"]),
                                                  st.sampled_from(["25:00", "10:00\u0000", "", "1000"])),
                                    "duration_min": count, "capacity": count},
         {"room_id": some("room"), "instructor_id": some("instructor"), "client_ids": st.lists(client, max_size=2),
          "repeat": st.fixed_dictionaries({"every": st.sampled_from(["day", "week", "month"]), "until": day},
                                          optional={"interval": count})}),
        ("book_lesson", None, {"lesson_id": some("lesson"), "client_id": client}, {}),
        ("cancel_lesson", None, {"lesson_id": some("lesson"), "reason": text}, {}),
        ("archive_client", None, {"client_id": client, "reason": text}, {}),
        ("restore_client", None, {"client_id": client}, {}),
    ]
    return st.sampled_from(table).flatmap(
        lambda row: st.fixed_dictionaries(row[2], optional=row[3]).map(lambda args: (row[0], args, row[1]))
    )


COMMANDS = commands()


def assert_reads_answer(w: World) -> None:
    runner = w.system.runner
    runner.catch_up()
    head = w.system.store.recorder.max_notification_id() or 0
    behind = {name: at for name, at in runner.positions().items() if at < head}
    assert not behind, f"projections behind the head {head}: {behind}"
    api = w.api
    paths = ["/v1/clients", "/v1/clients?include=archived,deleted", "/v1/ledger/journal",
             "/v1/ledger/trial-balance", "/v1/reports/active-clients", "/v1/reports/passes",
             f"/v1/reports/activity?month={w.clock:%Y-%m}", "/v1/reports/activity?month=2026-01", "/v1/payments",
             "/v1/branches", "/v1/lesson-types", "/v1/custom-fields", "/v1/courses", "/v1/groups", "/v1/pass-templates",
             "/v1/lessons", "/v1/rooms", "/v1/instructors", "/v1/keys", "/v1/audit/actions"]
    for client_id in w.ids["client"][-3:]:
        paths += [f"/v1/clients/{client_id}", f"/v1/clients/{client_id}/balance", f"/v1/clients/{client_id}/finance",
                  f"/v1/clients/{client_id}/history", f"/v1/clients/{client_id}/lessons"]
    for pass_id in w.ids["pass"][-2:]:
        paths += [f"/v1/passes/{pass_id}"]
    for lesson_id in w.ids["lesson"][-2:]:
        paths += [f"/v1/lessons/{lesson_id}"]
    for path in paths:
        r = api.http.get(path, headers=api.h("director"))
        assert r.status_code == 200, (path, r.status_code, r.text[:300])


def test_every_accepted_command_applies_to_every_projection(system: System) -> None:
    world = World(system)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def run(data: st.DataObject) -> None:
        for _ in range(data.draw(st.integers(1, 4), label="commands")):
            command, args, kind = data.draw(COMMANDS, label="command")
            world.do(command, args, kind)
        assert_reads_answer(world)

    run()
