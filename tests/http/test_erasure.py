"""Erasure and access (DOMAIN §2.8–§2.9, API §9) through the real app, on both databases.

A client's personal data is stored only sealed with the client's own key; erasing the
client destroys the key and empties every read model, after which the raw database files
hold none of it, while every amount, date and id (the books, the activity, the peak)
stays exactly as it was.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from classledger.projections.verify import verify
from classledger.system import System
from tests.http.support import Api, assert_error

# Every personal value of the client, as written and as the read models fold or strip it.
ZUZANA = {
    "name": "Zuzana Qwertyová",
    "phones": ["0905 713 529", "+421 944 271 863"],
    "email": "zuzana.qwerty@example.sk",
    "birth_date": "2011-07-19",
    "card_number": "CARD-QX-7731",
    "photo": "photos/qx-zuzana.jpg",
    "notes": "allergic to Xyzzy nuts",
    "preferences": {"seat": "window-qx"},
    "consents": {"marketing": True, "photos": False},
    "tags": ["vip-qx"],
}
PERSONAL_TEXT = [
    "Zuzana", "Qwerty", "qwerty", "zuzana qwertyova", "0905 713 529", "0905713529", "944 271 863", "944271863",
    "zuzana.qwerty@example.sk", "2011-07-19", "CARD-QX-7731", "card-qx-7731", "photos/qx-zuzana.jpg",
    "Xyzzy", "window-qx", "vip-qx", "rana-qx", "moved to Qx-town",
]


def raw_storage(system: System) -> bytes:
    """Every byte of the database's files: SQLite's file and its WAL; PostgreSQL's data
    files of every relation of the database (tables, TOAST, indexes) after a checkpoint."""
    store = system.store
    if store.dialect == "sqlite":
        path = Path(store.env["SQLITE_DBNAME"])
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    url = store.url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        data_dir = Path(conn.execute("SHOW data_directory").fetchone()[0])  # type: ignore[index]
        files = [r[0] for r in conn.execute(
            "SELECT pg_relation_filepath(oid) FROM pg_class WHERE relkind IN ('r', 'i', 't') "
            "AND pg_relation_filepath(oid) IS NOT NULL")]
    out = []
    for f in files:
        for p in sorted(data_dir.glob(f + "*")):
            out.append(p.read_bytes())
    return b"".join(out)


def _found(raw: bytes, values: list[str]) -> list[str]:
    return [v for v in values if v.encode() in raw]


def _books(api: Api, cid: str, month: str, at: str) -> dict[str, Any]:
    """Everything with an amount, a date or an id that erasure must leave as it is."""
    reads = {
        "balance": api.get(f"/v1/clients/{cid}/balance", as_of=at),
        "finance": api.get(f"/v1/clients/{cid}/finance"),
        "journal": api.get("/v1/ledger/journal"),
        "journal_csv": api.get("/v1/ledger/journal", format="csv"),
        "trial_balance": api.get("/v1/ledger/trial-balance", as_of=at),
        "activity": api.get("/v1/reports/activity", month=month),
        "active": api.get("/v1/reports/active-clients", at=at),
    }
    for name, r in reads.items():
        assert r.status_code == 200, (name, r.text)
    return {k: (r.text if k == "journal_csv" else r.json()) for k, r in reads.items()}


def _school_with_money(api: Api) -> tuple[str, str, str]:
    """Zuzana with a pass, a payment, a visit, a registration, a family and a cabinet link."""
    today = datetime.now(UTC).date()
    mum = api.client("Mama Nováková", phones=["0905 000 001"])
    cid = api.client(**ZUZANA, parent_id=mum)  # type: ignore[arg-type]
    assert api.post(f"/v1/clients/{cid}/waitlist", {"comment": "rana-qx"}).status_code == 200
    api.post("/v1/lesson-types", {"code": "group", "name": "Group", "single_visit_price": "15.00"}, role="director")
    tpl = api.post("/v1/pass-templates", {"name": "Group 10", "price": "120.00", "lessons": 10, "validity_days": 60,
                                          "lesson_type": "group"}, role="director").json()["id"]
    assert api.post("/v1/passes", {"template_id": tpl, "client_ids": [cid], "branch_id": api.branch,
                                   "valid_from": today.isoformat(), "payment": "on_credit"}).status_code == 201
    assert api.post("/v1/payments", {"client_id": cid, "amount": "50.00", "method": "cash",
                                     "branch_id": api.branch}).status_code == 201
    assert api.post("/v1/visits", {"client_id": cid, "lesson_type": "group", "date": today.isoformat(),
                                   "status": "attended"}).status_code == 201
    course = api.post("/v1/courses", {"name": "Ballet", "lesson_type": "group"}).json()["id"]
    group = api.post("/v1/groups", {"course_id": course, "branch_id": api.branch, "name": "Mon", "capacity": 5,
                                    "starts_on": today.isoformat(),
                                    "ends_on": (today + timedelta(days=90)).isoformat()}).json()["id"]
    assert api.post("/v1/registrations", {"client_id": cid, "group_id": group}).status_code == 201
    link = api.post(f"/v1/clients/{cid}/cabinet-link", {})
    assert link.status_code == 201, link.text
    return cid, mum, link.json()["token"]


def test_erasure_leaves_no_personal_data_in_the_raw_storage_and_the_books_unchanged(api: Api) -> None:
    """DOMAIN §2.8–§2.9, API §9: after ``erase_client`` nothing personal of the client is
    left in the database's files; balances, journal, exports, activity and peak are equal
    to the cent; the hash chain verifies; a rebuild gives the same tables."""
    cid, mum, token = _school_with_money(api)
    # Details that changed, and reasons that may say more than they should.
    assert api.send("PATCH", f"/v1/clients/{cid}", {"custom_fields": {}, "notes": "allergic to Xyzzy nuts!"}).status_code == 200
    assert api.post(f"/v1/clients/{cid}/freeze", {"from": "2030-01-01", "to": "2030-01-02",
                                                  "reason": "moved to Qx-town"}).status_code == 200
    month, at = datetime.now(UTC).strftime("%Y-%m"), datetime.now(UTC).isoformat()
    before = _books(api, cid, month, at)
    # The events were sealed from the start: the personal data was never in the log in clear.
    events = b"".join(bytes(r[0]) for r in api.system.store.db.query("SELECT state FROM events"))
    assert _found(events, PERSONAL_TEXT) == []
    # ...but the read models held it, and the raw files did.
    assert "Zuzana" in api.get(f"/v1/clients/{cid}").json()["name"]
    key = bytes(api.system.store.db.query("SELECT key FROM client_keys WHERE client_id = ?", (cid,))[0][0])
    assert _found(raw_storage(api.system), ["zuzana qwertyova", "0905713529"]) != []

    assert_error(api.post(f"/v1/clients/{cid}/erase", {}, role="director"), 422)  # a reason is required
    assert_error(api.post(f"/v1/clients/{cid}/erase", {"reason": "GDPR request 2026/17"}), 403)  # directors only
    erased = api.post(f"/v1/clients/{cid}/erase", {"reason": "GDPR request 2026/17"}, role="director")
    assert erased.status_code == 200, erased.text

    raw = raw_storage(api.system)
    assert _found(raw, PERSONAL_TEXT) == []
    assert key not in raw
    print(f"\n[{api.system.store.dialect}] raw storage after erasure: {len(raw)} bytes searched, "
          f"{len(PERSONAL_TEXT)} personal values and the client's key: none found")

    card = api.get(f"/v1/clients/{cid}").json()
    assert card["erased"] is True
    assert card["name"] is None
    assert (card["phones"], card["email"], card["birth_date"], card["card_number"]) == ([], None, None, None)
    assert (card["notes"], card["photo"], card["consents"], card["custom_fields"], card["tags"]) == (None, None, {}, {}, [])
    assert card["family"] == {"parent_id": None, "member_ids": []}
    assert api.get(f"/v1/clients/{mum}").json()["family"]["member_ids"] == []
    history = api.get(f"/v1/clients/{cid}/history").json()["items"]
    assert history[-1]["type"] == "ClientErased"
    assert all(h["erased"] for h in history if h["aggregate_id"] == cid)
    assert "Zuzana" not in str(history)
    assert "Xyzzy" not in str(history)
    assert [c["id"] for c in api.get("/v1/clients").json()["items"]] == [mum]
    for query in ("Qwerty", "0905 713", "zuzana.qwerty", "CARD-QX"):
        assert api.get("/v1/clients", q=query).json()["items"] == []
    assert api.get("/v1/clients", tag="vip-qx").json()["items"] == []
    assert api.http.get(f"/cabinet/{token}").status_code == 404  # the cabinet link is dropped

    after = _books(api, cid, month, at)
    # The peak's clients are the same; the erased one no longer has a name to show.
    assert [c["name"] for c in after["activity"]["peak_clients"] if c["id"] == cid] == [None]
    for report in (before, after):
        for c in report["activity"]["peak_clients"]:
            c.pop("name")
    assert after == before
    assert api.get("/v1/audit/verify").json()["ok"] is True
    result = verify(api.system.store, _projections(api.system))
    assert result.ok, result.as_json()

    # Read-only from now on, and only once.
    assert_error(api.send("PATCH", f"/v1/clients/{cid}", {"name": "Zuzana again"}), 409, "client_erased")
    assert_error(api.post(f"/v1/clients/{cid}/erase", {"reason": "again"}, role="director"), 409, "already_erased")
    # A new process (nothing cached) reads the client the same way.
    again = System.open(api.system.store.url)
    try:
        state = again.app.get(uuid.UUID(cid))
        assert state.erased
        assert (state.name, state.phones, state.email) == ("", (), None)
    finally:
        again.close()


def _projections(system: System) -> list[str]:
    return sorted(v.name for v in system.views.values())


def test_the_export_holds_everything_the_card_shows_decrypted(api: Api) -> None:
    """DOMAIN §2.9 access, API §9: ``GET /v1/clients/{id}/export`` answers the card (every
    field of it), the client's history and their transactions, personal data in clear."""
    cid, _mum, _token = _school_with_money(api)
    card = api.get(f"/v1/clients/{cid}").json()
    export = api.get(f"/v1/clients/{cid}/export")
    assert export.status_code == 200, export.text
    body = export.json()
    assert set(body) >= {"client_id", "exported_at", "card", "history", "finance"}
    assert set(body["card"]) == set(card)
    for field, value in card.items():
        if field not in ("active",):
            assert body["card"][field] == value, field
    for field in ("name", "phones", "email", "birth_date", "card_number", "photo", "notes", "preferences", "tags"):
        assert body["card"][field] == ZUZANA[field], field
    assert {k: v["given"] for k, v in body["card"]["consents"].items()} == ZUZANA["consents"]
    types = [h["type"] for h in body["history"]]
    assert types[0] == "ClientRegistered"
    assert "PassSold" in types
    assert body["history"][0]["data"]["name"] == ZUZANA["name"]
    assert [t["kind"] for t in body["finance"]] == ["sale", "payment", *[t["kind"] for t in body["finance"][2:]]]
    assert_error(api.get(f"/v1/clients/{uuid.uuid4()}/export"), 404)
    # After erasure the export still answers, with what is left: ids, dates and amounts.
    assert api.post(f"/v1/clients/{cid}/erase", {"reason": "GDPR request"}, role="director").status_code == 200
    after = api.get(f"/v1/clients/{cid}/export").json()
    assert after["card"]["erased"] is True
    assert after["card"]["name"] is None
    assert after["finance"] == body["finance"]
    assert "Qwerty" not in str(after)


