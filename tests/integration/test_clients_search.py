"""The client directory's search and paging on both databases (DOMAIN §2.7, API §3)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from classledger.instants import us
from classledger.projections.activity import ActivityTimeline
from classledger.projections.clients import CursorError
from classledger.system import System
from tests.integration.test_clients import T0, School


def people(s: School) -> None:
    s.client("Ľubica Šťastná", phones=["+421 905 123 456"], email="lubica@example.sk")
    s.client("Juraj Šťastný", phones=["0902 777 888", "02/444 555 66"], card_number="SK-2001")
    s.client("Юлия Смирнова", card_number="C-77", phones=["+7 916 123-45-67"])
    s.client("Märt Tamm", email="Tamm@Example.ee", phones=["5551 2345"])
    s.client("Anna Kovács", email="anna.k@example.hu")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # names: case- and accent-insensitive substrings (Slovak, Russian, Estonian, Hungarian)
        ("lubica", ["Ľubica Šťastná"]), ("ĽUBICA", ["Ľubica Šťastná"]), ("šťastn", ["Juraj Šťastný", "Ľubica Šťastná"]),
        ("STASTNY", ["Juraj Šťastný"]), ("юлия", ["Юлия Смирнова"]), ("ЮЛИЯ", ["Юлия Смирнова"]),
        ("смирн", ["Юлия Смирнова"]), ("iuliia", ["Юлия Смирнова"]), ("märt", ["Märt Tamm"]), ("mart t", ["Märt Tamm"]),
        ("kovacs", ["Anna Kovács"]), ("  anna   kov ", ["Anna Kovács"]),
        # phones: digits only, either phone, any formatting on either side
        ("0905 123", ["Ľubica Šťastná"]), ("421905123456", ["Ľubica Šťastná"]), ("+421 905 123 456", ["Ľubica Šťastná"]),
        ("(0902) 777-888", ["Juraj Šťastný"]), ("+421 902 777 888", ["Juraj Šťastný"]), ("0244455566", ["Juraj Šťastný"]),
        ("916 123 45 67", ["Юлия Смирнова"]), ("5551-2345", ["Märt Tamm"]),
        ("8 916 123 45 67", []),  # a national trunk other than 0 (Russia's 8) is not recognised
        # email and card number: case-insensitive substrings
        ("tamm@example", ["Märt Tamm"]), ("TAMM@EXAMPLE.EE", ["Märt Tamm"]), ("@example.sk", ["Ľubica Šťastná"]),
        ("c-77", ["Юлия Смирнова"]), ("sk-2001", ["Juraj Šťastný"]),
        # nothing, and LIKE wildcards taken literally
        ("Zuzana", []), ("%", []), ("_", []),
    ],
)
def test_search_matches_names_phones_emails_and_card_numbers(system: System, query: str, expected: list[str]) -> None:
    """DOMAIN §2.7."""
    s = School(system)
    people(s)
    page = s.search(q=query)
    assert [c["name"] for c in page["items"]] == expected
    assert page["total"] == len(expected)


def test_filters_and_archived_or_deleted_are_hidden_unless_asked(system: System) -> None:
    """DOMAIN §2.5, §2.7: archived and deleted are excluded unless asked for."""
    s = School(system)
    a = s.client("Anna", tags=["vip"])
    b = s.client("Boris", branch_id=s.other_branch, tags=["vip"])
    c = s.client("Cyril", tags=["vip"])
    s.client("Dana", branch_id=s.other_branch)
    s.run("archive_client", {"client_id": b, "reason": "moved away"})
    s.run("delete_client", {"client_id": c, "reason": "duplicate record"})
    both = frozenset({"archived", "deleted"})
    assert s.names() == ["Anna", "Dana"]
    assert s.names(include=frozenset({"archived"})) == ["Anna", "Boris", "Dana"]
    assert s.names(include=frozenset({"deleted"})) == ["Anna", "Cyril", "Dana"]
    assert s.names(include=both) == ["Anna", "Boris", "Cyril", "Dana"]
    assert s.names(tag="vip") == ["Anna"]
    assert s.names(tag="vip", include=both) == ["Anna", "Boris", "Cyril"]
    assert s.names(branch_id=uuid.UUID(s.other_branch)) == ["Dana"]
    assert s.names(branch_id=uuid.UUID(s.other_branch), include=frozenset({"archived"})) == ["Boris", "Dana"]
    assert s.names(branch_id=uuid.UUID(s.other_branch), tag="vip", q="bor", include=both) == ["Boris"]
    assert s.search(include=both)["total"] == 4
    assert s.card(c)["deleted"] is True  # still readable (§2.5)
    s.run("restore_client", {"client_id": b})
    assert s.names() == ["Anna", "Boris", "Dana"]
    assert a
    with pytest.raises(ValueError, match="include"):
        s.search(include=frozenset({"everything"}))


def test_status_filter_asks_the_activity_timeline_about_an_instant(system: System) -> None:
    """DOMAIN §5.1–5.4 as a client-list filter (§2.7): active = registered in a running or future group."""
    s = School(system)
    s.system.execute(s.director, "define_lesson_type", {"code": "group", "name": "Skupina", "single_visit_price": "10.00"}, at=T0)
    course = s.run("create_course", {"name": "Balet", "lesson_type": "group"})["id"]
    group = s.run("create_group", {"course_id": course, "branch_id": s.branch, "name": "G", "capacity": 5,
                                   "starts_on": "2026-04-01", "ends_on": "2026-06-30"})["id"]
    dancer, idle = s.client("Tanečnica"), s.client("Doma")
    s.run("register", {"client_id": dancer, "group_id": group})
    timeline = system.view(ActivityTimeline)
    sql = timeline.active_subquery(s.tenant_id, us(s.clock + timedelta(minutes=1)))
    assert s.names(status="active", active_sql=sql) == ["Tanečnica"]
    assert s.names(status="inactive", active_sql=sql) == ["Doma"]
    assert s.names(active=True, active_sql=sql) == ["Tanečnica"]  # the older spelling
    before = timeline.active_subquery(s.tenant_id, us(T0))
    assert s.names(status="active", active_sql=before) == []
    # without an activity source nobody counts as active
    assert s.names(status="active") == []
    assert s.names(status="inactive") == ["Doma", "Tanečnica"]
    assert idle


def test_cursor_paging_has_no_gaps_or_duplicates_even_with_equal_names(system: System) -> None:
    """API §3: cursor paging over more than one page, stable order (folded name, id)."""
    s = School(system)
    names = [f"Klient {i:02d}" for i in range(17)] + ["Ánna"] * 3 + ["anna"] * 3
    for n in names:
        system.app.execute(s.admin, "register_client", {"name": n, "branch_id": s.branch}, at=T0)
    system.runner.catch_up()
    seen: list[str] = []
    cursor = None
    pages, total = 0, 23
    while True:
        page = s.search(limit=5, cursor=cursor)
        assert page["total"] == total  # every match, not what is left
        assert len(page["items"]) <= 5
        seen += [x["id"] for x in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if pages == 2:  # a client added before the cursor is not shown again, nor does it shift the rest
            s.client("Aaron")
            total += 1
    assert pages == 5
    assert len(seen) == len(set(seen)) == 23
    everyone = s.search(limit=200)["items"]
    assert [x["id"] for x in everyone if x["name"] != "Aaron"] == seen


def test_limit_defaults_to_100_and_is_capped_at_1000(system: System) -> None:
    """API §7: every list takes limit (default 100, at most 1000)."""
    s = School(system)
    for i in range(105):
        system.app.execute(s.admin, "register_client", {"name": f"K{i:03d}", "branch_id": s.branch}, at=T0)
    system.runner.catch_up()
    first = s.search()
    assert (len(first["items"]), first["total"]) == (100, 105)
    rest = s.search(cursor=first["next_cursor"])
    assert [x["name"] for x in rest["items"]] == [f"K{i:03d}" for i in range(100, 105)]
    assert rest["next_cursor"] is None
    assert len(s.search(limit=1000)["items"]) == 105
    assert len(s.search(limit=5000)["items"]) == 105  # capped, and all of them fit
    assert len(s.search(limit=0)["items"]) == 1


def test_a_cursor_that_was_not_given_out_is_refused(system: System) -> None:
    s = School(system)
    for bad in ("garbage!", "bm90IGpzb24", "WzEsMl0"):  # not base64 JSON / not JSON / not [str, str]
        with pytest.raises(CursorError):
            s.search(cursor=bad)


def test_search_never_crosses_tenants(system: System) -> None:
    """DOMAIN §1.1."""
    a, b = School(system), School(system)
    a.client("Anna", phones=["0905 111 222"], tags=["vip"])
    assert b.search(q="anna")["total"] == 0
    assert b.search(q="0905111222")["total"] == 0
    assert b.search(tag="vip")["total"] == 0
    assert a.search(q="anna", at=datetime(2026, 4, 2, tzinfo=UTC))["total"] == 1
