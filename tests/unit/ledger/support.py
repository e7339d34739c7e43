"""Shared ids, instants and hypothesis strategies for the ledger's unit tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from classledger.ledger.currency import MINOR_UNITS
from classledger.ledger.money import max_major_digits

AT = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
LATER = AT + timedelta(days=1)
CLIENT = uuid.UUID("00000000-0000-4000-8000-000000000001")
OTHER_CLIENT = uuid.UUID("00000000-0000-4000-8000-000000000002")
BRANCH = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
PASS = uuid.UUID("00000000-0000-4000-8000-0000000000a1")

CURRENCIES = sorted(MINOR_UNITS)
CITIES = ["Bratislava", "Košice", "Nové Zámky", "Pärnu", "Łódź", "Москва"]


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def max_minor(currency: str) -> int:
    """The largest amount ``Money.parse`` accepts in ``currency``, in minor units."""
    digits: int = max_major_digits(currency) + MINOR_UNITS[currency]
    return int(10**digits) - 1


currencies = st.sampled_from(CURRENCIES)
cities = st.sampled_from(CITIES)
methods = st.sampled_from(["cash", "card", "bank"])
amounts = st.integers(min_value=1, max_value=10**12)
prices = st.integers(min_value=0, max_value=10**10)
