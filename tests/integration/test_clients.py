"""Clients end to end through ``System`` on both databases (DOMAIN §2.1–2.6).

Search and paging (§2.7) are in test_clients_search.py, which shares ``School``.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from classledger.aggregates.client import PhoneIndex, phone_index_id
from classledger.aggregates.errors import Conflict, Invalid, NotFound, Refused
from classledger.application.principal import Principal
from classledger.application.readback import history_items
from classledger.projections.clients import ClientDirectory
from classledger.projections.trail import ClientTrail
from classledger.projections.verify import verify
from classledger.system import System
from tests.builders import School as Builder
from tests.builders import system_run

T0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


class School:
    """One tenant (Europe/Bratislava, EUR) with two branches and two custom fields."""

    def __init__(self, system: System, *, unique_phones: bool = False) -> None:
        self.school = Builder(system, uuid.uuid4(), T0, system_run(system))
        self.school.create_tenant("Slniečko", unique_phones=unique_phones)
        self.system = system
        self.tenant_id = self.school.tenant_id
        self.admin, self.director = self.school.admin, self.school.director
        self.branch = self.school.branch("Centrum", "Bratislava", at=T0)
        self.other_branch = self.school.branch("Tartu", "Tartu", at=T0)
        self.define("school", "School", "text")
        self.define("size", "T-shirt", "choice", choices=["S", "M"])
        self.clock = T0

    def define(self, key: str, label: str, type_: str, **extra: Any) -> None:
        self.system.execute(self.director, "define_custom_field",
                            {"key": key, "label": label, "type": type_, **extra}, at=T0)

    def run(self, command: str, args: dict[str, Any], principal: Principal | None = None, **kw: Any) -> dict[str, Any]:
        self.clock += timedelta(minutes=1)
        return self.system.execute(principal or self.admin, command, args, at=self.clock, **kw)

    def client(self, name: str, **extra: Any) -> str:
        self.clock += timedelta(minutes=1)
        return self.school.client(name, self.branch, at=self.clock, **extra)

    def search(self, **kw: Any) -> dict[str, Any]:
        return self.system.view(ClientDirectory).search(self.tenant_id, **kw)

    def names(self, **kw: Any) -> list[str]:
        return [x["name"] for x in self.search(**kw)["items"]]

    def card(self, cid: str, **kw: Any) -> dict[str, Any]:
        card = self.system.view(ClientDirectory).card(self.tenant_id, uuid.UUID(cid), **kw)
        assert card is not None
        return card

    def history(self, cid: str) -> list[dict[str, Any]]:
        """The client's history as the API serves it (API §3): the trail's events, read back."""
        page = self.system.view(ClientTrail).page(self.tenant_id, uuid.UUID(cid), limit=1000, cursor=None)
        assert page["next_cursor"] is None
        return history_items(self.system.app, self.tenant_id, page["items"])

    def head(self) -> int:
        return self.system.store.recorder.max_notification_id() or 0


def refused(s: School, code: str, command: str, args: dict[str, Any], kind: type[Refused] = Refused) -> Refused:
    """Run a command that must be refused, and check it wrote nothing."""
    head = s.head()
    with pytest.raises(kind) as e:
        s.run(command, args)
    assert e.value.code == code, e.value.details
    assert s.head() == head
    return e.value


# ---- §2.1 register, card, update -------------------------------------------------------------


def test_register_answers_id_and_version_and_the_card_shows_every_field(system: System) -> None:
    """DOMAIN §2.1, API §3 (card fields)."""
    s = School(system)
    ans = s.run("register_client", {
        "name": "Ľubica Šťastná", "branch_id": s.branch, "birth_date": "2018-05-04",
        "phones": ["+421 905 123 456", "02/555 123"], "email": "lubica@example.sk", "card_number": "C-1001",
        "tags": ["trial", "vip"], "custom_fields": {"school": "ZŠ Mudroňova"}, "consents": {"photos": True},
        "notes": "alergia na orechy", "photo": "photos/lubica.jpg", "preferences": {"contact": "sms"},
    })
    assert set(ans) == {"ok", "id", "version"}
    assert ans["version"] == 1
    card = s.card(ans["id"])
    assert {k: card[k] for k in ("id", "name", "birth_date", "phones", "email", "card_number", "branch_id", "tags",
                                 "custom_fields", "family", "archived", "deleted", "frozen", "active", "balance",
                                 "remainders", "passes", "registrations")} == {
        "id": ans["id"], "name": "Ľubica Šťastná", "birth_date": "2018-05-04",
        "phones": ["+421 905 123 456", "02/555 123"], "email": "lubica@example.sk", "card_number": "C-1001",
        "branch_id": s.branch, "tags": ["trial", "vip"], "custom_fields": {"school": "ZŠ Mudroňova"},
        "family": {"parent_id": None, "member_ids": []}, "archived": False, "deleted": False, "frozen": False,
        "active": False, "balance": {"total": "0.00", "by_city": {}}, "remainders": {}, "passes": [],
        "registrations": [],
    }
    assert card["consents"] == {"photos": {"given": True, "at": s.clock.isoformat()}}
    assert (card["notes"], card["photo"], card["preferences"]) == ("alergia na orechy", "photos/lubica.jpg", {"contact": "sms"})
    assert (card["waitlist"], card["next_call"], card["version"]) == (None, None, 1)


def test_the_card_balance_is_in_the_tenants_currency(system: System) -> None:
    """API §3: money in the tenant's currency; JPY has no minor units."""
    tokyo = Builder.open(system, name="Tokyo", at=T0, timezone="Asia/Tokyo", currency="JPY")
    cid = tokyo.client("Yui", tokyo.branch("Shibuya", "Tokyo", at=T0), who=tokyo.director, at=T0)
    card = system.view(ClientDirectory).card(tokyo.tenant_id, uuid.UUID(cid))
    assert card is not None
    assert card["balance"] == {"total": "0", "by_city": {}}


