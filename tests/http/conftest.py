"""The ``api`` fixture: a fresh tenant behind the real app, on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from classledger.system import System
from tests.http.support import Api


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    system = System.open(database_url)
    yield Api(system)
    system.close()
