"""What a command accepts, every projection can apply (API §2, DOMAIN §1.1, §6.1).

A write that is accepted and that a read model then cannot apply would break every read
that catches the projections up, for every tenant. So each bad input below is refused at
the edge with a 422 and a stable code, nothing is written, and the *other* tenant's reads
keep answering. Run on both databases (PostgreSQL refuses a NUL in text; SQLite stores it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from classledger.aggregates.errors import Invalid
from classledger.application.principal import Principal
from classledger.application.tenants import system_principal
from classledger.http.app import create_app
from classledger.system import System
from tests.http.support import Api, assert_error

BIG = "999999999999999.99"  # the largest EUR amount one command may carry


@pytest.fixture
def a(system: System) -> Api:
    return Api(system, name="School A")


@pytest.fixture
def b(system: System) -> Api:
    return Api(system, name="School B")


def reads_answer(api: Api, client_id: str | None = None) -> None:
    """Every read that catches the projections up still answers."""
    paths = ["/v1/clients", "/v1/ledger/journal", "/v1/ledger/trial-balance", "/v1/reports/active-clients"]
    if client_id:
        paths += [f"/v1/clients/{client_id}", f"/v1/clients/{client_id}/balance"]
    for path in paths:
        r = api.get(path)
        assert r.status_code == 200, (path, r.text)
    r = api.get("/v1/reports/activity", month="2026-01")
    assert r.status_code == 200, r.text


def refused(api: Api, response: Any, type_: str | None = None, code: str = "invalid_args") -> None:
    body = assert_error(response, 422, code)
    if type_ is not None:
        assert type_ in {e["type"] for e in body["details"]["errors"]}, body


# ---- writes that a projection could not apply ---------------------------------------------


def test_a_city_without_letter_or_digit_is_refused_and_breaks_no_one(a: Api, b: Api) -> None:
    # DOMAIN §6.6: a city names receivable accounts; '-' folds to no account key.
    before = b.events()
    refused(b, b.post("/v1/branches", {"name": "X", "city": "-"}, role="director"), "city_without_key")
    assert b.events() == before
    reads_answer(a, a.client())
    reads_answer(b)


def test_a_write_off_in_a_city_without_letter_or_digit_is_a_422(a: Api) -> None:
    client = a.client()
    refused(a, a.post(f"/v1/clients/{client}/write-off", {"city": "-", "reason": "bad debt"}, role="director"),
            "city_without_key")


def test_a_pass_extended_past_the_calendar_is_refused_and_breaks_no_one(a: Api, b: Api) -> None:
    b.post("/v1/lesson-types", {"code": "salsa", "name": "Salsa", "single_visit_price": "10.00"}, role="director")
    template = b.post("/v1/pass-templates", {"name": "8×", "price": "80.00", "lessons": 8, "validity_days": 30,
                                             "lesson_type": "salsa"}, role="director").json()["id"]
    client = b.client()
    sold = b.post("/v1/passes", {"template_id": template, "client_ids": [client], "branch_id": b.branch,
                                 "valid_from": "2026-01-10", "payment": "paid", "method": "cash"})
    assert sold.status_code == 201, sold.text
    before = b.events()
    refused(b, b.post(f"/v1/passes/{sold.json()['id']}/extend", {"valid_until": "9999-12-31"}), "date_out_of_range")
    assert b.events() == before
    reads_answer(a, a.client())
    reads_answer(b, client)


@pytest.mark.parametrize("field", ["name", "notes", "tag", "city", "reason"])
def test_a_nul_in_any_text_is_refused_on_every_database(a: Api, b: Api, field: str) -> None:
    # PostgreSQL cannot store a NUL in text: accepted, it would stop the read models there.
    client = b.client()
    before = b.events()
    if field == "name":
        r = b.post("/v1/clients", {"name": "Eva\u0000", "branch_id": b.branch})
    elif field == "notes":
        r = b.send("PATCH", f"/v1/clients/{client}", {"notes": "call\u0000back"})
    elif field == "tag":
        r = b.post(f"/v1/clients/{client}/tags", {"tag": "vip\u0000"})
    elif field == "city":
        r = b.post("/v1/branches", {"name": "Nová", "city": "Košice\u0000"}, role="director")
    else:
        r = b.post("/v1/corrections", {"client_id": client, "branch_id": b.branch, "amount": "1.00",
                                       "reason": "typo\u0000"}, role="director")
    refused(b, r, "control_character")
    assert b.events() == before
    reads_answer(a, a.client())
    reads_answer(b, client)


def test_line_breaks_stay_welcome_in_notes_but_not_in_names(a: Api) -> None:
    client = a.client(notes="first line\nsecond line\ttabbed")
    assert a.get(f"/v1/clients/{client}").json()["notes"] == "first line\nsecond line\ttabbed"
    refused(a, a.post("/v1/clients", {"name": "Eva\nNováková", "branch_id": a.branch}), "control_character")


@pytest.mark.parametrize("name", ["\u0000", "\u0000\u0000", "\u200b", "\u200b\u200c\ufeff", " \u200b "])
def test_a_name_of_nothing_visible_is_refused(a: Api, name: str) -> None:
    before = a.events()
    r = a.post("/v1/clients", {"name": name, "branch_id": a.branch})
    assert_error(r, 422, "invalid_args")
    assert a.events() == before


# ---- strict forms (API §2) ---------------------------------------------------------------


def test_money_with_spaces_is_refused(a: Api) -> None:
    client = a.client()
    for amount in (" 10.00", "10.00 ", "1 000.00"):
        refused(a, a.post("/v1/payments", {"client_id": client, "amount": amount, "method": "cash",
                                           "branch_id": a.branch}), "money_format")
    assert a.post("/v1/payments", {"client_id": client, "amount": "10.00", "method": "cash",
                                   "branch_id": a.branch}).status_code == 201


@pytest.mark.parametrize("value", ["1e1", " 10", "10.001", "0", "100.01", "-5", "NaN", "Infinity"])
def test_a_percent_is_a_plain_decimal_string(a: Api, value: str) -> None:
    client = a.client()
    r = a.post(f"/v1/clients/{client}/discount", {"kind": "percent", "value": value, "reason": "loyal"}, role="director")
    assert_error(r, 422, "invalid_args")


def test_a_good_percent_is_taken(a: Api) -> None:
    client = a.client()
    for value in ("10", "12.5", "100", "0.01"):
        r = a.post(f"/v1/clients/{client}/discount", {"kind": "percent", "value": value, "reason": "loyal"},
                   role="director")
        assert r.status_code == 200, r.text


@pytest.mark.parametrize("day", ["2026-01-01T00:00:00", "2026-01-01 00:00", "20260101", "2026-1-1", "1899-12-31",
                                 "2200-01-01", "0001-01-01", "9999-12-31", "2026-02-30"])
def test_a_date_is_a_plain_day_within_the_calendar(a: Api, day: str) -> None:
    client = a.client()
    refused(a, a.post(f"/v1/clients/{client}/next-call", {"on": day}))
    refused(a, a.post("/v1/clients", {"name": "Ján", "branch_id": a.branch, "birth_date": day}))


def test_a_date_as_a_number_is_refused(a: Api) -> None:
    client = a.client()
    refused(a, a.post(f"/v1/clients/{client}/next-call", {"on": 0}), "date_format")


def test_the_calendar_edges_are_taken(a: Api) -> None:
    client = a.client()
    for day in ("1900-01-01", "2199-12-31"):
        assert a.post(f"/v1/clients/{client}/next-call", {"on": day}).status_code == 200
    reads_answer(a, client)


# ---- reads -------------------------------------------------------------------------------


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "1899-12", "9999-12"])
def test_a_report_month_outside_the_calendar_is_a_422(a: Api, month: str) -> None:
    assert_error(a.get("/v1/reports/activity", month=month), 422, "invalid_query")


def test_a_report_month_far_ahead_is_a_422(a: Api) -> None:
    body = assert_error(a.get("/v1/reports/activity", month="2110-01"), 422, "month_out_of_range")
    assert body["details"]["month"] == "2110-01"


@pytest.mark.parametrize("param", ["from", "to"])
@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00-05:00"])
def test_journal_days_and_instants_outside_the_calendar_are_a_422(a: Api, param: str, value: str) -> None:
    assert_error(a.get("/v1/ledger/journal", **{param: value}), 422, "invalid_query")


def test_an_instant_outside_the_calendar_is_a_422(a: Api) -> None:
    assert_error(a.get("/v1/ledger/trial-balance", as_of="9999-12-31T23:59:59-12:00"), 422, "invalid_query")
    assert_error(a.get("/v1/reports/active-clients", at="0001-01-01T00:00:00+14:00"), 422, "invalid_query")


@pytest.mark.parametrize("param", ["q", "tag"])
def test_a_nul_in_a_search_is_a_422(a: Api, param: str) -> None:
    a.client()
    assert_error(a.get("/v1/clients", **{param: "Eva\u0000"}), 422, "invalid_query")
    assert a.get("/v1/clients", **{param: "Eva"}).status_code == 200


# ---- near the 64-bit limit (DOMAIN §6.1) ---------------------------------------------------


def pay(api: Api, client: str, amount: str = BIG) -> Any:
    return api.post("/v1/payments", {"client_id": client, "amount": amount, "method": "cash", "branch_id": api.branch})


def test_a_payment_that_would_take_a_balance_past_the_bound_is_refused_before_it_is_written(a: Api) -> None:
    client = a.client()
    for _ in range(10):  # 10 × 999999999999999.99 = 9999999999999999.90, within ±(10^18 − 1) minor units
        assert pay(a, client).status_code == 201
    before = a.events()
    body = assert_error(pay(a, client), 422, "balance_out_of_range")
    assert body["details"]["limit"] == 10**18 - 1
    assert a.events() == before
    reads_answer(a, client)
    assert a.get(f"/v1/clients/{client}/balance").json()["total"] == "-9999999999999999.90"
    # A retry without a key is refused the same way: nothing is paid twice.
    assert_error(pay(a, client), 422, "balance_out_of_range")
    assert a.events() == before


def test_a_correction_past_the_bound_is_refused(a: Api) -> None:
    client = a.client()
    for _ in range(10):
        r = a.post("/v1/corrections", {"client_id": client, "branch_id": a.branch, "amount": BIG, "reason": "x"},
                   role="director")
        assert r.status_code == 201, r.text
    r = a.post("/v1/corrections", {"client_id": client, "branch_id": a.branch, "amount": BIG, "reason": "x"},
               role="director")
    assert_error(r, 422, "balance_out_of_range")
    reads_answer(a, client)


def test_accounts_beyond_64_bits_over_many_clients_still_sum_exactly(a: Api) -> None:
    # Each client stays within the bound, the branch's cash account does not: 100 payments
    # of the largest amount hold 9999999999999999900 minor units, past 2^63 − 1.
    clients = [a.client(f"Client {i}") for i in range(10)]
    for client in clients:
        for _ in range(10):
            assert pay(a, client).status_code == 201
    reads_answer(a, clients[0])
    trial = a.get("/v1/ledger/trial-balance").json()
    cash = [v for k, v in trial["accounts"].items() if k.startswith("assets:cash:")]
    assert cash == ["99999999999999999.00"]
    assert trial["total"] == "0.00"


def test_a_report_decades_after_the_last_event_answers(system: System) -> None:
    # DOMAIN §5.6: a month no event has reached takes the tier of the month before it, back
    # to the last month an event reached. A school whose records end in 1950 still gets the
    # report of a month within the horizon, ten years ahead: over a thousand months between.
    tenant_id = uuid.uuid4()
    sp = system_principal(tenant_id)
    long_ago = datetime(1950, 1, 10, 9, 0, tzinfo=UTC)
    system.execute(sp, "create_tenant", {"name": "Old School", "timezone": "Europe/Bratislava", "currency": "EUR",
                                         "tiers": [["small", 10], ["large", 1000]]}, at=long_ago)
    key = system.execute(sp, "issue_key", {"role": "admin", "staff": "Archivist"}, at=long_ago)["key"]
    http = TestClient(create_app(system), raise_server_exceptions=False)
    today = datetime.now(UTC)
    month = f"{today.year + 10}-{today.month:02d}"
    r = http.get("/v1/reports/activity", params={"month": month}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    assert r.json()["month"] == month


def test_a_whole_number_past_two_to_the_53_is_refused_from_any_caller(a: Api) -> None:
    # JSON over HTTP already stops at ±(2^53 − 1) (I-JSON); the CLI and the importer hand
    # Python numbers straight to the pipeline, where one past 64 bits cannot even be stored.
    director = Principal(a.tenant_id, uuid.uuid4(), "Director", "director")
    a.system.execute(director, "define_custom_field", {"key": "level", "label": "Level", "type": "number"})
    client = a.client()
    before = a.events()
    for value in (2**53, 2**70, -(2**64)):
        with pytest.raises(Invalid) as refused_:
            a.system.execute(director, "update_client", {"client_id": client, "custom_fields": {"level": value}})
        assert refused_.value.details["errors"][0]["type"] == "number_out_of_range"
    with pytest.raises(Invalid):
        a.system.execute(system_principal(uuid.uuid4()), "create_tenant",
                         {"name": "Big", "timezone": "UTC", "currency": "EUR", "tiers": [["huge", 2**70]]})
    assert a.events() == before
    a.system.execute(director, "update_client", {"client_id": client, "custom_fields": {"level": 2**53 - 1}})
    assert a.get(f"/v1/clients/{client}").json()["custom_fields"] == {"level": 2**53 - 1}


def test_a_payment_that_would_take_a_pass_paid_total_past_the_bound_is_refused(a: Api) -> None:
    # DOMAIN §4.8: what was paid for a pass is where its refund starts; it is kept as a total.
    a.post("/v1/lesson-types", {"code": "salsa", "name": "Salsa", "single_visit_price": "10.00"}, role="director")
    template = a.post("/v1/pass-templates", {"name": "8×", "price": "80.00", "lessons": 8, "validity_days": 30,
                                             "lesson_type": "salsa"}, role="director").json()["id"]
    client = a.client()
    sold = a.post("/v1/passes", {"template_id": template, "client_ids": [client], "branch_id": a.branch,
                                 "valid_from": "2026-01-10", "payment": "no_payment"})
    assert sold.status_code == 201, sold.text
    pass_id = sold.json()["id"]
    for _ in range(10):  # the balance goes back to zero after each round; the pass's paid total grows
        r = a.post("/v1/payments", {"client_id": client, "amount": BIG, "method": "cash", "branch_id": a.branch,
                                    "pass_id": pass_id})
        assert r.status_code == 201, r.text
        r = a.post("/v1/corrections", {"client_id": client, "branch_id": a.branch, "amount": BIG, "reason": "x"},
                   role="director")
        assert r.status_code == 201, r.text
    before = a.events()
    r = a.post("/v1/payments", {"client_id": client, "amount": BIG, "method": "cash", "branch_id": a.branch,
                                "pass_id": pass_id})
    assert_error(r, 422, "paid_out_of_range")
    assert a.events() == before
    reads_answer(a, client)