def test_update_changes_only_what_is_sent_and_null_clears(system: System) -> None:
    """API §2: update_client takes any field of register_client; null clears an optional one."""
    s = School(system)
    cid = s.client("Eva", email="eva@example.sk", notes="alergia", phones=["0905 000 001"],
                   custom_fields={"size": "S", "school": "ZŠ"}, preferences={"contact": "sms", "days": "Mon"})
    s.run("update_client", {"client_id": cid, "email": None, "name": "Eva Nová"})
    card = s.card(cid)
    assert (card["name"], card["email"], card["notes"], card["phones"]) == ("Eva Nová", None, "alergia", ["0905 000 001"])
    before = len(s.history(cid))
    assert s.run("update_client", {"client_id": cid, "name": "Eva Nová", "notes": "alergia"})["version"] == before
    assert len(s.history(cid)) == before  # nothing changed, nothing recorded

    # every detail field, so the directory follows each one (custom fields and preferences per key)
    s.run("update_client", {
        "client_id": cid, "birth_date": "2017-01-31", "phones": ["+372 5551 2345", "0905 000 002"],
        "email": "eva.nova@example.ee", "card_number": "K-7", "photo": "p/eva.png", "notes": None,
        "branch_id": s.other_branch, "custom_fields": {"school": None, "size": "M"},
        "preferences": {"days": None, "contact": "email"}, "tags": ["new"], "consents": {"marketing": True},
    })
    card = s.card(cid)
    assert card["birth_date"] == "2017-01-31"
    assert card["phones"] == ["+372 5551 2345", "0905 000 002"]
    assert (card["email"], card["card_number"], card["photo"], card["notes"]) == ("eva.nova@example.ee", "K-7", "p/eva.png", None)
    assert card["branch_id"] == s.other_branch
    assert card["custom_fields"] == {"size": "M"}
    assert card["preferences"] == {"contact": "email"}
    assert card["tags"] == ["new"]
    assert card["consents"]["marketing"]["given"] is True
    assert s.names(q="K-7") == ["Eva Nová"]
    assert s.names(q="5551 2345") == ["Eva Nová"]

    s.run("update_client", {"client_id": cid, "phones": None, "custom_fields": None, "tags": []})
    card = s.card(cid)
    assert (card["phones"], card["custom_fields"], card["tags"]) == ([], {}, [])


