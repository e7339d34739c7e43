"""The client aggregate as pure decisions (DOMAIN §2).

Example tests pin each rule and refusal code; the hypothesis test drives random command
sequences over a few clients and checks the invariants after every run: events fold into
the state kept step by step, versions grow by one per event, tags behave like a set
(against a plain-set model), family links stay symmetric with one family per member,
freezes never overlap, an archived client takes no writes but restore and delete, and a
deleted client takes no event at all.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classledger.aggregates import client as c
from classledger.aggregates.base import Event, Meta, project
from classledger.aggregates.errors import Conflict, Invalid, Refused
from classledger.aggregates.phones import phone_number

TENANT = uuid.UUID(int=7)
BRANCH = uuid.UUID(int=8)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def meta(reason: str | None = None, at: datetime = T0) -> Meta:
    return Meta(tenant_id=TENANT, at=at, actor="Peter", reason=reason)


def new(name: str = "Ľubica Šťastná", cid: int = 1, **fields: Any) -> c.Client:
    (e,) = c.register(uuid.UUID(int=cid), meta(), today=TODAY, name=name, branch_id=BRANCH, **fields)
    client: c.Client = e.apply(None)
    return client


def step(state: c.Client, events: list[Event]) -> c.Client:
    out: c.Client = project(state, events)
    return out


def refused(code: str, fn: Callable[[], object], kind: type[Refused] = Refused) -> None:
    with pytest.raises(kind) as e:
        fn()
    assert e.value.code == code


# ---- §2.1 fields --------------------------------------------------------------------------


def test_register_keeps_the_fields_and_stamps_consents_with_the_commands_time() -> None:
    """DOMAIN §2.1: consents are recorded with the time they were given."""
    x = new("  Ľubica   Šťastná ", phones=["+421 905 123 456", "02/123 45"], tags=["vip", " vip", "trial"],
            consents={"photos": True, "marketing": False}, birth_date=date(2018, 5, 4))
    assert x.name == "Ľubica Šťastná"
    assert x.phones == ("+421 905 123 456", "02/123 45")  # the first is the primary
    assert x.tags == ("trial", "vip")
    assert x.consents["photos"] == c.Consent(given=True, at=T0.isoformat())
    assert x.consents["marketing"].given is False
    assert x.version == 1


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"name": "   "}, "name_required"),
        ({"phones": ["1", "0905"]}, "invalid_phone"),
        ({"phones": ["0905 111 222", "0905-111-222"]}, "duplicate_phone"),
        ({"phones": ["0905 111 222", "0905 111 223", "0905 111 224"]}, "too_many_phones"),
        ({"birth_date": TODAY + timedelta(days=1)}, "invalid_birth_date"),
        ({"birth_date": date(1899, 12, 31)}, "invalid_birth_date"),
        ({"consents": {"newsletter": True}}, "unknown_consent"),
        ({"tags": ["x" * 61]}, "invalid_tag"),
    ],
)
def test_register_refuses_bad_details(fields: dict[str, Any], code: str) -> None:
    """DOMAIN §2.1."""
    args: dict[str, Any] = {"name": "Märt Tamm", **fields}
    refused(code, lambda: c.register(uuid.uuid4(), meta(), today=TODAY, branch_id=BRANCH, **args), Invalid)


def test_update_records_only_real_changes_and_none_clears() -> None:
    x = new(email="l@example.sk", notes="alergia")
    assert c.update(x, meta(), {"name": "Ľubica Šťastná", "notes": "alergia"}, today=TODAY) == []
    (e,) = c.update(x, meta(), {"email": None, "notes": "alergia", "name": "Ľubica Nová"}, today=TODAY)
    assert isinstance(e, c.ClientDetailsChanged)
    assert e.changes == {"email": None, "name": "Ľubica Nová"}
    y = step(x, [e])
    assert (y.email, y.notes, y.name, y.version) == (None, "alergia", "Ľubica Nová", 2)


@pytest.mark.parametrize(
    ("changes", "code"),
    [({"name": None}, "name_required"), ({"branch_id": None}, "branch_id_required"),
     ({"id": uuid.uuid4()}, "unknown_field"), ({"phones": ["12"]}, "invalid_phone")],
)
def test_update_refuses_clearing_required_fields_and_unknown_ones(changes: dict[str, Any], code: str) -> None:
    refused(code, lambda: c.update(new(), meta(), changes, today=TODAY), Invalid)


def test_update_consents_are_restamped_only_when_they_change() -> None:
    """DOMAIN §2.1: each consent keeps the time it was given or withdrawn."""
    x = new(consents={"photos": True, "marketing": True})
    later = T0 + timedelta(days=3)
    (e,) = c.update(x, meta(at=later), {}, today=TODAY, consents={"photos": True, "marketing": False})
    assert isinstance(e, c.ClientConsentsChanged)
    assert e.consents == {"marketing": False}
    y = step(x, [e])
    assert y.consents["marketing"] == c.Consent(given=False, at=later.isoformat())
    assert y.consents["photos"].at == T0.isoformat()


def test_update_sets_tags_exactly_with_one_event_per_tag_and_consecutive_versions() -> None:
    """DOMAIN §2.2."""
    x = new(tags=["a", "b"])
    evs = c.update(x, meta(), {"notes": "n"}, today=TODAY, tags=["b", "c", "d"])
    assert [type(e).__name__ for e in evs] == ["ClientDetailsChanged", "ClientUntagged", "ClientTagged", "ClientTagged"]
    assert [e.originator_version for e in evs] == [2, 3, 4, 5]
    assert step(x, evs).tags == ("b", "c", "d")


# ---- §2.2 tags ----------------------------------------------------------------------------


def test_tags_are_a_set() -> None:
    """DOMAIN §2.2: adding a tag twice records it once; removing an absent one is a no-op."""
    x = new()
    x = step(x, c.tag(x, meta(), " camp  2026 "))
    assert x.tags == ("camp 2026",)
    assert c.tag(x, meta(), "camp 2026") == []
    assert c.untag(x, meta(), "vip") == []
    x = step(x, c.untag(x, meta(), "camp 2026"))
    assert x.tags == ()
    refused("invalid_tag", lambda: c.tag(x, meta(), "   "), Invalid)


# ---- §2.3 family --------------------------------------------------------------------------


def test_link_is_recorded_on_both_clients_each_at_its_next_version() -> None:
    """DOMAIN §2.3."""
    mum, kid = new("Mama", 1), new("Dieťa", 2)
    mum = step(mum, c.tag(mum, meta(), "vip"))
    evs = c.link_family(mum, kid, meta())
    assert [(type(e).__name__, e.originator_id, e.originator_version) for e in evs] == [
        ("FamilyMemberLinked", mum.id, 3), ("FamilyParentLinked", kid.id, 2)]
    mum, kid = step(mum, evs[:1]), step(kid, evs[1:])
    assert (mum.member_ids, kid.parent_id) == ((kid.id,), mum.id)
    assert c.link_family(mum, kid, meta()) == []  # already so


def test_family_refusals() -> None:
    """DOMAIN §2.3: one family per member; a member is no parent, a parent no member."""
    mum, kid, aunt, cousin = new("Mama", 1), new("Dieťa", 2), new("Teta", 3), new("Bratranec", 4)
    evs = c.link_family(mum, kid, meta())
    mum, kid = step(mum, evs[:1]), step(kid, evs[1:])
    refused("self_link", lambda: c.link_family(aunt, aunt, meta()), Invalid)
    refused("already_in_family", lambda: c.link_family(aunt, kid, meta()), Conflict)
    refused("parent_is_member", lambda: c.link_family(kid, cousin, meta()), Conflict)
    refused("member_is_parent", lambda: c.link_family(aunt, mum, meta()), Conflict)
    refused("not_in_family", lambda: c.unlink_family(aunt, kid, meta()), Conflict)
    evs = c.unlink_family(mum, kid, meta())
    mum, kid = step(mum, evs[:1]), step(kid, evs[1:])
    assert (mum.member_ids, kid.parent_id) == ((), None)  # both clients stay


# ---- §2.4 freezes -------------------------------------------------------------------------


def test_freeze_periods_are_inclusive_and_never_overlap() -> None:
    """DOMAIN §2.4: [from, to], both days frozen; an overlapping period is refused, not merged."""
    x = new()
    x = step(x, c.freeze(x, meta(), date(2026, 5, 1), date(2026, 5, 10)))
    assert x.frozen_on(date(2026, 5, 1))
    assert x.frozen_on(date(2026, 5, 10))
    assert not x.frozen_on(date(2026, 5, 11))
    refused("freeze_overlaps", lambda: c.freeze(x, meta(), date(2026, 5, 10), date(2026, 5, 20)), Conflict)
    refused("freeze_overlaps", lambda: c.freeze(x, meta(), date(2026, 4, 1), date(2026, 6, 1)), Conflict)
    refused("invalid_period", lambda: c.freeze(x, meta(), date(2026, 6, 2), date(2026, 6, 1)), Invalid)
    x = step(x, c.freeze(x, meta(), date(2026, 5, 11), date(2026, 5, 11)))  # the next day is free
    assert len(x.freezes) == 2


# ---- §2.5 archive, restore, delete ------------------------------------------------------------


WRITES: dict[str, Callable[[c.Client], list[Event]]] = {
    "update": lambda x: c.update(x, meta(), {"notes": "n"}, today=TODAY),
    "tag": lambda x: c.tag(x, meta(), "vip"),
    "untag": lambda x: c.untag(x, meta(), "vip"),
    "freeze": lambda x: c.freeze(x, meta(), date(2026, 7, 1), date(2026, 7, 2)),
    "join_waitlist": lambda x: c.join_waitlist(x, meta(), None, "mornings"),
    "leave_waitlist": lambda x: c.leave_waitlist(x, meta()),
    "call": lambda x: c.schedule_call(x, meta(), date(2026, 4, 1)),
    "link": lambda x: c.link_family(x, new("Iný", 9), meta()),
    "archive": lambda x: c.archive(x, meta("again")),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_archived_client_is_read_only_except_restore_and_delete(write: str) -> None:
    """DOMAIN §2.5."""
    x = new()
    x = step(x, c.archive(x, meta("moved away")))
    assert (x.archived, x.archive_reason) == (True, "moved away")
    with pytest.raises(Conflict) as e:
        WRITES[write](x)
    assert e.value.code in {"client_archived", "already_archived"}
    assert not step(x, c.restore(x, meta())).archived
    assert step(x, c.delete(x, meta("duplicate"), {})).deleted


@pytest.mark.parametrize("write", sorted(WRITES))
def test_deleted_client_is_read_only_for_good(write: str) -> None:
    """DOMAIN §2.5: a deleted client is not restored; register the person again."""
    x = new()
    x = step(x, c.delete(x, meta("duplicate record"), {}))
    refused("client_deleted", lambda: WRITES[write](x), Conflict)
    refused("client_deleted", lambda: c.restore(x, meta()), Conflict)
    refused("already_deleted", lambda: c.delete(x, meta("again"), {}), Conflict)


def test_archive_and_delete_need_a_reason_and_restore_needs_an_archived_client() -> None:
    x = new()
    refused("reason_required", lambda: c.archive(x, meta("  ")), Invalid)
    refused("reason_required", lambda: c.delete(x, meta(None), {}), Invalid)
    refused("not_archived", lambda: c.restore(x, meta()), Conflict)


def test_deleting_a_parent_unlinks_every_member_on_both_sides_first() -> None:
    """DOMAIN §2.3, §2.5: the deleted record leaves its family's lists too."""
    mum, a, b = new("Mama", 1), new("A", 2), new("B", 3)
    evs = c.link_family(mum, a, meta())
    mum, a = step(mum, evs[:1]), step(a, evs[1:])
    evs = c.link_family(mum, b, meta())
    mum, b = step(mum, evs[:1]), step(b, evs[1:])
    b = step(b, c.archive(b, meta("left")))  # an archived member is unlinked all the same
    evs = c.delete(mum, meta("duplicate"), {a.id: a, b.id: b})
    assert type(evs[-1]).__name__ == "ClientDeleted"
    mum = step(mum, [e for e in evs if e.originator_id == mum.id])
    a = step(a, [e for e in evs if e.originator_id == a.id])
    b = step(b, [e for e in evs if e.originator_id == b.id])
    assert (mum.deleted, mum.member_ids, a.parent_id, b.parent_id) == (True, (), None, None)
    assert (a.version, b.version) == (3, 4)


