"""Clients end to end on both databases (DOMAIN §2)."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from classledger.aggregates.errors import Conflict, Invalid, NotFound
from classledger.application.clients import client_history
from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.projections.clients import ClientDirectory
from classledger.system import System

T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


class School:
    def __init__(self, system: System, *, unique_phones: bool = False) -> None:
        self.system = system
        self.tenant_id = uuid.uuid4()
        sp = system_principal(self.tenant_id)
        system.execute(sp, "create_tenant", {"name": "Slniečko", "timezone": "Europe/Bratislava", "currency": "EUR", "unique_phones": unique_phones}, at=T0)
        self.admin = Principal(self.tenant_id, uuid.uuid4(), "Peter", "admin")
        director = Principal(self.tenant_id, uuid.uuid4(), "Jana", "director")
        self.branch = system.execute(director, "add_branch", {"name": "Centrum", "city": "Bratislava"}, at=T0)["id"]
        self.other_branch = system.execute(director, "add_branch", {"name": "Tartu", "city": "Tartu"}, at=T0)["id"]
        system.execute(director, "define_custom_field", {"key": "school", "label": "School", "type": "text", "required": False}, at=T0)
        system.execute(director, "define_custom_field", {"key": "size", "label": "T-shirt", "type": "choice", "choices": ["S", "M"]}, at=T0)
        self.clock = T0

    def run(self, command: str, args: dict, principal: Principal | None = None):
        self.clock += timedelta(minutes=1)
        return self.system.execute(principal or self.admin, command, args, at=self.clock)

    def client(self, name: str, **extra):
        return self.run("register_client", {"name": name, "branch_id": self.branch, **extra})["id"]

    def search(self, **kw):
        return self.system.view(ClientDirectory).search(self.tenant_id, **kw)

    def card(self, cid):
        return self.system.view(ClientDirectory).card(self.tenant_id, uuid.UUID(str(cid)))


def test_register_then_card(system: System) -> None:
    s = School(system)
    cid = s.client("Ľubica Šťastná", birth_date="2018-05-04", phones=["+421 905 123 456"], email="lubica@example.sk",
                   card_number="C-1001", tags=["trial"], custom_fields={"school": "ZŠ Mudroňova"}, consents={"photos": True})
    card = s.card(cid)
    assert card["name"] == "Ľubica Šťastná"
    assert card["birth_date"] == "2018-05-04"
    assert card["tags"] == ["trial"]
    assert card["custom_fields"] == {"school": "ZŠ Mudroňova"}
    assert card["balance"] == {"total": "0.00", "by_city": {}}
    assert card["consents"]["photos"]["given"] is True
    assert (card["archived"], card["deleted"], card["active"]) == (False, False, False)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("lubica", ["Ľubica Šťastná"]), ("ŠŤASTNÁ", ["Ľubica Šťastná"]), ("юлия", ["Юлия Смирнова"]),
     ("IULIIA", ["Юлия Смирнова"]), ("mart", ["Märt Tamm"]), ("0905 123", ["Ľubica Šťastná"]),
     ("421905123456", ["Ľubica Šťastná"]), ("tamm@example", ["Märt Tamm"]), ("C-77", ["Юлия Смирнова"])],
)
def test_search_is_accent_and_case_insensitive_and_phones_match_by_digits(system: System, query: str, expected: list[str]) -> None:
    """DOMAIN §2.7."""
    s = School(system)
    s.client("Ľubica Šťastná", phones=["+421 905 123 456"])
    s.client("Юлия Смирнова", card_number="C-77")
    s.client("Märt Tamm", email="Tamm@Example.ee", phones=["5551 2345"])
    assert [c["name"] for c in s.search(q=query)["items"]] == expected


def test_filters_and_archived_or_deleted_are_hidden_unless_asked(system: System) -> None:
    s = School(system)
    a = s.client("Anna", tags=["vip"])
    b = s.client("Boris", branch_id=s.other_branch)
    c = s.client("Cyril")
    s.run("archive_client", {"client_id": b, "reason": "moved away"})
    s.run("delete_client", {"client_id": c, "reason": "duplicate record"})
    assert [x["name"] for x in s.search()["items"]] == ["Anna"]
    assert [x["name"] for x in s.search(include=frozenset({"archived"}))["items"]] == ["Anna", "Boris"]
    assert [x["name"] for x in s.search(include=frozenset({"archived", "deleted"}))["items"]] == ["Anna", "Boris", "Cyril"]
    assert [x["name"] for x in s.search(tag="vip")["items"]] == ["Anna"]
    assert [x["name"] for x in s.search(branch_id=uuid.UUID(s.other_branch), include=frozenset({"archived"}))["items"]] == ["Boris"]
    assert s.card(c)["deleted"] is True  # still readable (§2.5)
    s.run("restore_client", {"client_id": b})
    assert [x["name"] for x in s.search()["items"]] == ["Anna", "Boris"]
    assert a


def test_cursor_paging_has_no_gaps_or_duplicates(system: System) -> None:
    s = School(system)
    names = sorted(f"Klient {i:02d}" for i in range(23))
    for n in names:
        s.client(n)
    seen, cursor = [], None
    while True:
        page = s.search(limit=5, cursor=cursor)
        assert page["total"] == 23
        seen += [x["name"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names


def test_family_links_both_sides_and_a_member_has_one_family(system: System) -> None:
    """DOMAIN §2.3."""
    s = School(system)
    mum, kid, other = s.client("Mama"), s.client("Dieťa"), s.client("Iná mama")
    s.run("link_family", {"parent_id": mum, "member_id": kid})
    assert s.card(mum)["family"] == {"parent_id": None, "member_ids": [kid]}
    assert s.card(kid)["family"] == {"parent_id": mum, "member_ids": []}
    with pytest.raises(Conflict) as e:
        s.run("link_family", {"parent_id": other, "member_id": kid})
    assert e.value.code == "already_in_family"
    with pytest.raises(Conflict):
        s.run("link_family", {"parent_id": kid, "member_id": other})
    s.run("unlink_family", {"parent_id": mum, "member_id": kid})
    assert s.card(kid)["family"]["parent_id"] is None
    assert s.card(mum)["family"]["member_ids"] == []


def test_custom_fields_follow_the_declarations(system: System) -> None:
    """DOMAIN §2.1."""
    s = School(system)
    for bad in ({"unknown": 1}, {"size": "XL"}, {"school": 5}):
        with pytest.raises(Invalid):
            s.client("X", custom_fields=bad)
    cid = s.client("Y", custom_fields={"size": "S"})
    s.run("update_client", {"client_id": cid, "custom_fields": {"school": "Gymnázium"}})
    assert s.card(cid)["custom_fields"] == {"size": "S", "school": "Gymnázium"}


def test_update_changes_only_what_is_sent_and_null_clears(system: System) -> None:
    s = School(system)
    cid = s.client("Eva", email="eva@example.sk", notes="alergia")
    s.run("update_client", {"client_id": cid, "email": None, "name": "Eva Nová"})
    card = s.card(cid)
    assert (card["name"], card["email"], card["notes"]) == ("Eva Nová", None, "alergia")
    before = len(client_history(system.app, s.tenant_id, uuid.UUID(cid)))
    s.run("update_client", {"client_id": cid, "name": "Eva Nová"})  # no change, no event
    assert len(client_history(system.app, s.tenant_id, uuid.UUID(cid))) == before


def test_unique_phones_except_inside_a_family(system: System) -> None:
    """DOMAIN §2.3: phone uniqueness, when on, does not apply inside a family."""
    s = School(system, unique_phones=True)
    mum = s.client("Mama", phones=["0905 111 222"])
    with pytest.raises(Conflict) as e:
        s.client("Stranger", phones=["(0905) 111-222"])
    assert e.value.code == "phone_taken"
    kid = s.client("Dieťa", phones=["0905-111-222"], parent_id=mum)
    assert s.card(kid)["family"]["parent_id"] == mum
    s.run("update_client", {"client_id": mum, "phones": ["0911 000 000"]})
    s.client("Stranger", phones=["0905 111 223"])


def test_freeze_periods_do_not_overlap(system: System) -> None:
    """DOMAIN §2.4."""
    s = School(system)
    cid = s.client("Ivan")
    s.run("freeze_client", {"client_id": cid, "from": "2026-05-01", "to": "2026-05-10"})
    with pytest.raises(Conflict):
        s.run("freeze_client", {"client_id": cid, "from": "2026-05-10", "to": "2026-05-20"})
    with pytest.raises(Invalid):
        s.run("freeze_client", {"client_id": cid, "from": "2026-06-10", "to": "2026-06-01"})
    directory = system.view(ClientDirectory)
    assert directory.card(s.tenant_id, uuid.UUID(cid), today=date(2026, 5, 5))["frozen"] is True
    assert directory.card(s.tenant_id, uuid.UUID(cid), today=date(2026, 5, 11))["frozen"] is False


def test_archived_is_read_only_until_restored_and_archive_needs_a_reason(system: System) -> None:
    """DOMAIN §2.5."""
    s = School(system)
    cid = s.client("Oleg")
    with pytest.raises(Invalid):
        s.run("archive_client", {"client_id": cid, "reason": ""})
    s.run("archive_client", {"client_id": cid, "reason": "finished the course"})
    with pytest.raises(Conflict) as e:
        s.run("tag_client", {"client_id": cid, "tag": "x"})
    assert e.value.code == "client_archived"
    s.run("restore_client", {"client_id": cid})
    s.run("tag_client", {"client_id": cid, "tag": "x"})
    history = client_history(system.app, s.tenant_id, uuid.UUID(cid))
    assert [h["type"] for h in history] == ["ClientRegistered", "ClientArchived", "ClientRestored", "ClientTagged"]
    assert history[1]["reason"] == "finished the course"
    assert history[1]["actor"] == "Peter"


def test_waitlist_and_next_call(system: System) -> None:
    """DOMAIN §2.6: leaving the waitlist clears the comment."""
    s = School(system)
    cid = s.client("Kadri")
    s.run("join_waitlist", {"client_id": cid, "instructor": "Mari", "comment": "Tuesdays only"})
    assert s.card(cid)["waitlist"] == {"instructor": "Mari", "comment": "Tuesdays only"}
    s.run("leave_waitlist", {"client_id": cid})
    assert s.card(cid)["waitlist"] is None
    s.run("set_next_call", {"client_id": cid, "on": "2026-04-20"})
    assert s.card(cid)["next_call"] == "2026-04-20"


def test_another_tenants_client_is_not_found(system: System) -> None:
    """DOMAIN §1.1: nothing crosses tenants."""
    a, b = School(system), School(system)
    cid = a.client("Anna")
    with pytest.raises(NotFound):
        b.run("tag_client", {"client_id": cid, "tag": "x"})
    assert b.card(cid) is None
    assert client_history(system.app, b.tenant_id, uuid.UUID(cid)) is None


def test_concurrent_taggers_lose_and_double_nothing(system: System) -> None:
    s = School(system)
    cid = s.client("Popular")
    errors: list[BaseException] = []

    def tag(i: int) -> None:
        try:
            system.app.execute(s.admin, "tag_client", {"client_id": cid, "tag": f"t{i:02d}"}, at=T0 + timedelta(hours=1))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=tag, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    system.runner.catch_up()
    history = client_history(system.app, s.tenant_id, uuid.UUID(cid))
    assert [h["version"] for h in history] == list(range(1, 22))
    assert s.card(cid)["tags"] == [f"t{i:02d}" for i in range(20)]
