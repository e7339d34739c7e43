"""The books over HTTP (API §3): payments, cancellation, balances, journal, trial balance."""

from __future__ import annotations

import uuid

from tests.http.support import Api, assert_error


def test_payments_balances_journal_and_trial_balance(api: Api) -> None:
    cid = api.post("/v1/clients", {"name": "Eva", "branch_id": api.branch}).json()["id"]
    assert_error(api.post("/v1/payments", {"client_id": cid, "amount": 20, "method": "cash", "branch_id": api.branch}), 422)
    pay = api.post("/v1/payments", {"client_id": cid, "amount": "20.00", "method": "cash", "branch_id": api.branch})
    assert pay.status_code == 201, pay.text
    before = api.http.get(f"/v1/clients/{cid}/balance", headers=api.h()).json()
    assert (before["total"], before["by_city"]) == ("-20.00", {"Bratislava": "-20.00"})
    assert api.get(f"/v1/clients/{cid}").json()["balance"] == {"total": "-20.00", "by_city": {"Bratislava": "-20.00"}}
    assert_error(api.post(f"/v1/transactions/{pay.json()['id']}/cancel", {"reason": "typo"}), 403, "forbidden_role")
    cancel = api.post(f"/v1/transactions/{pay.json()['id']}/cancel", {"reason": "typo"}, role="director")
    assert cancel.status_code == 200, cancel.text
    assert_error(api.post(f"/v1/transactions/{pay.json()['id']}/cancel", {"reason": "again"}, role="director"), 409, "already_cancelled")
    old = api.get(f"/v1/clients/{cid}/balance", as_of="2000-01-01T00:00:00+00:00").json()
    assert old["total"] == "0.00"
    journal = api.get("/v1/ledger/journal", role="accountant").json()["items"]
    assert [(j["kind"], j["status"]) for j in journal] == [("payment", "cancelled"), ("reversal", "posted")]
    assert {"id", "at", "kind", "status", "reverses", "postings", "actor", "reason"} <= set(journal[0])
    assert api.get("/v1/ledger/journal", status="posted", kind="reversal").json()["items"][0]["reverses"] == pay.json()["id"]
    tb = api.get("/v1/ledger/trial-balance", role="accountant").json()
    assert tb["total"] == "0.00"
    assert_error(api.get("/v1/ledger/journal", format="pdf"), 422)


def test_journal_exports_over_http(api: Api) -> None:
    cid = api.post("/v1/clients", {"name": "Eva", "branch_id": api.branch}).json()["id"]
    api.post("/v1/payments", {"client_id": cid, "amount": "20.00", "method": "bank", "branch_id": api.branch})
    for fmt, media in (("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats"), ("beancount", "text/plain")):
        r = api.get("/v1/ledger/journal", role="accountant", format=fmt)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith(media)
    assert b"Assets:Bank:B-" in api.get("/v1/ledger/journal", format="beancount").content


def test_a_clients_finance_history_exports(api: Api) -> None:
    cid = api.post("/v1/clients", {"name": "Eva", "branch_id": api.branch}).json()["id"]
    other = api.post("/v1/clients", {"name": "Ivan", "branch_id": api.branch}).json()["id"]
    for c in (cid, other):
        api.post("/v1/payments", {"client_id": c, "amount": "20.00", "method": "bank", "branch_id": api.branch})
    items = api.get(f"/v1/clients/{cid}/finance").json()["items"]
    assert [i["client_id"] for i in items] == [cid]
    csv_text = api.get(f"/v1/clients/{cid}/finance", format="csv").text
    assert cid in csv_text
    assert other not in csv_text
    assert api.get(f"/v1/clients/{cid}/finance", format="xlsx").status_code == 200
    assert_error(api.get(f"/v1/clients/{other[:-4]}0000/finance"), 404)


def test_pass_templates_are_a_directors_catalogue(api: Api) -> None:
    """DOMAIN §4.1."""
    api.post("/v1/lesson-types", {"code": "group", "name": "Skupina", "single_visit_price": "12.00"}, role="director")
    body = {"name": "10 lekcií", "price": "120.00", "lessons": 10, "validity_days": 60, "lesson_type": "group", "multi_client": True}
    assert_error(api.post("/v1/pass-templates", body), 403)
    created = api.post("/v1/pass-templates", body, role="director")
    assert created.status_code == 201, created.text
    template = api.system.app.get(uuid.UUID(created.json()["id"]))
    assert (template.price, template.lessons, template.multi_client) == (12000, 10, True)
    assert_error(api.post("/v1/pass-templates", {**body, "price": 120}, role="director"), 422)
    assert_error(api.post("/v1/pass-templates", {**body, "lessons": 0}, role="director"), 422)
    assert_error(api.post("/v1/pass-templates", {**body, "lesson_type": "yoga"}, role="director"), 422, "unknown_lesson_type")
