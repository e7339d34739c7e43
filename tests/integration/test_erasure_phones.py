"""An erased client's phone numbers go back to the pool (DOMAIN §2.3, §2.9), on both databases."""

from __future__ import annotations

import pytest

from classledger.aggregates.errors import Conflict
from classledger.system import System
from tests.integration.test_clients import School


def test_an_erased_clients_number_can_be_taken_by_someone_else(system: System) -> None:
    s = School(system, unique_phones=True)
    first = s.client("Ida Kask", phones=["0905 111 222"])
    with pytest.raises(Conflict) as taken:
        s.client("Someone Else", phones=["0905 111 222"])
    assert taken.value.code == "phone_taken"
    s.run("erase_client", {"client_id": first, "reason": "request 12"}, s.director)
    other = s.client("Someone Else", phones=["0905 111 222"])
    assert s.card(other)["phones"] == ["0905 111 222"]
    assert s.card(first)["phones"] == []