def test_deleting_without_the_relatives_loaded_is_a_programming_error() -> None:
    p = new("P", 5)
    p = step(p, c.link_family(p, new("K", 6), meta())[:1])
    with pytest.raises(ValueError, match="relatives"):
        c.delete(p, meta("x"), {})


# ---- §2.6 waitlist and next call ------------------------------------------------------------


def test_waitlist_leaving_clears_the_comment_and_repeats_are_no_ops() -> None:
    """DOMAIN §2.6."""
    x = new()
    x = step(x, c.join_waitlist(x, meta(), "Mari", "Tuesdays only"))
    assert x.waitlist == c.Waitlist(instructor="Mari", comment="Tuesdays only")
    assert c.join_waitlist(x, meta(), "Mari", "Tuesdays only") == []
    x = step(x, c.join_waitlist(x, meta(), None, "any day"))
    assert x.waitlist == c.Waitlist(instructor=None, comment="any day")
    x = step(x, c.leave_waitlist(x, meta()))
    assert x.waitlist is None
    assert c.leave_waitlist(x, meta()) == []


def test_next_call_is_set_and_cleared() -> None:
    """DOMAIN §2.6."""
    x = new()
    x = step(x, c.schedule_call(x, meta(), date(2026, 3, 20)))
    assert x.next_call == date(2026, 3, 20)
    assert c.schedule_call(x, meta(), date(2026, 3, 20)) == []
    assert step(x, c.schedule_call(x, meta(), None)).next_call is None


