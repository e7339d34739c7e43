"""The storage-floor bench continues a command's traced values for each copy it replays:
rows sent as one JSON text (PostgreSQL's multi-row writes) stay JSON, value by value."""

from __future__ import annotations

import uuid

import orjson

from bench.bench_floor import continued


def test_numbers_step_on_and_shared_values_stay() -> None:
    assert continued(3, 10, 12) == 18
    assert continued(3, "tenant", "tenant") == "tenant"


def test_ids_are_fresh_for_every_copy_and_keep_their_shape() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    first, second = continued(1, a, b), continued(2, a, b)
    assert first != second
    assert str(uuid.UUID(first)) == first  # dashed, as the id it continues
    assert str(uuid.UUID(second)) == second
    undashed = continued(2, a.replace("-", ""), b.replace("-", ""))
    assert uuid.UUID(undashed).hex == undashed


def test_rows_sent_as_json_text_stay_json_with_their_values_continued() -> None:
    client = str(uuid.uuid4())
    x = orjson.dumps([[str(uuid.uuid4()), client, orjson.dumps({"k": "a:bratislava", "amount": -1000}).decode(), 104]]).decode()
    y = orjson.dumps([[str(uuid.uuid4()), client, orjson.dumps({"k": "b:bratislava", "amount": -1000}).decode(), 105]]).decode()
    rows = orjson.loads(continued(2, x, y))
    (row_id, same_client, inner, version), = rows
    assert uuid.UUID(row_id) not in (uuid.UUID(orjson.loads(x)[0][0]), uuid.UUID(orjson.loads(y)[0][0]))
    assert same_client == client
    assert orjson.loads(inner)["amount"] == -1000
    assert version == 107
