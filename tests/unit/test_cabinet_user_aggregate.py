"""The cabinet user as pure decisions (DOMAIN §8.2): invitation and login, proofs, the
daily attempt limit, links."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from classledger.aggregates import cabinet_user as u
from classledger.aggregates import client as c
from classledger.aggregates.base import Meta, project
from classledger.aggregates.errors import Conflict, NotFound

TENANT = uuid.UUID(int=7)
OTHER_TENANT = uuid.UUID(int=9)
BRANCH = uuid.UUID(int=8)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def meta(at: datetime = T0, tenant: uuid.UUID = TENANT) -> Meta:
    return Meta(tenant_id=tenant, at=at, actor="cabinet user")


def kid(cid: int, name: str = "Anna Nováková", phones: tuple[str, ...] = ("0905 111 222",),
        birth_date: date | None = date(2016, 4, 2), tenant: uuid.UUID = TENANT) -> c.Client:
    (e,) = c.register(uuid.UUID(int=cid), meta(tenant=tenant), today=TODAY, name=name, branch_id=BRANCH,
                      phones=phones, birth_date=birth_date)
    client: c.Client = e.apply(None)
    return client


def user(invitation: str = "inv") -> u.CabinetUser:
    events = u.register(uuid.UUID(int=100), meta(), u.secret_hash(invitation), T0 + timedelta(days=14))
    state: u.CabinetUser = project(None, events)
    return state


def signed_in() -> u.CabinetUser:
    x = user()
    out: u.CabinetUser = project(x, u.redeem(x, meta(), u.secret_hash("inv"), u.secret_hash("login")))
    return out


PROOF = {"phone": "+421 905 111 222", "birth_date": date(2016, 4, 2), "surname": "nováková"}


# ---- matching ----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "surname", "ok"), [
    ("Anna Nováková", "Nováková", True),
    ("Anna Nováková", "NOVAKOVA", True),  # case and accents folded
    ("Иванова Мария", "иванова", True),  # surname first, Cyrillic transliterated both sides
    ("Иванова Мария", "Ivanova", True),
    ("Anna Nováková-Kováčová", "novakova kovacova", True),  # hyphen and space are both separators
    ("Anna Nováková-Kováčová", "Kováčová", True),
    ("Anna Nováková", "Anna Nováková", False),  # the whole name is not a surname
    ("Anna Nováková", "Nováková Anna", False),
    ("Anna Nováková", "Nová", False),  # whole words only
    ("Anna Maria Nováková", "Maria", False),  # neither the beginning nor the end
    ("Novák", "novak", True),  # a one-word name is its own surname
    ("Anna Nováková", "  ", False),
])
def test_surnames_compare_by_folded_whole_words_at_either_end(name: str, surname: str, ok: bool) -> None:
    assert u.surname_matches(name, surname) is ok


@pytest.mark.parametrize(("a", "b", "ok"), [
    ("0905 111 222", "0905111222", True),
    ("0905 111 222", "+421 905 111 222", True),  # national and international forms of one number
    ("0905 111 222", "00421 905 111 222", True),
    ("+421 905 111 222", "+420 905 111 222", False),  # two countries
    ("0905 111 222", "0905 111 223", False),
    ("905 111 222", "+421 905 111 222", True),  # no trunk zero written
    ("0905 111 222", "+4215 905 111 222", False),  # a four-digit prefix is no country code
    ("12345", "+4212345", False),  # too short a tail to be a number
])
def test_phones_compare_by_digits_national_against_international(a: str, b: str, ok: bool) -> None:
    assert u.phones_match(a, b) is ok
    assert u.phones_match(b, a) is ok


def test_a_proof_needs_all_three_and_a_live_client_with_them() -> None:
    """DOMAIN §8.2: phone + birth date + surname; a client without birth date or phone cannot be proved."""
    anna = kid(1)
    assert u.proves(anna, **PROOF)
    assert not u.proves(anna, **{**PROOF, "phone": "0905 111 223"})
    assert not u.proves(anna, **{**PROOF, "birth_date": date(2016, 4, 3)})
    assert not u.proves(anna, **{**PROOF, "surname": "Kováčová"})
    assert not u.proves(kid(2, birth_date=None), **PROOF)
    assert not u.proves(kid(3, phones=()), **PROOF)
    deleted: c.Client = project(anna, c.delete(anna, meta().model_copy(update={"reason": "dup"}), {}))
    assert not u.proves(deleted, **PROOF)


# ---- invitation and login ----------------------------------------------------------------


def test_an_invitation_is_redeemed_once_and_expires() -> None:
    x = user()
    assert x.invitation_hash == u.secret_hash("inv")
    with pytest.raises(NotFound) as e:
        u.redeem(x, meta(), u.secret_hash("wrong"), u.secret_hash("login"))
    assert e.value.code == "invitation_not_found"
    with pytest.raises(NotFound):
        u.redeem(x, meta(T0 + timedelta(days=14)), u.secret_hash("inv"), u.secret_hash("login"))
    y = signed_in()
    assert (y.login_hash, y.invitation_hash) == (u.secret_hash("login"), None)
    with pytest.raises(NotFound):  # used up
        u.redeem(y, meta(), u.secret_hash("inv"), u.secret_hash("login2"))


def test_a_login_is_revoked_once_and_a_new_invitation_replaces_it() -> None:
    y = signed_in()
    out: u.CabinetUser = project(y, u.revoke_login(y, meta()))
    assert out.login_hash is None
    with pytest.raises(NotFound) as e:
        u.revoke_login(out, meta())
    assert e.value.code == "no_cabinet_login"
    again: u.CabinetUser = project(y, u.invite(y, meta(), u.secret_hash("inv2"), T0 + timedelta(days=14)))
    assert again.login_hash == u.secret_hash("login")  # the old login works until the new one is made
    replaced: u.CabinetUser = project(again, u.redeem(again, meta(), u.secret_hash("inv2"), u.secret_hash("login2")))
    assert replaced.login_hash == u.secret_hash("login2")


# ---- proofs and links --------------------------------------------------------------------


def test_a_matching_proof_links_every_matching_candidate_once() -> None:
    y = signed_in()
    twins = [kid(1), kid(2), kid(3, name="Eva Kováčová")]
    events, proved = u.prove_and_link(y, meta(), twins, **PROOF, today=TODAY)
    assert proved == sorted([twins[0].id, twins[1].id])
    after: u.CabinetUser = project(y, events)
    assert set(after.client_ids) == set(proved)
    assert [e.originator_version for e in events] == [y.version + 1, y.version + 2]
    again, proved_again = u.prove_and_link(after, meta(), twins, **PROOF, today=TODAY)
    assert (again, proved_again) == ([], proved)


def test_another_tenants_client_is_never_proved() -> None:
    y = signed_in()
    events, proved = u.prove_and_link(y, meta(), [kid(1, tenant=OTHER_TENANT)], **PROOF, today=TODAY)
    assert proved == []
    assert [type(e).__name__ for e in events] == ["CabinetProofFailed"]


def test_failures_count_per_day_and_start_again_the_next_day() -> None:
    y = signed_in()
    for n in range(u.MAX_FAILURES_PER_DAY):
        assert u.attempts_left(y, TODAY) == u.MAX_FAILURES_PER_DAY - n
        events, proved = u.prove_and_link(y, meta(), [], **PROOF, today=TODAY)
        assert proved == []
        y = project(y, events)
    assert u.attempts_left(y, TODAY) == 0
    assert u.attempts_left(y, TODAY + timedelta(days=1)) == u.MAX_FAILURES_PER_DAY
    events, _ = u.prove_and_link(y, meta(), [], **PROOF, today=TODAY + timedelta(days=1))
    y = project(y, events)
    assert (y.failures_day, y.failures) == (TODAY + timedelta(days=1), 1)


def test_a_login_holds_a_bounded_number_of_clients() -> None:
    y = signed_in()
    kids = [kid(i) for i in range(1, u.MAX_LINKED_CLIENTS + 2)]
    with pytest.raises(Conflict) as e:
        u.prove_and_link(y, meta(), kids, **PROOF, today=TODAY)
    assert e.value.code == "too_many_linked_clients"


def test_unlinking_needs_a_linked_client() -> None:
    y = signed_in()
    events, (anna,) = u.prove_and_link(y, meta(), [kid(1)], **PROOF, today=TODAY)
    linked: u.CabinetUser = project(y, events)
    unlinked: u.CabinetUser = project(linked, u.unlink(linked, meta(), anna))
    assert unlinked.client_ids == ()
    with pytest.raises(NotFound) as e:
        u.unlink(unlinked, meta(), anna)
    assert e.value.code == "client_not_linked"
