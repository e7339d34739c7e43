"""projections/batch.py on both engines: many rows per statement, NULLs and big integers
kept, upserts update, deletes by key touch only that tenant's keys."""

from __future__ import annotations

from classledger.projections.batch import CHUNK, delete_keys, in_keys, insert_many
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
