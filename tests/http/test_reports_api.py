"""Reports and the audit over HTTP (API §3, DOMAIN §5, §9.3)."""

from __future__ import annotations

from tests.http.support import Api, assert_error


def test_active_clients_at_an_instant(api: Api) -> None:
    api.client()
    r = api.get("/v1/reports/active-clients", at="2026-01-11T00:00:00+01:00")
    assert r.status_code == 200, r.text
    assert r.json() == {"at": "2026-01-11T00:00:00+01:00", "active": 0, "inactive": 1}
    assert set(api.get("/v1/reports/active-clients", role="accountant").json()) == {"at", "active", "inactive"}


def test_activity_report_of_a_month(api: Api) -> None:
    rep = api.get("/v1/reports/activity", month="2026-01").json()
    assert set(rep) >= {"month", "peak", "peak_day", "end_of_month", "tier", "days"}
    assert rep["month"] == "2026-01"
    assert len(rep["days"]) == 31


def test_audit_verify(api: Api) -> None:
    api.client()
    r = api.get("/v1/audit/verify", role="accountant").json()
    assert r["ok"] is True
    assert r["events_checked"] == api.events()


def test_the_journal_accepts_days_and_instants(api: Api) -> None:
    cid = api.client()
    api.post("/v1/payments", {"client_id": cid, "amount": "20.00", "method": "cash", "branch_id": api.branch})
    everything = api.get("/v1/ledger/journal").json()["items"]
    assert len(everything) == 1
    day = everything[0]["at"][:10]
    assert len(api.get("/v1/ledger/journal", **{"from": day, "to": day}).json()["items"]) == 1
    assert api.get("/v1/ledger/journal", to="2000-01-01").json()["items"] == []
    assert api.get("/v1/ledger/journal", **{"from": "2199-01-01T00:00:00Z"}).json()["items"] == []
    assert len(api.get("/v1/ledger/journal", client_id=cid).json()["items"]) == 1
    assert_error(api.get("/v1/ledger/journal", client_id="me"), 422, "invalid_query")