@pytest.mark.parametrize(
    ("args", "code"),
    [({"name": None}, "invalid_args"), ({"branch_id": None}, "invalid_args"), ({"tags": None}, "invalid_args"),
     ({"name": "   "}, "invalid_args"), ({"email": "not-an-email"}, "invalid_args"),
     ({"phones": ["1", "2", "3"]}, "invalid_args"), ({"phones": ["0905 111 222", "0905111222"]}, "duplicate_phone"),
     ({"birth_date": "2099-01-01"}, "invalid_birth_date"), ({"consents": {"newsletter": True}}, "invalid_args"),
     ({"branch_id": str(uuid.uuid4())}, "branch_not_found"), ({"unknown": 1}, "invalid_args"),
     ({"tags": ["x" * 61]}, "invalid_args"), ({"notes": "x" * 5001}, "invalid_args")],
)
def test_bad_updates_are_refused_and_change_nothing(system: System, args: dict[str, Any], code: str) -> None:
    s = School(system)
    cid = s.client("Eva", phones=["0905 000 001"])
    card = s.card(cid)
    refused(s, code, "update_client", {"client_id": cid, **args})
    assert s.card(cid) == card


@pytest.mark.parametrize(
    ("args", "code"),
    [({"name": ""}, "invalid_args"), ({"branch_id": "not-a-uuid"}, "invalid_args"),
     ({"email": "a@b"}, "invalid_args"), ({"phones": ["09 1"]}, "invalid_phone"),
     ({"card_number": "C" * 65}, "invalid_args"), ({"custom_fields": {"school": "x" * 2001}}, "invalid_args"),
     ({"preferences": {"nested": {"a": 1}}}, "invalid_args"), ({"id": "nope"}, "invalid_args"),
     ({"parent_id": str(uuid.uuid4())}, "client_not_found")],
)
def test_bad_registrations_are_refused_and_write_nothing(system: System, args: dict[str, Any], code: str) -> None:
    s = School(system)
    refused(s, code, "register_client", {"name": "X", "branch_id": s.branch, **args})
    assert s.search(include=frozenset({"archived", "deleted"}))["total"] == 0


def test_custom_fields_follow_the_declarations(system: System) -> None:
    """DOMAIN §2.1: values are checked against the tenant's declarations."""
    s = School(system)
    s.define("age_group", "Age group", "number")
    s.define("since", "Client since", "date")
    s.define("allergy", "Allergy", "bool")
    for bad, code in [({"unknown": 1}, "unknown_custom_field"), ({"size": "XL"}, "bad_custom_field"),
                      ({"school": 5}, "bad_custom_field"), ({"age_group": "5"}, "bad_custom_field"),
                      ({"since": "2026-13-01"}, "bad_custom_field"), ({"allergy": "yes"}, "bad_custom_field"),
                      ({"age_group": True}, "bad_custom_field")]:
        refused(s, code, "register_client", {"name": "X", "branch_id": s.branch, "custom_fields": bad}, Invalid)
    cid = s.client("Y", custom_fields={"size": "S", "age_group": 7, "since": "2025-09-01", "allergy": False})
    s.run("update_client", {"client_id": cid, "custom_fields": {"school": "Gymnázium"}})
    assert s.card(cid)["custom_fields"] == {"size": "S", "age_group": 7, "since": "2025-09-01", "allergy": False,
                                            "school": "Gymnázium"}

    s.define("guardian", "Guardian", "text", required=True)
    refused(s, "custom_field_required", "register_client", {"name": "Z", "branch_id": s.branch}, Invalid)
    z = s.client("Z", custom_fields={"guardian": "Mama"})
    refused(s, "custom_field_required", "update_client", {"client_id": z, "custom_fields": {"guardian": None}}, Invalid)
    refused(s, "custom_field_required", "update_client", {"client_id": z, "custom_fields": None}, Invalid)


