"""The audit over HTTP (API §9, DOMAIN §9.3, §9.4): the chain's head, and a verify against
the head an auditor kept."""

from __future__ import annotations

from tests.http.support import Api, assert_error


def test_verify_answers_the_head_and_checks_a_kept_one(api: Api) -> None:
    first = api.get("/v1/audit/verify", role="accountant").json()
    assert first["ok"] is True
    assert set(first["head"]) == {"notification_id", "hash"}
    kept = first["head"]["hash"]

    api.client()  # the school keeps working
    later = api.get("/v1/audit/verify", role="accountant", expect_head=kept).json()
    assert later["ok"] is True
    assert later["expected_head"] == {"hash": kept, "found": True, "notification_id": first["head"]["notification_id"],
                                      "events_after": later["events_checked"] - first["events_checked"]}

    elsewhere = api.get("/v1/audit/verify", expect_head="ab" * 32).json()
    assert elsewhere["ok"] is False
    assert elsewhere["expected_head"]["found"] is False


def test_a_malformed_expected_head_is_a_422(api: Api) -> None:
    assert_error(api.get("/v1/audit/verify", expect_head="xyz"), 422, "invalid_query")
    assert_error(api.get("/v1/audit/verify", expect_head="ab" * 31), 422, "invalid_query")