# ---- §2.3 phone index -------------------------------------------------------------------------


def test_phone_index_admits_one_family_only() -> None:
    """DOMAIN §2.3: uniqueness does not apply inside a family."""
    idx_id = c.phone_index_id(TENANT, "0905111222")
    mum, kid, stranger = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
    (e,) = c.claim_phone(None, meta(), idx_id, "0905111222", mum, {mum})
    idx: c.PhoneIndex = e.apply(None)
    refused("phone_taken", lambda: c.claim_phone(idx, meta(), idx_id, "0905111222", stranger, {stranger}), Conflict)
    assert c.claim_phone(idx, meta(), idx_id, "0905111222", mum, {mum}) == []
    idx = step_any(idx, c.claim_phone(idx, meta(), idx_id, "0905111222", kid, {mum, kid}))
    assert idx.holders == (mum, kid)
    kid_client = new("Dieťa", 2, phones=["0905 111 222"])
    refused("phone_shared_in_family", lambda: c.check_unlink_phones(kid_client, [idx]), Conflict)
    idx = step_any(idx, c.release_phone(idx, meta(), mum))
    c.check_unlink_phones(kid_client, [idx, None])  # now the kid holds it alone
    assert c.release_phone(idx, meta(), mum) == []


def step_any(state: Any, events: list[Event]) -> Any:
    return project(state, events)