def test_a_given_id_is_a_create_once_key(system: System) -> None:
    """API §2: the same id and args is a no-op with the same answer; other args are a 409."""
    s = School(system)
    cid = str(uuid.uuid4())
    args = {"id": cid, "name": "Ivan", "branch_id": s.branch}
    first = s.run("register_client", args)
    assert s.run("register_client", args) == first
    refused(s, "duplicate_id", "register_client", {**args, "name": "Iván"}, Conflict)
    # a request under an idempotency key does not make a taken id free
    head = s.head()
    with pytest.raises(Conflict) as e:
        s.run("register_client", {**args, "name": "Ivo"}, idempotency_key="other-key")
    assert (e.value.code, s.head()) == ("duplicate_id", head)


# ---- §2.2 tags -----------------------------------------------------------------------------------


def test_tags_are_a_set_and_untagging_an_absent_tag_writes_nothing(system: System) -> None:
    """DOMAIN §2.2."""
    s = School(system)
    cid = s.client("Anna", tags=["vip"])
    assert s.run("tag_client", {"client_id": cid, "tag": "vip"})["version"] == 1
    s.run("tag_client", {"client_id": cid, "tag": "letný tábor"})
    assert s.card(cid)["tags"] == ["letný tábor", "vip"]
    head = s.head()
    s.run("untag_client", {"client_id": cid, "tag": "nope"})
    assert s.head() == head
    s.run("untag_client", {"client_id": cid, "tag": "vip"})
    assert s.card(cid)["tags"] == ["letný tábor"]
    assert s.names(tag="vip") == []


def test_concurrent_taggers_lose_and_double_nothing(system: System) -> None:
    """Twenty writers on one client: every tag lands once, versions 1..21 without gaps (§9.1)."""
    s = School(system)
    cid = s.client("Popular")
    errors: list[BaseException] = []
    answers: list[int] = []

    def tag(i: int) -> None:
        try:
            ans = system.app.execute(s.admin, "tag_client", {"client_id": cid, "tag": f"t{i:02d}"}, at=T0 + timedelta(hours=1))
            answers.append(ans["version"])
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=tag, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(answers) == list(range(2, 22))
    system.runner.catch_up()
    history = s.history(cid)
    assert [h["version"] for h in history] == list(range(1, 22))
    assert sorted(h["data"]["tag"] for h in history[1:]) == [f"t{i:02d}" for i in range(20)]
    assert s.card(cid)["tags"] == [f"t{i:02d}" for i in range(20)]
    assert s.card(cid)["version"] == 21


# ---- §2.3 family -------------------------------------------------------------------------------


def test_family_links_both_sides_in_one_write_and_a_member_has_one_family(system: System) -> None:
    """DOMAIN §2.3."""
    s = School(system)
    mum, kid, sister, other = s.client("Mama"), s.client("Dieťa"), s.client("Sestra"), s.client("Iná mama")
    head = s.head()
    ans = s.run("link_family", {"parent_id": mum, "member_id": kid})
    assert s.head() == head + 2  # one event on each side, saved together
    assert (ans["id"], ans["version"], ans["member_id"], ans["member_version"]) == (mum, 2, kid, 2)
    s.run("link_family", {"parent_id": mum, "member_id": sister})
    assert s.card(mum)["family"] == {"parent_id": None, "member_ids": [kid, sister]}
    assert s.card(kid)["family"] == {"parent_id": mum, "member_ids": []}
    assert s.history(kid)[-1]["type"] == "FamilyParentLinked"

    refused(s, "already_in_family", "link_family", {"parent_id": other, "member_id": kid}, Conflict)
    refused(s, "parent_is_member", "link_family", {"parent_id": kid, "member_id": other}, Conflict)
    refused(s, "member_is_parent", "link_family", {"parent_id": other, "member_id": mum}, Conflict)
    refused(s, "self_link", "link_family", {"parent_id": other, "member_id": other}, Invalid)
    refused(s, "not_in_family", "unlink_family", {"parent_id": other, "member_id": kid}, Conflict)

    s.run("unlink_family", {"parent_id": mum, "member_id": kid})
    assert s.card(kid)["family"]["parent_id"] is None
    assert s.card(mum)["family"]["member_ids"] == [sister]
    assert s.card(kid)["deleted"] is False  # unlinking keeps both clients


