"""``create_pass_template`` takes ``validity_days`` or ``validity_months``, exactly one (API §6,
DOMAIN §4.1), through the real app on both databases."""

from __future__ import annotations

from tests.http.support import Api, assert_error


def test_a_monthly_pass_sold_on_31_january_runs_to_the_end_of_february(api: Api) -> None:
    api.post("/v1/lesson-types", {"code": "group", "name": "Skupina", "single_visit_price": "10.00"}, role="director")
    r = api.post("/v1/pass-templates", {"name": "Mesačná", "price": "50.00", "lessons": 8, "validity_months": 1,
                                        "lesson_type": "group"}, role="director")
    assert r.status_code == 201, r.text
    client = api.client()
    sale = api.post("/v1/passes", {"template_id": r.json()["id"], "client_ids": [client], "branch_id": api.branch,
                                   "valid_from": "2026-01-31", "payment": "on_credit"})
    assert sale.status_code == 201, sale.text
    (held,) = api.get(f"/v1/clients/{client}").json()["passes"]
    assert (held["valid_from"], held["valid_until"]) == ("2026-01-31", "2026-02-28")


def test_a_template_gives_its_validity_one_way(api: Api) -> None:
    api.post("/v1/lesson-types", {"code": "group", "name": "Skupina", "single_visit_price": "10.00"}, role="director")
    base = {"name": "X", "price": "50.00", "lessons": 8, "lesson_type": "group"}
    before = api.events()
    assert_error(api.post("/v1/pass-templates", base, role="director"), 422, "validity_required")
    assert_error(api.post("/v1/pass-templates", {**base, "validity_days": 30, "validity_months": 1}, role="director"),
                 422, "validity_required")
    assert_error(api.post("/v1/pass-templates", {**base, "validity_months": 0}, role="director"), 422)
    assert api.events() == before