def test_a_given_id_already_in_use_is_refused() -> None:
    """DOMAIN §2.1: a caller-given id names a new client only."""
    refused("duplicate_id", lambda: c.register(uuid.UUID(int=5), meta(), today=TODAY, name="Eva", branch_id=BRANCH,
                                               id_taken=True), Conflict)


def test_unlinking_a_member_who_shares_a_family_phone_is_refused_when_phones_are_unique() -> None:
    """DOMAIN §2.3: after the unlink the member is a family of one."""
    mum, kid = new("Mama", 1, phones=["0905 111 222"]), new("Dieťa", 2, phones=["0905 111 222"])
    mum, kid = step(mum, c.link_family(mum, kid, meta())[:1]), step(kid, c.link_family(mum, kid, meta())[1:])
    idx = step_any(None, c.claim_phone(None, meta(), c.phone_index_id(TENANT, "0905111222"), "0905111222", mum.id,
                                       {mum.id}))
    idx = step_any(idx, c.claim_phone(idx, meta(), idx.id, "0905111222", kid.id, {mum.id, kid.id}))
    refused("phone_shared_in_family", lambda: c.unlink_family(mum, kid, meta(), [idx]), Conflict)
    assert len(c.unlink_family(mum, kid, meta())) == 2  # phones not unique: no check


@given(st.lists(st.tuples(st.integers(0, 2), st.lists(st.sampled_from(["0905111222", "0905111333", "02/123 45"]),
                                                     max_size=2, unique=True)), max_size=12))
def test_phone_sync_keeps_the_index_equal_to_who_holds_each_number(
        changes: list[tuple[int, list[str]]]) -> None:
    """DOMAIN §2.3: every number of a live client is claimed by exactly its holders. The
    three clients are one family, so nobody is refused."""
    people = {i: new(f"Člen {i}", i + 1) for i in range(3)}
    family = {p.id for p in people.values()}
    indexes: dict[str, c.PhoneIndex | None] = {}
    for who, phones in changes:
        before = people[who]
        after = step(before, c.update(before, meta(), {"phones": phones}, today=TODAY))
        numbers = {phone_number(p, "SK") for p in (*before.phones, *after.phones)}
        events = c.sync_phones(after, meta(), before.phones, "SK", family, {n: indexes.get(n) for n in numbers})
        for e in events:
            number = next(n for n in numbers if c.phone_index_id(TENANT, n) == e.originator_id)
            indexes[number] = e.apply(indexes.get(number))
        people[who] = after
    for number, idx in indexes.items():
        holders = {p.id for p in people.values() if number in {phone_number(x, "SK") for x in p.phones}}
        assert idx is not None
        assert set(idx.holders) == holders


# ---- properties ------------------------------------------------------------------------------