def test_registering_straight_into_a_family(system: System) -> None:
    """Extension (docs/api.md): register_client.parent_id links in the same write."""
    s = School(system)
    mum = s.client("Mama")
    ans = s.run("register_client", {"name": "Dieťa", "branch_id": s.branch, "parent_id": mum})
    assert ans["version"] == 2
    assert s.card(mum)["family"]["member_ids"] == [ans["id"]]


def test_deleting_a_parent_unlinks_the_family_on_both_sides(system: System) -> None:
    """DOMAIN §2.3, §2.5: a deleted client leaves every list, its family's too."""
    s = School(system)
    mum, kid = s.client("Mama"), s.client("Dieťa")
    s.run("link_family", {"parent_id": mum, "member_id": kid})
    s.run("delete_client", {"client_id": mum, "reason": "duplicate record"})
    assert s.card(kid)["family"] == {"parent_id": None, "member_ids": []}
    assert s.card(mum)["family"] == {"parent_id": None, "member_ids": []}
    assert [h["type"] for h in s.history(mum)][-2:] == ["FamilyMemberUnlinked", "ClientDeleted"]
    assert s.history(kid)[-1]["reason"] == "duplicate record"


# ---- §2.3 unique phones ----------------------------------------------------------------------------


def test_unique_phones_except_inside_a_family(system: System) -> None:
    """DOMAIN §2.3: phone uniqueness, when on, does not apply inside a family."""
    s = School(system, unique_phones=True)
    mum = s.client("Mama", phones=["0905 111 222"])
    e = refused(s, "phone_taken", "register_client",
                {"name": "Stranger", "branch_id": s.branch, "phones": ["(0905) 111-222"]}, Conflict)
    assert e.details["held_by"] == mum
    kid = s.client("Dieťa", phones=["0905-111-222"], parent_id=mum)
    stranger = s.client("Stranger", phones=["0911 000 000"])
    refused(s, "phone_taken", "update_client", {"client_id": stranger, "phones": ["0905111222"]}, Conflict)

    # the member may not leave the family while sharing its number: that would break uniqueness
    refused(s, "phone_shared_in_family", "unlink_family", {"parent_id": mum, "member_id": kid}, Conflict)
    s.run("update_client", {"client_id": kid, "phones": ["0944 555 666"]})
    s.run("unlink_family", {"parent_id": mum, "member_id": kid})

    # a number given up is free again; deleting a client frees its numbers
    s.run("update_client", {"client_id": mum, "phones": ["0911 999 999"]})
    s.client("Nový", phones=["0905 111 222"])
    s.run("delete_client", {"client_id": stranger, "reason": "duplicate record"})
    s.client("Skutočný", phones=["0911 000 000"])
    idx = system.app.get(phone_index_id(s.tenant_id, "+421911000000"))  # one number, however written
    assert isinstance(idx, PhoneIndex)
    assert len(idx.holders) == 1


def test_without_unique_phones_numbers_may_repeat(system: System) -> None:
    """DOMAIN §2.3: uniqueness is the tenant's choice."""
    s = School(system)
    a = s.client("A", phones=["0905 111 222"])
    b = s.client("B", phones=["0905 111 222"])
    assert sorted(x["id"] for x in s.search(q="0905111222")["items"]) == sorted([a, b])


def test_concurrent_registrations_with_one_phone_admit_exactly_one(system: System) -> None:
    """The PhoneIndex aggregate owns uniqueness: racing claims meet on its version (§2.3)."""
    s = School(system, unique_phones=True)
    outcomes: list[str] = []
    lock = threading.Lock()
    forms = ["+421 905 777 888", "+421905777888", "+421-905-777-888", "+421 (905) 777 888"]

    def register(i: int) -> None:
        try:
            system.app.execute(s.admin, "register_client",
                               {"name": f"K{i}", "branch_id": s.branch, "phones": [forms[i % len(forms)]]},
                               at=T0 + timedelta(hours=1))
            result = "ok"
        except Conflict as e:
            result = e.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["phone_taken"] * 9
    system.runner.catch_up()
    assert s.search()["total"] == 1
    idx = system.app.get(phone_index_id(s.tenant_id, "+421905777888"))
    assert isinstance(idx, PhoneIndex)
    assert len(idx.holders) == 1


# ---- §2.4 freeze ---------------------------------------------------------------------------------


