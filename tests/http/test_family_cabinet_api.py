"""DOMAIN §8.2 through the real app: a parent's login links several clients of a family,
each by proving its phone, birth date and surname, and sees their invoices, payments,
attendance, make-ups and group transfers, nothing else.

The clock is the server's over HTTP; the tests that need real calendar days set it
(``classledger.system.now``), so that the tenant's midnight falls where they want it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from starlette.testclient import TestClient

from classledger import system as system_module
from classledger.aggregates.cabinet_user import MAX_FAILURES_PER_DAY, secret_hash
from classledger.http import family_cabinet
from classledger.http.app import create_app
from classledger.system import System
from tests.http.support import Api, assert_error

# 23:30 in Bratislava (UTC+1 in March): the UTC date and the tenant's date differ after 23:00 UTC.
LATE_EVENING = datetime(2027, 3, 10, 22, 30, tzinfo=UTC)
ANNA = {"phone": "+421 905 111 222", "birth_date": "2016-04-02", "surname": "NOVAKOVA"}
PETER = {"phone": "0905111222", "birth_date": "2019-09-30", "surname": "novák"}


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(LATE_EVENING)
    monkeypatch.setattr(system_module, "now", c)
    monkeypatch.setattr(family_cabinet, "now", c)
    return c


def family(api: Api) -> dict[str, str]:
    """Two siblings (their phone stored nationally, in two formats) and a stranger."""
    return {
        "anna": api.client("Anna Nováková", phones=["0905 111 222"], birth_date="2016-04-02"),
        "peter": api.client("Peter Novák", phones=["+421905111222"], birth_date="2019-09-30"),
        "stranger": api.client("Eva Kováčová", phones=["0911 000 000"], birth_date="2016-04-02"),
    }


def signup(api: Api) -> tuple[str, str]:
    """Staff register a user; the parent redeems the invitation. (user id, login token)"""
    invited = api.post("/v1/cabinet-users", {})
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert len(body["invitation"]) >= 40
    redeemed = api.http.post("/cabinet/users", json={"invitation": body["invitation"]})
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["id"] == body["id"]
    return str(body["id"]), str(redeemed.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def link(api: Api, token: str, proof: dict[str, str]) -> Any:
    return api.http.post("/cabinet/me/links", json=proof, headers=bearer(token))


def me(api: Api, token: str) -> dict[str, Any]:
    r = api.http.get("/cabinet/me", headers=bearer(token))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_parent_links_two_siblings_and_sees_only_what_the_rule_allows(api: Api) -> None:
    """DOMAIN §8.2: invoices, payments, attendance, make-ups and group transfers of linked clients."""
    kids = family(api)
    _, token = signup(api)
    assert me(api, token)["clients"] == []

    anna = link(api, token, ANNA)  # international form against the national one, case and accents folded
    assert anna.status_code == 201, anna.text
    assert anna.json()["client_ids"] == [kids["anna"]]
    peter = link(api, token, PETER)
    assert peter.status_code == 201, peter.text
    assert peter.json()["client_ids"] == [kids["peter"]]
    again = link(api, token, ANNA)  # proving a linked client again changes nothing
    assert again.status_code == 201
    assert again.json()["client_ids"] == [kids["anna"]]

    # Anna's money, lessons, a make-up and a group transfer.
    api.post("/v1/lesson-types", {"code": "group", "name": "Group", "single_visit_price": "15.00"}, role="director")
    tpl = api.post("/v1/pass-templates", {"name": "Group 10", "price": "120.00", "lessons": 10, "validity_days": 60,
                                          "lesson_type": "group"}, role="director").json()["id"]
    today = datetime.now(UTC).date()
    assert api.post("/v1/passes", {"template_id": tpl, "client_ids": [kids["anna"]], "branch_id": api.branch,
                                   "valid_from": today.isoformat(), "payment": "on_credit"}).status_code == 201
    assert api.post("/v1/payments", {"client_id": kids["anna"], "amount": "50.00", "method": "cash",
                                     "branch_id": api.branch}).status_code == 201
    typo = api.post("/v1/payments", {"client_id": kids["anna"], "amount": "20.00", "method": "cash", "branch_id": api.branch})
    assert api.post(f"/v1/transactions/{typo.json()['id']}/cancel", {"reason": "typo"}, role="director").status_code == 200
    assert api.post("/v1/visits", {"client_id": kids["anna"], "lesson_type": "group", "date": today.isoformat(),
                                   "status": "attended"}).status_code == 201
    course = api.post("/v1/courses", {"name": "Ballet", "lesson_type": "group"}).json()["id"]
    groups = [api.post("/v1/groups", {"course_id": course, "branch_id": api.branch, "name": name, "capacity": 5,
                                      "starts_on": today.isoformat(),
                                      "ends_on": (today + timedelta(days=90)).isoformat()}).json()["id"]
              for name in ("Mon 16:00", "Wed 17:00")]
    reg = api.post("/v1/registrations", {"client_id": kids["anna"], "group_id": groups[0]}).json()["id"]
    assert api.post(f"/v1/registrations/{reg}/transfer", {"group_id": groups[1]}).status_code == 200
    assert api.post(f"/v1/registrations/{reg}/credits", {"kind": "makeup",
                                                          "expires_on": (today + timedelta(days=30)).isoformat()}).status_code == 201
    assert api.post(f"/v1/registrations/{reg}/credits", {"kind": "coupon",
                                                          "expires_on": (today + timedelta(days=30)).isoformat()}).status_code == 201

    view = me(api, token)
    assert [c["id"] for c in view["clients"]] == [kids["anna"], kids["peter"]]
    a = view["clients"][0]
    assert set(a) == {"id", "name", "invoices", "payments", "attendance", "makeups", "group_transfers"}
    assert a["name"] == "Anna Nováková"
    assert [(i["kind"], i["amount"], i["status"]) for i in a["invoices"]] == [("sale", "120.00", "posted")]
    # A cancelled payment stays on the statement as cancelled; its reversal is not a line of its own (§6.4).
    assert [(p["kind"], p["amount"], p["status"]) for p in a["payments"]] == [("payment", "20.00", "cancelled"),
                                                                              ("payment", "50.00", "posted")]
    assert [(v["date"], v["status"]) for v in a["attendance"]] == [(today.isoformat(), "attended")]
    assert [(m["state"], m["expires_on"]) for m in a["makeups"]] == [("open", (today + timedelta(days=30)).isoformat())]
    assert [(t["from_group"]["name"], t["to_group"]["name"]) for t in a["group_transfers"]] == [("Mon 16:00", "Wed 17:00")]
    p = view["clients"][1]
    assert (p["invoices"], p["payments"], p["attendance"], p["makeups"], p["group_transfers"]) == ([], [], [], [], [])
    # Nothing else: no balance, phones, birth date or notes of the client anywhere in the answer.
    text = str(view)
    for private in ("0905", "2016-04-02", "balance", "phones", "stranger", kids["stranger"]):
        assert private not in text


def test_every_wrong_proof_gets_the_same_refusal(api: Api) -> None:
    """DOMAIN §8.2: a failure does not tell which of phone, birth date and surname was wrong."""
    kids = family(api)
    no_birth_date = api.client("Mia Nováková", phones=["0905 111 222"])
    _, token = signup(api)
    wrong = [
        {**ANNA, "phone": "0905 111 223"},
        {**ANNA, "birth_date": "2016-04-03"},
        {**ANNA, "surname": "Kováčová"},  # the surname of another client born that day
    ]
    errors = []
    for n, proof in enumerate(wrong, start=1):
        e = assert_error(link(api, token, proof), 422, "proof_refused")
        assert e["details"] == {"attempts_left": MAX_FAILURES_PER_DAY - n}
        errors.append((e["code"], e["message"]))
    assert len(set(errors)) == 1
    # Mia has no birth date on record: whatever date is tried, she cannot be proved.
    e = assert_error(link(api, token, {**ANNA, "birth_date": "2000-01-01", "surname": "Mia Nováková"}), 422)
    assert (e["code"], e["message"]) == errors[0]
    assert no_birth_date not in str(me(api, token))
    assert me(api, token)["clients"] == []
    # The right proof still works after the refusals (one attempt was left).
    assert link(api, token, ANNA).json()["client_ids"] == [kids["anna"]]


def test_the_caller_cannot_name_candidates(api: Api) -> None:
    """The identity index picks the candidates; a body naming clients is refused."""
    kids = family(api)
    _, token = signup(api)
    e = assert_error(link(api, token, {**ANNA, "candidate_ids": [kids["stranger"]]}), 422, "invalid_args")
    assert "candidate_ids" in str(e["details"])


def test_attempts_are_limited_per_tenant_day_and_come_back_after_its_midnight(api: Api, clock: Clock) -> None:
    """Five failed proofs a day (the tenant's day, Europe/Bratislava); then 429 with
    Retry-After until the tenant's midnight, even for a correct proof; the next local day
    (still the same UTC date) counts afresh."""
    kids = family(api)
    _, token = signup(api)
    for _ in range(MAX_FAILURES_PER_DAY):
        assert_error(link(api, token, {**ANNA, "surname": "Kováčová"}), 422, "proof_refused")
    before = api.events()
    blocked = link(api, token, ANNA)
    e = assert_error(blocked, 429, "too_many_attempts")
    assert blocked.headers["Retry-After"] == "1800"  # 23:30 local: half an hour to the tenant's midnight
    assert e["details"]["retry_after"] == 1800
    assert api.events() == before  # a blocked attempt is not even counted

    clock.at = LATE_EVENING + timedelta(minutes=29)  # 23:59 local
    assert_error(link(api, token, ANNA), 429, "too_many_attempts")
    clock.at = LATE_EVENING + timedelta(minutes=35)  # 00:05 local on the 11th; still the 10th in UTC
    ok = link(api, token, ANNA)
    assert ok.status_code == 201, ok.text
    assert ok.json()["client_ids"] == [kids["anna"]]
    assert ok.json()["attempts_left"] == MAX_FAILURES_PER_DAY


def test_the_limit_holds_across_processes(api: Api, database_url: str, clock: Clock) -> None:
    """The failures are events: a second process on the same database sees them."""
    family(api)
    _, token = signup(api)
    for _ in range(MAX_FAILURES_PER_DAY):
        assert_error(link(api, token, {**ANNA, "surname": "Kováčová"}), 422, "proof_refused")
    other = System.open(database_url)
    try:
        http = TestClient(create_app(other), raise_server_exceptions=False)
        assert_error(http.post("/cabinet/me/links", json=ANNA, headers=bearer(token)), 429, "too_many_attempts")
    finally:
        other.close()


def test_unlinking_and_other_users(api: Api) -> None:
    """A user sees only the clients it proved; unlinking takes a client away."""
    kids = family(api)
    _, mother = signup(api)
    _, father = signup(api)
    assert link(api, mother, ANNA).status_code == 201
    assert link(api, mother, PETER).status_code == 201
    assert me(api, father)["clients"] == []  # the father proved nothing yet
    assert link(api, father, PETER).status_code == 201  # both parents may link one child
    assert [c["id"] for c in me(api, father)["clients"]] == [kids["peter"]]

    r = api.http.delete(f"/cabinet/me/links/{kids['anna']}", headers=bearer(mother))
    assert r.status_code == 200, r.text
    assert [c["id"] for c in me(api, mother)["clients"]] == [kids["peter"]]
    assert_error(api.http.delete(f"/cabinet/me/links/{kids['anna']}", headers=bearer(mother)), 404, "client_not_linked")
    # The father cannot unlink what only the mother had (and never learns whether she had it).
    assert_error(api.http.delete(f"/cabinet/me/links/{kids['stranger']}", headers=bearer(father)), 404,
                 "client_not_linked")
    assert_error(api.http.delete("/cabinet/me/links/not-an-id", headers=bearer(father)), 404, "not_found")
    # A deleted client leaves every cabinet.
    assert api.post(f"/v1/clients/{kids['peter']}/delete", {"reason": "duplicate"}).status_code == 200
    assert me(api, father)["clients"] == []


def test_a_login_can_be_signed_out_revoked_and_replaced(api: Api) -> None:
    family(api)
    user_id, token = signup(api)
    assert api.http.delete("/cabinet/me/login", headers=bearer(token)).status_code == 200
    assert_error(api.http.get("/cabinet/me", headers=bearer(token)), 401, "unauthenticated")

    # Staff re-invite (a lost login): the new invitation gives a new login.
    again = api.post(f"/v1/cabinet-users/{user_id}/invitation", {})
    assert again.status_code == 201, again.text
    second = api.http.post("/cabinet/users", json={"invitation": again.json()["invitation"]}).json()["token"]
    assert me(api, second)["user_id"] == user_id
    # A used invitation is gone; an unknown one looks the same.
    assert_error(api.http.post("/cabinet/users", json={"invitation": again.json()["invitation"]}), 404,
                 "invitation_not_found")
    assert_error(api.http.post("/cabinet/users", json={"invitation": "made-up"}), 404, "invitation_not_found")

    # Staff sign the user out; a third invitation replaces the login when redeemed.
    assert api.send("DELETE", f"/v1/cabinet-users/{user_id}/login").status_code == 200
    assert_error(api.http.get("/cabinet/me", headers=bearer(second)), 401, "unauthenticated")
    assert_error(api.send("DELETE", f"/v1/cabinet-users/{user_id}/login"), 404, "no_cabinet_login")
    third = api.post(f"/v1/cabinet-users/{user_id}/invitation", {}).json()["invitation"]
    fresh = api.http.post("/cabinet/users", json={"invitation": third}).json()["token"]
    fourth = api.post(f"/v1/cabinet-users/{user_id}/invitation", {}).json()["invitation"]
    newest = api.http.post("/cabinet/users", json={"invitation": fourth}).json()["token"]
    assert_error(api.http.get("/cabinet/me", headers=bearer(fresh)), 401, "unauthenticated")
    assert me(api, newest)["user_id"] == user_id


def test_an_invitation_expires(api: Api, clock: Clock) -> None:
    invitation = api.post("/v1/cabinet-users", {}).json()["invitation"]
    clock.at = LATE_EVENING + timedelta(days=14)
    assert_error(api.http.post("/cabinet/users", json={"invitation": invitation}), 404, "invitation_not_found")


def test_staff_keys_and_login_tokens_never_cross(api: Api) -> None:
    kids = family(api)
    _, token = signup(api)
    # A staff key is no cabinet login, whatever its role.
    for role in ("admin", "director", "accountant"):
        assert_error(api.http.get("/cabinet/me", headers=api.h(role)), 401, "unauthenticated")
        assert_error(api.http.post("/cabinet/me/links", json=ANNA, headers=api.h(role)), 401, "unauthenticated")
    assert_error(api.http.get("/cabinet/me"), 401, "unauthenticated")
    # A login token opens no staff route.
    assert_error(api.http.get(f"/v1/clients/{kids['anna']}", headers=bearer(token)), 401, "unauthenticated")
    assert_error(api.http.get("/v1/clients", headers=bearer(token)), 401, "unauthenticated")
    assert_error(api.http.post("/v1/commands", json={"command": "link_cabinet_client", "args": ANNA},
                               headers=bearer(token)), 401, "unauthenticated")
    # And staff cannot run a parent's commands, not even through /v1/commands.
    for command in ("link_cabinet_client", "unlink_cabinet_client", "redeem_cabinet_invitation", "revoke_cabinet_login"):
        assert_error(api.post("/v1/commands", {"command": command, "args": {}}), 404, "unknown_command")
    # Only writers register users.
    assert_error(api.post("/v1/cabinet-users", {}, role="accountant"), 403, "forbidden_role")


def test_secrets_are_stored_only_as_hashes(api: Api) -> None:
    from classledger.aggregates.cabinet_user import secret_hash

    invited = api.post("/v1/cabinet-users", {}).json()
    token = api.http.post("/cabinet/users", json={"invitation": invited["invitation"]}).json()["token"]
    # What the store holds, byte for byte: every event of the tenant.
    stored = "".join(bytes(r.state).decode() for r in api.system.store.recorder.read_rows(0, 100_000)
                     if r.tenant_id == api.tenant_id)
    assert invited["invitation"] not in stored
    assert token not in stored
    assert secret_hash(invited["invitation"]) in stored
    assert secret_hash(token) in stored


def test_a_user_cannot_prove_another_tenants_client(api: Api) -> None:
    other = Api(api.system, name="Iná škola")
    other.client("Anna Nováková", phones=["0905 111 222"], birth_date="2016-04-02")
    _, token = signup(api)
    assert_error(link(api, token, ANNA), 422, "proof_refused")


def test_the_openapi_document_lists_the_cabinet_routes(api: Api) -> None:
    spec = api.http.get("/openapi.json").json()
    assert spec["paths"]["/cabinet/me"]["get"]["security"] == [{"cabinetLogin": []}]
    assert spec["paths"]["/cabinet/users"]["post"]["security"] == []
    assert "429" in spec["paths"]["/cabinet/me/links"]["post"]["responses"]
    assert "delete" in spec["paths"]["/cabinet/me/links/{client_id}"]
    assert "post" in spec["paths"]["/v1/cabinet-users"]


def test_the_pipeline_keeps_parents_and_staff_apart(api: Api) -> None:
    """Below HTTP too: a parent's principal runs no staff command, not even a read-level
    one, and a staff principal, whatever its role, runs no parent's command."""
    from classledger.aggregates.errors import Forbidden
    from classledger.application.cabinet_users import cabinet_principal
    from classledger.application.principal import Principal

    user_id, _ = signup(api)
    parent = cabinet_principal(api.tenant_id, UUID(user_id))
    with pytest.raises(Forbidden):
        api.system.execute(parent, "register_client", {"name": "X", "branch_id": api.branch})
    with pytest.raises(Forbidden):
        api.system.execute(parent, "invite_cabinet_user", {})
    for role in ("admin", "regional_director", "accountant"):
        staff = Principal(api.tenant_id, UUID(user_id), "impostor", role)
        with pytest.raises(Forbidden):
            api.system.execute(staff, "link_cabinet_client", ANNA)


def test_the_front_desk_sees_a_login_as_the_parent_describes_it(api: Api) -> None:
    """DOMAIN §8.2 from the staff side (GET /v1/cabinet-users/{id}): a parent calls because
    linking is refused; staff see the attempts left today, whether the login is in use, an
    open invitation, and the linked clients. No secret or hash of one is shown."""
    kids = family(api)
    invited = api.post("/v1/cabinet-users", {}).json()
    status = api.get(f"/v1/cabinet-users/{invited['id']}")
    assert status.status_code == 200, status.text
    s = status.json()
    assert (s["signed_in"], s["client_ids"], s["failed_proofs_today"], s["attempts_left_today"]) == (False, [], 0, MAX_FAILURES_PER_DAY)
    assert s["invitation_expires_at"] == invited["expires_at"]

    token = api.http.post("/cabinet/users", json={"invitation": invited["invitation"]}).json()["token"]
    assert_error(link(api, token, {**ANNA, "surname": "Kováčová"}), 422, "proof_refused")
    assert link(api, token, PETER).status_code == 201
    s = api.get(f"/v1/cabinet-users/{invited['id']}", role="accountant").json()
    assert (s["signed_in"], s["invitation_expires_at"], s["client_ids"]) == (True, None, [kids["peter"]])
    assert (s["failed_proofs_today"], s["attempts_left_today"]) == (1, MAX_FAILURES_PER_DAY - 1)
    text = str(s)
    for secret in (invited["invitation"], token, secret_hash(invited["invitation"]), secret_hash(token)):
        assert secret not in text

    assert_error(api.get(f"/v1/cabinet-users/{kids['anna']}"), 404, "cabinet_user_not_found")  # a client, not a user
    assert_error(api.get(f"/v1/cabinet-users/{uuid.uuid4()}"), 404, "cabinet_user_not_found")
    assert api.http.get(f"/v1/cabinet-users/{invited['id']}", headers=bearer(token)).status_code == 401
