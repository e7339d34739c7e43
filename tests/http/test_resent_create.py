"""API §2: a create re-sent with the same ``id`` and the same args returns the first answer,
whatever ``Idempotency-Key`` the first send or the re-send carried; with other args it is
``409 duplicate_id``. Never ``concurrency_conflict … try again``, which invites a retry loop."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.http.support import Api, assert_error


def _payment(api: Api, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "client_id": api.client(), "amount": "10.00", "method": "cash",
            "branch_id": api.branch, **extra}


def _payments(api: Api) -> list[dict[str, Any]]:
    items = api.get("/v1/ledger/journal", role="accountant", kind="payment").json()["items"]
    return list(items)


def test_a_payment_sent_with_a_key_then_re_sent_by_its_id_gets_the_first_answer(api: Api) -> None:
    body = _payment(api)
    first = api.post("/v1/payments", body, **{"Idempotency-Key": "pay-1"})
    assert first.status_code == 201, first.text
    events = api.events()
    started = time.monotonic()
    again = api.post("/v1/payments", body)  # the client lost the answer and re-sends by id
    assert time.monotonic() - started < 1.0  # answered from the record, not after a retry loop
    assert (again.status_code, again.json()) == (201, first.json())
    other_key = api.post("/v1/payments", body, **{"Idempotency-Key": "pay-1-retry"})
    assert (other_key.status_code, other_key.json()) == (201, first.json())
    assert api.events() == events  # nothing written twice
    assert len(_payments(api)) == 1


def test_a_create_sent_by_id_then_re_sent_with_a_key_gets_the_first_answer(api: Api) -> None:
    body = _payment(api)
    first = api.post("/v1/payments", body)
    again = api.post("/v1/payments", body, **{"Idempotency-Key": "late-key"})
    assert (again.status_code, again.json()) == (201, first.json())
    assert len(_payments(api)) == 1


def test_a_client_registered_with_a_key_then_re_sent_by_its_id(api: Api) -> None:
    body = {"id": str(uuid.uuid4()), "name": "Ema", "branch_id": api.branch}
    first = api.post("/v1/clients", body, **{"Idempotency-Key": "ema"})
    assert first.status_code == 201, first.text
    again = api.post("/v1/clients", body)
    assert (again.status_code, again.json()) == (201, first.json())


def test_the_same_id_with_other_args_is_a_duplicate_not_a_retry(api: Api) -> None:
    body = _payment(api)
    assert api.post("/v1/payments", body, **{"Idempotency-Key": "pay-2"}).status_code == 201
    events = api.events()
    assert_error(api.post("/v1/payments", {**body, "amount": "11.00"}), 409, "duplicate_id")
    assert_error(api.post("/v1/payments", {**body, "amount": "11.00"}, **{"Idempotency-Key": "pay-3"}), 409,
                 "duplicate_id")
    assert api.events() == events
    client = {"id": str(uuid.uuid4()), "name": "Ema", "branch_id": api.branch}
    assert api.post("/v1/clients", client, **{"Idempotency-Key": "ema-2"}).status_code == 201
    events = api.events()
    assert_error(api.post("/v1/clients", {**client, "name": "Emma"}), 409, "duplicate_id")
    assert api.events() == events