def test_freeze_periods_do_not_overlap_and_frozen_follows_the_tenants_calendar(system: System) -> None:
    """DOMAIN §2.4; §1.2: "today" is the tenant's local date."""
    s = School(system)
    cid = s.client("Ivan")
    s.run("freeze_client", {"client_id": cid, "from": "2026-05-01", "to": "2026-05-10", "reason": "chrípka"})
    refused(s, "freeze_overlaps", "freeze_client", {"client_id": cid, "from": "2026-05-10", "to": "2026-05-20"}, Conflict)
    refused(s, "invalid_period", "freeze_client", {"client_id": cid, "from": "2026-06-10", "to": "2026-06-01"}, Invalid)
    s.run("freeze_client", {"client_id": cid, "from": "2026-05-11", "to": "2026-05-12"})
    assert s.card(cid)["freezes"] == [["2026-05-01", "2026-05-10"], ["2026-05-11", "2026-05-12"]]
    assert s.history(cid)[1]["reason"] == "chrípka"
    # 22:30 UTC on 12 May is already 13 May in Bratislava (UTC+2): no longer frozen there
    assert s.card(cid, at=datetime(2026, 5, 12, 21, 30, tzinfo=UTC))["frozen"] is True
    assert s.card(cid, at=datetime(2026, 5, 12, 22, 30, tzinfo=UTC))["frozen"] is False
    assert s.card(cid, at=datetime(2026, 4, 30, 21, 59, tzinfo=UTC))["frozen"] is False
    assert s.card(cid, at=datetime(2026, 4, 30, 22, 0, tzinfo=UTC))["frozen"] is True
    assert s.search(at=datetime(2026, 5, 5, 12, tzinfo=UTC))["items"][0]["frozen"] is True


# ---- §2.5 archive, restore, delete ------------------------------------------------------------------


def test_archived_is_read_only_until_restored_and_archive_needs_a_reason(system: System) -> None:
    """DOMAIN §2.5."""
    s = School(system)
    cid = s.client("Oleg")
    refused(s, "invalid_args", "archive_client", {"client_id": cid, "reason": "  "}, Invalid)
    s.run("archive_client", {"client_id": cid, "reason": "finished the course"})
    card = s.card(cid)
    assert card["archived"] is True
    for command, args in [("tag_client", {"tag": "x"}), ("update_client", {"notes": "n"}),
                          ("freeze_client", {"from": "2026-05-01", "to": "2026-05-02"}),
                          ("join_waitlist", {}), ("set_next_call", {"on": "2026-05-01"})]:
        refused(s, "client_archived", command, {"client_id": cid, **args}, Conflict)
    refused(s, "already_archived", "archive_client", {"client_id": cid, "reason": "again"}, Conflict)
    s.run("restore_client", {"client_id": cid})
    refused(s, "not_archived", "restore_client", {"client_id": cid}, Conflict)
    s.run("tag_client", {"client_id": cid, "tag": "x"})
    history = s.history(cid)
    assert [h["type"] for h in history] == ["ClientRegistered", "ClientArchived", "ClientRestored", "ClientTagged"]
    assert (history[1]["reason"], history[1]["actor"]) == ("finished the course", "Peter")


def test_deleted_is_readable_but_never_writable_again(system: System) -> None:
    """DOMAIN §2.5: soft delete; every event stays; accountants can still list the client."""
    s = School(system)
    cid = s.client("Duplikát")
    s.run("archive_client", {"client_id": cid, "reason": "left"})
    s.run("delete_client", {"client_id": cid, "reason": "duplicate record"})
    assert s.card(cid)["deleted"] is True
    refused(s, "client_deleted", "restore_client", {"client_id": cid}, Conflict)
    refused(s, "client_deleted", "tag_client", {"client_id": cid, "tag": "x"}, Conflict)
    refused(s, "already_deleted", "delete_client", {"client_id": cid, "reason": "again"}, Conflict)
    accountant = Principal(s.tenant_id, uuid.uuid4(), "Účtovníčka", "accountant")
    with pytest.raises(Refused):
        s.run("tag_client", {"client_id": cid, "tag": "x"}, principal=accountant)
    assert [h["type"] for h in s.history(cid)] == ["ClientRegistered", "ClientArchived", "ClientDeleted"]


