"""Staff actions are audit-readable (API §9; DOMAIN §9.1): ``GET /v1/audit/actions`` lists
who did what — every command's actor, role, command, aggregate and outcome — as the
school's "report of staff actions" does. Refusals are outcomes too: a refused command
writes no event, but it leaves its row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from classledger.aggregates.errors import Refused
from classledger.application.importer import Importer
from classledger.application.tenants import system_principal
from tests.http.support import Api, assert_error


def actions(api: Api, role: str = "accountant", **params: str) -> dict[str, Any]:
    r = api.get("/v1/audit/actions", role=role, **params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_who_did_what_done_and_refused(api: Api) -> None:
    client_id = api.client("Eva Nováková")
    before = api.events()
    refused = api.post("/v1/branches", {"name": "Petržalka", "city": "Bratislava"}, role="admin")
    assert_error(refused, 403, "forbidden_role")
    assert api.events() == before  # the refusal wrote no event...

    page = actions(api)
    assert page["total"] == len(page["items"]) == 1 + 5 + 1 + 1 + 1  # tenant, keys, branch, client, refusal
    assert page["next_cursor"] is None
    tenant, *keys, branch, registered, no = page["items"]
    assert (tenant["command"], tenant["role"], tenant["outcome"]) == ("create_tenant", "system", "done")
    assert [k["command"] for k in keys] == ["issue_key"] * 5
    # A branch is part of the tenant's record: the tenant is the aggregate written.
    assert (branch["actor"], branch["role"], branch["command"], branch["aggregate_id"]) == (
        "director person", "director", "add_branch", str(api.tenant_id))
    assert registered["actor"] == "admin person"
    assert registered["command"] == "register_client"
    assert registered["aggregate_id"] == client_id
    assert registered["outcome"] == "done"
    assert registered["error"] is None
    assert registered["events"] >= 1
    # ...but it is an outcome the log keeps.
    assert no["actor"] == "admin person"
    assert no["command"] == "add_branch"
    assert no["outcome"] == "refused"
    assert no["error"] == {"code": "forbidden_role", "status": 403}
    assert no["events"] == 0
    assert no["notification_id"] is None


def test_a_row_points_at_its_events(api: Api) -> None:
    # The rows are a reading aid; the evidence is the chained events they point at.
    client_id = api.client()
    row = actions(api, actor="admin person")["items"][-1]
    stored = api.system.store.recorder.read_rows(row["notification_id"] - 1, row["events"], tenant_id=api.tenant_id)
    assert [str(r.originator_id) for r in stored][:1] == [client_id]
    assert all(b'"actor":"admin person"' in r.state for r in stored)


def test_filtered_by_actor_and_by_day(api: Api) -> None:
    api.client()
    api.client("Ján Kováč")
    mine = actions(api, actor="admin person")
    assert [i["command"] for i in mine["items"]] == ["register_client", "register_client"]
    assert mine["total"] == 2
    by_id = actions(api, actor=mine["items"][0]["staff_id"])
    assert by_id["items"] == mine["items"]
    assert actions(api, actor="nobody")["items"] == []
    # The school was set up on 2026-01-10 (its own calendar); its branch and clients came later.
    setup = actions(api, **{"from": "2026-01-10", "to": "2026-01-10"})
    assert {i["command"] for i in setup["items"]} == {"create_tenant", "issue_key"}
    assert actions(api, to="2026-01-09")["items"] == []


def test_paged_with_a_cursor(api: Api) -> None:
    for n in range(3):
        api.client(f"Klient {n}")
    everything = actions(api)["items"]
    seen, cursor = [], None
    while True:
        page = actions(api, limit="4", **({"cursor": cursor} if cursor else {}))
        assert page["total"] == len(everything)
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    assert_error(api.get("/v1/audit/actions", role="accountant", cursor="bm90IGEgY3Vyc29y"), 422, "invalid_cursor")
    assert_error(api.get("/v1/audit/actions", role="accountant", limit="0"), 422, "invalid_query")
    # The calendar's edges (1900-01-01 … 2199-12-31, API notes) are no bound at all (and never a 500).
    assert actions(api, **{"from": "1900-01-01", "to": "2199-12-31"})["total"] == len(everything)
    assert_error(api.get("/v1/audit/actions", role="accountant", **{"from": "0001-01-01"}), 422, "invalid_query")


def test_a_retry_is_not_a_second_action(api: Api) -> None:
    body = {"name": "Eva", "branch_id": api.branch}
    first = api.post("/v1/clients", body, **{"Idempotency-Key": "front-desk-42"})
    again = api.post("/v1/clients", body, **{"Idempotency-Key": "front-desk-42"})
    assert first.json() == again.json()
    assert [i["command"] for i in actions(api, actor="admin person")["items"]] == ["register_client"]


def test_refusals_from_the_cli_and_the_importer_are_kept_too(api: Api) -> None:
    # Any entry point: the system principal's refused command is a row like any other...
    missing = "00000000-0000-0000-0000-000000000009"
    with pytest.raises(Refused) as refused:
        api.system.execute(system_principal(api.tenant_id), "archive_client", {"client_id": missing, "reason": "moved"})
    last = actions(api)["items"][-1]
    assert (last["command"], last["outcome"], last["error"]["code"]) == ("archive_client", "refused", refused.value.code)
    assert last["aggregate_id"] == missing
    assert last["reason"] == "moved"
    # ...and so is an imported line that is refused, under the line's actor.
    at = datetime.now(UTC).isoformat()
    summary = Importer(api.system.app, api.tenant_id).run([orjson.dumps(
        {"at": at, "actor": "admin person", "command": "add_branch", "args": {"name": "Sever", "city": "Nitra"}})])
    assert summary.rejected == 1
    last = actions(api)["items"][-1]
    assert (last["actor"], last["command"], last["outcome"]) == ("admin person", "add_branch", "refused")


def test_a_parents_failed_proofs_are_kept_but_throttled_attempts_write_nothing(api: Api) -> None:
    # DOMAIN §8.2: a failed proof is recorded (it counts); once the day's attempts are
    # used up, a further try is held off (429) and leaves no row: a caller being throttled
    # cannot keep writing.
    from classledger.aggregates.cabinet_user import MAX_FAILURES_PER_DAY
    from tests.http.test_family_cabinet_api import ANNA, family, link, signup

    family(api)
    user_id, token = signup(api)
    for _ in range(MAX_FAILURES_PER_DAY):
        assert_error(link(api, token, {**ANNA, "surname": "Kováčová"}), 422, "proof_refused")
    for _ in range(3):
        assert_error(link(api, token, ANNA), 429, "too_many_attempts")
    parent = actions(api, actor=f"cabinet user {user_id}")["items"]
    assert [(i["command"], i["outcome"], i["role"]) for i in parent] == [
        ("redeem_cabinet_invitation", "done", "cabinet_user"),
        *[("link_cabinet_client", "done", "cabinet_user")] * MAX_FAILURES_PER_DAY,
    ]


def test_read_by_directors_and_accountants_only(api: Api) -> None:
    for role in ("director", "regional_director", "accountant"):
        assert api.get("/v1/audit/actions", role=role).status_code == 200
    for role in ("admin", "operator"):
        assert_error(api.get("/v1/audit/actions", role=role), 403, "forbidden_role")