IDS = [uuid.UUID(int=100 + i) for i in range(4)]
ACTIONS = ["tag", "untag", "retag", "update", "freeze", "archive", "restore", "delete", "link", "unlink",
           "waitlist", "leave", "call"]
steps_strategy = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 3), st.integers(0, 3),
              st.sampled_from(["vip", "trial", "camp"]), st.integers(0, 60)),
    max_size=50,
)
# Events a client that was archived before the step may still receive: restore, its own
# deletion, and the unlinks a deletion (its own or a relative's) brings.
LOCKED_OK = {"ClientRestored", "ClientDeleted", "FamilyMemberUnlinked", "FamilyParentUnlinked"}


def decide(action: str, x: c.Client, y: c.Client, state: dict[uuid.UUID, c.Client], tag: str, days: int,
           m: Callable[..., Meta]) -> list[Event]:
    start = date(2026, 1, 1) + timedelta(days=days)
    match action:
        case "tag":
            return c.tag(x, m(), tag)
        case "untag":
            return c.untag(x, m(), tag)
        case "retag":
            return c.update(x, m(), {}, today=TODAY, tags=[tag, "base"])
        case "update":
            return c.update(x, m(), {"notes": f"n{days % 3}", "card_number": f"C{days % 2}"}, today=TODAY)
        case "freeze":
            return c.freeze(x, m(), start, start + timedelta(days=days % 7))
        case "archive":
            return c.archive(x, m("moved"))
        case "restore":
            return c.restore(x, m())
        case "delete":
            return c.delete(x, m("duplicate"), {i: state[i] for i in x.family_ids() - {x.id}})
        case "link":
            return c.link_family(x, y, m())
        case "unlink":
            return c.unlink_family(x, y, m())
        case "waitlist":
            return c.join_waitlist(x, m(), "Mari", f"c{days % 2}")
        case "leave":
            return c.leave_waitlist(x, m())
        case _:
            return c.schedule_call(x, m(), date(2026, 2, 1) + timedelta(days=days % 3))


@settings(max_examples=300, deadline=None)
@given(steps_strategy)
def test_decisions_fold_to_the_same_state_and_keep_the_invariants(steps: list[tuple[str, int, int, str, int]]) -> None:
    """DOMAIN §2.2, §2.3, §2.4, §2.5, §9.2."""
    at = T0
    state: dict[uuid.UUID, c.Client] = {}
    log: dict[uuid.UUID, list[Event]] = {i: [] for i in IDS}
    tags_model: dict[uuid.UUID, set[str]] = {i: set() for i in IDS}

    def m(reason: str | None = None) -> Meta:
        return Meta(tenant_id=TENANT, at=at, actor="test", reason=reason)

    for i in IDS:
        (e,) = c.register(i, m(), today=TODAY, name=f"Klient {i.int}", branch_id=BRANCH)
        state[i] = e.apply(None)
        log[i].append(e)

    for n, (action, a, b, tag, days) in enumerate(steps):
        at = T0 + timedelta(minutes=n + 1)
        x, y = state[IDS[a]], state[IDS[b]]
        before = dict(state)
        try:
            evs = decide(action, x, y, state, tag, days, m)
        except Refused:
            continue
        for e in evs:
            prior = state[e.originator_id]
            assert not before[e.originator_id].deleted, "a deleted client takes no event"
            if before[e.originator_id].archived:
                assert type(e).__name__ in LOCKED_OK, f"{type(e).__name__} on an archived client"
            assert e.originator_version == prior.version + 1
            state[e.originator_id] = e.apply(prior)
            log[e.originator_id].append(e)
        # the reference model of tags: a plain set
        if action == "tag":
            tags_model[x.id].add(tag)
        elif action == "untag":
            tags_model[x.id].discard(tag)
        elif action == "retag":
            tags_model[x.id] = {tag, "base"}

    for i in IDS:
        folded = project(None, log[i])
        assert folded == state[i]
        assert [e.originator_version for e in log[i]] == list(range(1, len(log[i]) + 1))
        assert list(folded.tags) == sorted(tags_model[i])
        if folded.parent_id is not None:
            parent = state[folded.parent_id]
            assert i in parent.member_ids
            assert parent.parent_id is None
            assert folded.member_ids == ()
        for member in folded.member_ids:
            assert state[member].parent_id == i
        if folded.deleted:
            assert folded.parent_id is None
            assert folded.member_ids == ()
        spans = sorted((f.start, f.end) for f in folded.freezes)
        assert all(p[1] < q[0] for p, q in itertools.pairwise(spans))
    members_everywhere = [mid for j in IDS for mid in state[j].member_ids]
    assert len(members_everywhere) == len(set(members_everywhere))  # one family per member