# ---- §2.6 waitlist and next call ------------------------------------------------------------------


def test_waitlist_and_next_call(system: System) -> None:
    """DOMAIN §2.6: leaving the waitlist clears the comment."""
    s = School(system)
    cid = s.client("Kadri")
    s.run("join_waitlist", {"client_id": cid, "instructor": "Mari", "comment": "Tuesdays only"})
    assert s.card(cid)["waitlist"] == {"instructor": "Mari", "comment": "Tuesdays only"}
    s.run("leave_waitlist", {"client_id": cid})
    assert s.card(cid)["waitlist"] is None
    s.run("join_waitlist", {"client_id": cid})
    assert s.card(cid)["waitlist"] == {"instructor": None, "comment": None}
    s.run("set_next_call", {"client_id": cid, "on": "2026-04-20"})
    assert s.card(cid)["next_call"] == "2026-04-20"
    refused(s, "invalid_args", "set_next_call", {"client_id": cid}, Invalid)  # null must be said
    s.run("set_next_call", {"client_id": cid, "on": None})
    assert s.card(cid)["next_call"] is None


# ---- §1.1 tenancy, §9 history -------------------------------------------------------------------


def test_another_tenants_client_is_not_found(system: System) -> None:
    """DOMAIN §1.1: nothing crosses tenants."""
    a, b = School(system), School(system)
    cid = a.client("Anna")
    own = b.client("Boris")
    for command, args in [("tag_client", {"client_id": cid, "tag": "x"}), ("update_client", {"client_id": cid, "notes": "x"}),
                          ("link_family", {"parent_id": own, "member_id": cid}),
                          ("archive_client", {"client_id": cid, "reason": "x"})]:
        refused(b, "client_not_found", command, args, NotFound)
    refused(b, "branch_not_found", "register_client", {"name": "X", "branch_id": a.branch}, NotFound)
    assert system.view(ClientDirectory).card(b.tenant_id, uuid.UUID(cid)) is None
    assert b.history(cid) == []
    assert b.names(q="Anna") == []


def test_history_is_every_event_oldest_first_without_meta_in_data(system: System) -> None:
    """DOMAIN §9.1–9.2, API §3 (history items)."""
    s = School(system)
    cid = s.client("Märt", tags=["a"])
    s.run("tag_client", {"client_id": cid, "tag": "b"})
    s.run("archive_client", {"client_id": cid, "reason": "moved to Tartu"})
    items = s.history(cid)
    assert [(h["type"], h["version"]) for h in items] == [("ClientRegistered", 1), ("ClientTagged", 2), ("ClientArchived", 3)]
    assert all(set(h) == {"type", "at", "actor", "reason", "aggregate_id", "version", "data"} for h in items)
    assert all(h["aggregate_id"] == cid for h in items)
    assert items[1]["data"] == {"tag": "b"}
    assert items[2]["data"] == {}
    assert items[2]["reason"] == "moved to Tartu"
    assert items[0]["at"] < items[1]["at"] < items[2]["at"]


def test_the_directory_equals_a_rebuild_from_the_first_event(system: System) -> None:
    """ARCHITECTURE: projections are disposable and deterministic."""
    s = School(system, unique_phones=True)
    mum = s.client("Mama", phones=["0905 111 222"], consents={"marketing": True})
    kid = s.client("Dieťa", parent_id=mum, tags=["x"], custom_fields={"size": "S"})
    s.run("update_client", {"client_id": kid, "tags": ["y", "z"], "email": "d@example.sk", "consents": {"photos": False}})
    s.run("freeze_client", {"client_id": kid, "from": "2026-05-01", "to": "2026-05-03"})
    s.run("join_waitlist", {"client_id": kid, "comment": "rána"})
    s.run("set_next_call", {"client_id": mum, "on": "2026-04-09"})
    s.run("archive_client", {"client_id": kid, "reason": "pauza"})
    s.run("delete_client", {"client_id": mum, "reason": "duplicate"})
    result = verify(system.store, ["clients"])
    assert result.ok, result.as_json()
