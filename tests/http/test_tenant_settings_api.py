"""The tenant's settings (DOMAIN §1.6, API §6) through the real app, on both databases:
``PATCH /v1/settings`` runs ``set_tenant_settings``, a director's command; unique phones
(§2.3) compare numbers, not strings; whether a no-show consumes a lesson changes what an
``absent`` visit does (§7.1)."""

from __future__ import annotations

from tests.http.support import Api, assert_error

SAME_NUMBER = ("+421 905 000 111", "00421905000111", "0905 000 111")  # DOMAIN §1.6: one number


def settings(api: Api, role: str = "director", **body: object):
    return api.send("PATCH", "/v1/settings", body, role=role)


def test_a_director_records_settings_and_only_what_is_sent_changes(api: Api) -> None:
    r = settings(api, locale="sk")
    assert r.status_code == 200, r.text
    assert r.json()["settings"] == {"no_show_consumes": False, "unique_phones": False, "locale": "sk"}
    r = settings(api, no_show_consumes=True)
    assert r.json()["settings"] == {"no_show_consumes": True, "unique_phones": False, "locale": "sk"}
    before = api.events()
    assert settings(api, no_show_consumes=True).status_code == 200  # as it already is: nothing recorded
    assert api.events() == before


def test_settings_are_a_directors_and_checked(api: Api) -> None:
    before = api.events()
    assert_error(settings(api, role="admin", locale="sk"), 403, "forbidden_role")
    assert_error(settings(api, locale="de"), 422)
    assert_error(settings(api, unique_phones="maybe"), 422)
    assert api.events() == before


def test_with_unique_phones_one_number_in_any_form_is_one_clients(api: Api) -> None:
    """DOMAIN §1.6, §2.3: +421 905 000 111, 00421905000111 and 0905 000 111 are one number."""
    assert settings(api, unique_phones=True).status_code == 200
    first = api.client("Eva Nováková", phones=[SAME_NUMBER[0]])
    for other_form in SAME_NUMBER[1:]:
        before = api.events()
        r = api.post("/v1/clients", {"name": "Iná Osoba", "branch_id": api.branch, "phones": [other_form]})
        assert_error(r, 409, "phone_taken")
        assert api.events() == before
    other = api.client("Peter Kováč", phones=["0905 999 888"])
    assert_error(api.send("PATCH", f"/v1/clients/{other}", {"phones": ["00421 905 000 111"]}), 409, "phone_taken")
    # Inside a family a number may be shared (§2.3): a child registered into Eva's family.
    r = api.post("/v1/clients", {"name": "Anna Nováková", "branch_id": api.branch, "phones": ["0905000111"],
                                 "parent_id": first})
    assert r.status_code == 201, r.text


def test_without_unique_phones_a_number_may_repeat(api: Api) -> None:
    api.client("Eva Nováková", phones=[SAME_NUMBER[0]])
    api.client("Iná Osoba", phones=[SAME_NUMBER[2]])


def test_turning_unique_phones_on_is_refused_while_clients_share_a_number_and_then_holds(api: Api) -> None:
    eva = api.client("Eva Nováková", phones=["+421 905 000 111"])
    peter = api.client("Peter Kováč", phones=["0905 000 111"])
    before = api.events()
    body = assert_error(settings(api, unique_phones=True), 409, "phones_not_unique")
    assert sorted(body["details"]["client_ids"]) == sorted([eva, peter])
    assert api.events() == before
    assert api.send("PATCH", f"/v1/clients/{peter}", {"phones": ["0905 123 456"]}).status_code == 200
    assert settings(api, unique_phones=True).status_code == 200
    # Existing numbers were claimed when the setting was turned on.
    assert_error(api.post("/v1/clients", {"name": "X", "branch_id": api.branch, "phones": ["0905123456"]}),
                 409, "phone_taken")
    # Turned off, then on again: numbers changed meanwhile are not held against anyone.
    assert settings(api, unique_phones=False).status_code == 200
    assert api.send("PATCH", f"/v1/clients/{eva}", {"phones": ["0905 555 444"]}).status_code == 200
    assert settings(api, unique_phones=True).status_code == 200
    api.client("Nová Klientka", phones=["+421905000111"])


def _client_with_pass(api: Api) -> tuple[str, str]:
    assert api.post("/v1/lesson-types", {"code": "group", "name": "Skupina", "single_visit_price": "10.00"},
                    role="director").status_code == 201
    template = api.post("/v1/pass-templates", {"name": "8 lekcií", "price": "80.00", "lessons": 8, "validity_days": 60,
                                               "lesson_type": "group"}, role="director").json()["id"]
    client = api.client()
    sale = api.post("/v1/passes", {"template_id": template, "client_ids": [client], "branch_id": api.branch,
                                   "valid_from": "2026-01-01", "payment": "on_credit"})
    assert sale.status_code == 201, sale.text
    return client, sale.json()["id"]


def _remaining(api: Api, client: str) -> int:
    card = api.get(f"/v1/clients/{client}").json()
    return int(card["passes"][0]["lessons_remaining"])


def test_no_show_consumes_decides_what_an_absent_visit_does(api: Api) -> None:
    """DOMAIN §7.1: by default a no-show keeps the lesson; once the director says a no-show
    consumes, an absent visit takes a lesson from the pass like an attended one."""
    client, _ = _client_with_pass(api)
    visit = {"client_id": client, "lesson_type": "group", "date": "2026-01-15", "status": "absent"}
    r = api.post("/v1/visits", visit)
    assert r.status_code == 201, r.text
    assert r.json()["consumed"] is False
    assert _remaining(api, client) == 8
    assert settings(api, no_show_consumes=True).status_code == 200
    r = api.post("/v1/visits", {**visit, "date": "2026-01-22"})
    assert r.json()["consumed"] is True
    assert _remaining(api, client) == 7
