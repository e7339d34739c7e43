"""Whatever a caller sends, the answer is never a 500, and every error has the one body."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classledger.bootstrap import COMMANDS
from classledger.http.routes import CABINET_ROUTES, READS, TEXT_PARAMS, WRITES, path_params
from tests.http.support import Api, assert_error

FIELDS = sorted({name for spec in COMMANDS.values() for name in spec.args.model_json_schema().get("properties", {})})
SCALARS = (
    st.none() | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # past 64 bits, where orjson switches to floats
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "0", "-1", "12.50", "1e3", "2026-01-31", "2026-02-30", "00000000-0000-0000-0000-000000000000",
                       "active", "cash", "paid", "makeup", "group", "text", "\u0000", "🙂", " " * 3, "9" * 40])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10) | st.sampled_from(FIELDS), inner, max_size=5),
    max_leaves=20,
)
ARGS = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6)
BODIES = ARGS | JSON | st.builds(lambda c, a: {"command": c, "args": a}, st.sampled_from(sorted(COMMANDS)) | st.text(max_size=10), ARGS)
QUERY = st.dictionaries(
    st.sampled_from(["q", "tag", "status", "branch_id", "include", "limit", "cursor", "at", "as_of", "month", "from", "to",
                     "kind", "format", "client_id", "x"]),
    st.text(max_size=30) | st.sampled_from(["active", "archived,deleted", "2026-01", "2026-01-01", "csv", "200", "0"]),
    max_size=4,
)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _ids(api: Api) -> list[str]:
    return [api.branch, str(uuid.uuid4()), "not-an-id", "%20", "..", api.tenant_id.hex]


def _check(r: Any) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert_error(r, r.status_code)


@FUZZ
@given(data=st.data(), body=BODIES, role=st.sampled_from(["admin", "director", "regional_director", "accountant"]))
def test_no_json_body_makes_a_500(api: Api, data: st.DataObject, body: object, role: str) -> None:
    w = data.draw(st.sampled_from(WRITES))
    path = w.path
    for p in path_params(w.path):
        value = quote(data.draw(st.text(min_size=1, max_size=12) if p in TEXT_PARAMS else st.sampled_from(_ids(api))), safe="")
        path = path.replace(f"{{{p}:path}}", value).replace(f"{{{p}}}", value)
    _check(api.send(w.method, path, body, role=role))
    _check(api.post("/v1/commands", body, role=role))


@FUZZ
@given(raw=st.binary(max_size=200) | JSON.map(lambda v: repr(v).encode()),
       path=st.sampled_from(["/v1/clients", "/v1/branches", "/v1/commands", "/v1/lesson-types", "/v1/payments"]))
def test_no_bytes_make_a_500(api: Api, raw: bytes, path: str) -> None:
    _check(api.raw(path, raw, role="director"))
    _check(api.raw(path, b'{"name": "x", "branch_id": "' + api.branch.encode() + b'", "notes": ' + raw + b"}", role="director"))


@FUZZ
@given(data=st.data(), query=QUERY)
def test_no_query_makes_a_500(api: Api, data: st.DataObject, query: dict[str, str]) -> None:
    r = data.draw(st.sampled_from([r for r in READS if not r.public]))
    path = r.path.replace("{id}", data.draw(st.sampled_from(_ids(api))))
    _check(api.get(path, **query))


PROOF_FIELDS = st.sampled_from(["phone", "birth_date", "surname", "invitation", "client_ids", "x"])
CABINET_BODIES = JSON | st.dictionaries(PROOF_FIELDS, JSON | st.sampled_from(["+421 905 111 222", "2016-04-02", "Nováková"]),
                                        max_size=4)


@FUZZ
@given(data=st.data(), body=CABINET_BODIES,
       auth=st.sampled_from(["none", "garbage", "staff", "login"]) | st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20).map(lambda t: "Bearer " + t))
def test_no_cabinet_request_makes_a_500(api: Api, data: st.DataObject, body: object, auth: str) -> None:
    """The parents' routes (DOMAIN §8.2), signed in or not, with any body: never a 500."""
    from classledger.http.throttle import AuthThrottle
    from tests.http.test_family_cabinet_api import signup

    # Each example starts with a clean slate: the wrong secrets of the earlier ones would
    # otherwise get this address throttled (429), and every route would answer only that.
    api.http.app.state.auth_throttle = AuthThrottle()
    route = data.draw(st.sampled_from(CABINET_ROUTES))
    path = route.path.replace("{client_id}", quote(data.draw(st.sampled_from(_ids(api))), safe=""))
    headers = {"none": {}, "garbage": {"Authorization": "Bearer x"}, "staff": api.h("director"),
               "login": {"Authorization": f"Bearer {signup(api)[1]}"}}.get(auth, {"Authorization": auth})
    r = api.http.request(route.method, path, json=body if route.method == "POST" else None, headers=headers)
    _check(r)
