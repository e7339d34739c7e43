"""Every operation of ``/openapi.json``, fuzzed from the schema itself (schemathesis): any
request the schema describes, and many it does not (its negative mode), is answered with
the API's status codes and its one error body, never a server error. Against the real
app, signed in as a school's admin (so that requests get past the key to the code behind
it), on each database.

Bounded for CI: ``CLASSLEDGER_FUZZ_EXAMPLES`` examples per operation (default below:
about 60 s on SQLite and 70 s on PostgreSQL for the hundred operations on a busy 2-CPU
machine, half that on an idle one); raise it for a deeper run
(``CLASSLEDGER_FUZZ_EXAMPLES=300 pytest tests/http/test_schema_fuzz.py``). Every
operation is run and every failure reported, without shrinking (as found).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from classledger.http.app import create_app
from classledger.system import System
from tests.conftest import ENGINES, drop_pg_database, make_pg_database
from tests.http.support import LIMIT, Api

EXAMPLES = int(os.environ.get("CLASSLEDGER_FUZZ_EXAMPLES", "20"))


@pytest.fixture(params=ENGINES)
def school(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Api]:
    url = f"sqlite:///{tmp_path}/classledger.db" if request.param == "sqlite" else make_pg_database()
    system = System.open(url)
    try:
        yield Api(system)
    finally:
        system.close()
        if request.param != "sqlite":
            drop_pg_database(url)


def strategy(operation: Any) -> Any:
    modes = [operation.as_strategy(GenerationMode.POSITIVE)]
    with contextlib.suppress(Exception):  # an operation with nothing to get wrong
        modes.append(operation.as_strategy(GenerationMode.NEGATIVE))
    return st.one_of(modes)


def check(response: Any, case: Any) -> None:
    """Not a server error; an error has the one body (API §3). ``response`` is schemathesis'
    (its headers map to lists of values)."""
    status = response.status_code
    where = f"{case.method} {case.formatted_path} -> {status}: {response.content[:300]!r}"
    assert status < 500, where
    if status >= 400:
        assert response.headers.get("content-type") == ["application/json"], where
        assert _error_code(response), where


def _error_code(response: Any) -> str:
    body = orjson.loads(response.content)
    error = body["error"] if isinstance(body, dict) and set(body) == {"error"} else {}
    ok = set(error) == {"code", "message", "details"} and isinstance(error["details"], dict) and error["message"]
    return str(error["code"]) if ok else ""


def test_no_operation_of_the_schema_answers_a_server_error(school: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(school.system, body_limit=LIMIT))
    headers = {"Authorization": f"Bearer {school.keys['admin']}"}
    failures: dict[str, str] = {}
    operations = 0
    t0 = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        # No shrinking: a failure is reported as found (shrinking one costs minutes).
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy(operation))
        def fuzz(case: Any) -> None:
            check(case.call(headers={**(case.headers or {}), **headers}), case)

        t1 = time.monotonic()
        try:
            fuzz()
        except Exception as e:
            failures[f"{operation.method.upper()} {operation.path}"] = f"{type(e).__name__}: {e}"[:800]
        if os.environ.get("CLASSLEDGER_FUZZ_VERBOSE"):
            print(f"{operation.method.upper()} {operation.path}: {time.monotonic() - t1:.1f} s", flush=True)
    print(f"{operations} operations, {EXAMPLES} examples each, {time.monotonic() - t0:.1f} s")
    assert operations >= 90
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
