"""projections/batch.py on both engines: many rows per statement, NULLs and big integers
kept, upserts update, deletes by key touch only that tenant's keys; on PostgreSQL the
same by ``COPY`` as by one JSON text."""

from __future__ import annotations

import pytest

from classledger.projections import batch
from classledger.projections.batch import CHUNK, delete_keys, in_keys, insert_many, update_many
from classledger.store.database import Store


def test_insert_upsert_delete_and_select_by_keys(store: Store) -> None:
    db, d = store.db, store.db.dialect
    head = "INSERT INTO t_batch (tenant_id, k, n, s)"
    types = ("text", "text", "bigint", "text")
    rows = [("a", f"k{i:04d}", i * 10**12 if i % 2 else None, None if i % 3 else f"s'{i}\\\"") for i in range(CHUNK * 2 + 7)]
    with db.write() as tx:
        tx.execute("CREATE TABLE t_batch (tenant_id TEXT NOT NULL, k TEXT NOT NULL, n BIGINT, s TEXT, PRIMARY KEY (tenant_id, k))")
        insert_many(tx, d, head, types, rows)
        insert_many(tx, d, head, types, [("b", "k0001", 1, "other tenant")])
        insert_many(tx, d, head, types, [("a", "k0001", 7, "updated"), ("a", "new", None, None)],
                    "ON CONFLICT (tenant_id, k) DO UPDATE SET n = excluded.n, s = excluded.s")
        insert_many(tx, d, head, types, [])
    with db.read() as tx:
        got = {(r[0], r[1]): (r[2], r[3]) for r in tx.execute("SELECT tenant_id, k, n, s FROM t_batch")}
    assert len(got) == len(rows) + 2
    assert got[("a", "k0003")] == (3 * 10**12, "s'3\\\"")
    assert got[("a", "k0002")] == (None, None)
    assert got[("a", "k0001")] == (7, "updated")
    assert got[("b", "k0001")] == (1, "other tenant")
    with db.write() as tx:
        delete_keys(tx, d, "t_batch", "k", [("a", r[1]) for r in rows])
        where, params = in_keys(d, ["k0001", "new", "absent"])
        left = tx.execute(f"SELECT tenant_id, k FROM t_batch WHERE k {where} ORDER BY tenant_id, k", params)
    assert left == [("a", "new"), ("b", "k0001")]


@pytest.fixture(params=["json", "copy"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways PostgreSQL receives a batch: one JSON text (a live page's few rows) and
    ``COPY`` (a rebuild's page); on SQLite both run the same multi-row statements."""
    if request.param == "copy":
        monkeypatch.setattr(batch, "PG_COPY_MIN", 1)
        monkeypatch.setattr(batch, "_CONFLICTED", set())
    return str(request.param)


AWKWARD = ["tab\there", "line\nbreak", "back\\slash", "\\N", "", "Žofia Ďurčová ✓", "quote ' \" end", None]


def test_values_arrive_as_sent_whichever_way(store: Store, way: str) -> None:
    """Texts with tabs, line breaks, backslashes, ``\\N``, empty and non-ASCII, NULLs and
    big integers come back as they were sent, by ``COPY`` as by the JSON text."""
    db, d = store.db, store.db.dialect
    head = "INSERT INTO t_way (tenant_id, k, n, s)"
    rows = [("a", f"k{i}", (-1) ** i * 9 * 10**15 if i % 3 else None, s) for i, s in enumerate(AWKWARD)]
    with db.write() as tx:
        tx.execute("CREATE TABLE t_way (tenant_id TEXT NOT NULL, k TEXT NOT NULL, n BIGINT, s TEXT, PRIMARY KEY (tenant_id, k))")
        insert_many(tx, d, head, ("text", "text", "bigint", "text"), rows)
    with db.read() as tx:
        got = tx.execute("SELECT tenant_id, k, n, s FROM t_way")
    assert sorted(got, key=lambda r: r[1]) == sorted(rows, key=lambda r: r[1])


def test_a_conflict_clause_acts_the_same_whichever_way(store: Store, way: str) -> None:
    """``DO NOTHING`` keeps the row already there, and of two rows of one key in a batch the
    first; ``DO UPDATE`` updates the row there; a batch meeting no taken key loads whole;
    and the statement's table alone is written (another tenant's row stays)."""
    db, d = store.db, store.db.dialect
    head = "INSERT INTO t_conflict (tenant_id, k, s)"
    types = ("text", "text", "text")
    nothing = "ON CONFLICT (tenant_id, k) DO NOTHING"
    with db.write() as tx:
        tx.execute("CREATE TABLE t_conflict (tenant_id TEXT NOT NULL, k TEXT NOT NULL, s TEXT, PRIMARY KEY (tenant_id, k))")
        insert_many(tx, d, head, types, [("a", "old", "there"), ("b", "dup", "other tenant")])
        insert_many(tx, d, head, types, [("a", "fresh1", "1"), ("a", "fresh2", "2")], nothing)  # nothing taken
        insert_many(tx, d, head, types, [("a", "dup", "first"), ("a", "old", "again"), ("a", "dup", "second")], nothing)
        insert_many(tx, d, head, types, [("a", "fresh3", "3")], nothing)  # after a conflict: the clause's way
        insert_many(tx, d, head, types, [("a", "fresh1", "one"), ("a", "up", "new")],
                    "ON CONFLICT (tenant_id, k) DO UPDATE SET s = excluded.s")
    with db.read() as tx:
        got = {(t, k): s for t, k, s in tx.execute("SELECT tenant_id, k, s FROM t_conflict")}
    assert got == {("a", "old"): "there", ("b", "dup"): "other tenant", ("a", "fresh1"): "one", ("a", "fresh2"): "2",
                   ("a", "dup"): "first", ("a", "fresh3"): "3", ("a", "up"): "new"}


def test_updates_by_key_whichever_way(store: Store, way: str) -> None:
    """``update_many`` sets, adds and leaves unchanged rows alone, by a staged ``COPY`` as by
    the JSON text; keys absent from the table change nothing."""
    db, d = store.db, store.db.dialect
    keys = (("tenant_id", "text"), ("k", "text"))
    with db.write() as tx:
        tx.execute("CREATE TABLE t_upd2 (tenant_id TEXT NOT NULL, k TEXT NOT NULL, n BIGINT NOT NULL, s TEXT, "
                   "PRIMARY KEY (tenant_id, k))")
        insert_many(tx, d, "INSERT INTO t_upd2 (tenant_id, k, n, s)", ("text", "text", "bigint", "text"),
                    [("a", "x", 1, "one"), ("a", "y", 2, "two"), ("b", "x", 3, None)])
        update_many(tx, d, "t_upd2", keys, (("n", "bigint"),), [("a", "x", 10), ("b", "x", -3), ("a", "gone", 5)], add=True)
        update_many(tx, d, "t_upd2", keys, (("s", "text"),), [("a", "y", "two"), ("b", "x", "tab\tthree")],
                    only_changed=True)
        update_many(tx, d, "t_upd2", keys, (("s", "text"),), [("a", "x", None)])
    with db.read() as tx:
        got = tx.execute("SELECT tenant_id, k, n, s FROM t_upd2 ORDER BY tenant_id, k")
    assert got == [("a", "x", 11, None), ("a", "y", 2, "two"), ("b", "x", 0, "tab\tthree")]