def test_a_parents_login_no_longer_reaches_an_erased_child(api: Api) -> None:
    """DOMAIN §2.9, §8.2: the family cabinet drops the erased client; its proof no longer
    names anyone, and the sibling stays linked."""
    from tests.http.test_family_cabinet_api import ANNA, PETER, family, link, me, signup

    kids = family(api)
    user_id, token = signup(api)
    assert link(api, token, ANNA).status_code == 201
    assert link(api, token, PETER).status_code == 201
    assert [c["id"] for c in me(api, token)["clients"]] == [kids["anna"], kids["peter"]]
    assert api.post(f"/v1/clients/{kids['anna']}/erase", {"reason": "GDPR request 7"}, role="director").status_code == 200
    assert [c["id"] for c in me(api, token)["clients"]] == [kids["peter"]]
    assert api.get(f"/v1/cabinet-users/{user_id}").json()["client_ids"] == [kids["peter"]]  # the front desk's view
    assert link(api, token, ANNA).status_code != 201
    raw = raw_storage(api.system)
    assert _found(raw, ["Anna Nov", "anna novakova"]) == []  # (the stranger shares her birth date)


def test_another_process_that_held_the_key_shows_no_erased_data(api: Api) -> None:
    """DOMAIN §2.9 with several processes (``serve --workers``): one erases, another that
    had read the client (and kept its key) reads the history without the personal data."""
    cid = api.client(**ZUZANA)  # type: ignore[arg-type]
    other = System.open(api.system.store.url)
    try:
        assert other.app.history(uuid.UUID(cid))[0].name == ZUZANA["name"]  # type: ignore[attr-defined]
        assert api.post(f"/v1/clients/{cid}/erase", {"reason": "GDPR request"}, role="director").status_code == 200
        events = other.app.history(uuid.UUID(cid))
        assert type(events[-1]).__name__ == "ClientErased"
        assert "Zuzana" not in str([e.payload() for e in events])
        assert other.app.get(uuid.UUID(cid)).erased
    finally:
        other.close()
