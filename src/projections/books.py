"""The books: the journal, client balances as of any instant, the trial balance (DOMAIN §6).

Every posting is a row with its instant. A client's balance as of t is one indexed sum
over ``(tenant_id, client_id, at_us)``, so it stays fast however many transactions the
client has (the index covers the sum: an index-only scan); the trial balance as of t is
a range of the postings themselves, which are kept in time order. Cities: receivable accounts carry a stable key of the city's name; the
branches give the names back for display.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import orjson

from classledger.aggregates.books import TransactionCancelled, TransactionPosted
from classledger.aggregates.tenant import BranchAdded, TenantCreated
from classledger.instants import iso, parse_us
from classledger.ledger.accounts import as_receivable, city_key
from classledger.ledger.money import format_minor
from classledger.projections.paging import DEFAULT_LIMIT, decode_cursor, sql_page
from classledger.projections.runtime import EventRecord, QueuedProjection, handles
from classledger.store.database import Tx

_TX_TYPES = ("text", "text", "bigint", "text", "text", "text", "text", "text", "text", "text", "text", "text", "text",
             "bigint")
_POSTING_TYPES = ("text", "text", "integer", "text", "bigint", "text", "text", "bigint")
PAYMENT_KINDS = ("payment", "refund")  # on a statement, what the client paid (or was paid back)


class Books(QueuedProjection):
    name = "books"
    # 2: the covering index of client balances. 3: fewer pages written per posting (every
    # page a commit writes costs it a WAL frame): transactions and postings are stored in
    # time order, appended at the right edge, on SQLite as the table itself (clustered);
    # the balance index holds only the postings that have a client.
    version = 3
    weight = 4
    tables = {
        "tenants": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT PRIMARY KEY, currency TEXT NOT NULL)",
        "cities": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, city_key TEXT NOT NULL, city TEXT NOT NULL, PRIMARY KEY (tenant_id, city_key))",
        "transactions": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, tx_id TEXT NOT NULL, at_us BIGINT NOT NULL, "
            "kind TEXT NOT NULL, status TEXT NOT NULL, reverses TEXT, cancelled_by TEXT, client_id TEXT, actor TEXT NOT NULL, "
            "reason TEXT, memo TEXT, related TEXT NOT NULL, postings TEXT NOT NULL, seq BIGINT NOT NULL, "
            "PRIMARY KEY (tenant_id, at_us, seq)){clustered}"
        ),
        "postings": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, tx_id TEXT NOT NULL, n INTEGER NOT NULL, "
            "account TEXT NOT NULL, amount BIGINT NOT NULL, client_id TEXT, city_key TEXT, at_us BIGINT NOT NULL, "
            "PRIMARY KEY (tenant_id, at_us, tx_id, n)){clustered}"
        ),
    }
    indexes = [
        # A cancellation finds its transaction by id.
        "CREATE UNIQUE INDEX IF NOT EXISTS {t_transactions}_by_id ON {t_transactions} (tenant_id, tx_id)",
        # Covering: an as-of balance is an index-only range sum, never touching the table.
        # Only client postings: a balance always names its client.
        "CREATE INDEX IF NOT EXISTS {t_postings}_by_client ON {t_postings} (tenant_id, client_id, at_us, city_key, amount) "
        "WHERE client_id IS NOT NULL",
    ]
    applies_through = frozenset({"{t_transactions}_by_id"})

    @handles(TenantCreated)
    def _tenant(self, tx: Tx, ev: EventRecord) -> None:
        self._queue.add(f"INSERT INTO {self.t('tenants')} (tenant_id, currency)", ("text", "text"),
                        (str(ev.tenant_id), ev.data["currency"]), "ON CONFLICT (tenant_id) DO NOTHING")

    @handles(BranchAdded)
    def _branch(self, tx: Tx, ev: EventRecord) -> None:
        city = ev.data["city"]
        self._queue.add(f"INSERT INTO {self.t('cities')} (tenant_id, city_key, city)", ("text", "text", "text"),
                        (str(ev.tenant_id), city_key(city), city), "ON CONFLICT (tenant_id, city_key) DO NOTHING")

    @handles(TransactionPosted)
    def _posted(self, tx: Tx, ev: EventRecord) -> None:
        t = ev.data["transaction"]
        at_us = parse_us(t["at"])
        tenant = str(ev.tenant_id)
        self._queue.add(
            f"INSERT INTO {self.t('transactions')} (tenant_id, tx_id, at_us, kind, status, reverses, cancelled_by, "
            "client_id, actor, reason, memo, related, postings, seq)", _TX_TYPES,
            (tenant, t["id"], at_us, t["kind"], "posted", t.get("reverses"), None, t.get("client_id"), ev.data["actor"],
             ev.data.get("reason"), t.get("memo"), orjson.dumps(t.get("related", [])).decode(),
             orjson.dumps(t["postings"]).decode(), ev.id),
        )
        head = f"INSERT INTO {self.t('postings')} (tenant_id, tx_id, n, account, amount, client_id, city_key, at_us)"
        for n, p in enumerate(t["postings"]):
            r = as_receivable(p["account"])
            self._queue.add(head, _POSTING_TYPES, (tenant, t["id"], n, p["account"], p["amount"],
                                                   str(r.client_id) if r else None, r.city if r else None, at_us))

    @handles(TransactionCancelled)
    def _cancelled(self, tx: Tx, ev: EventRecord) -> None:
        # ``_sql`` sends the queue first: the transaction may be queued still.
        self._sql(tx, f"UPDATE {self.t('transactions')} SET status = 'cancelled', cancelled_by = ? "
                  "WHERE tenant_id = ? AND tx_id = ?", (ev.data["reversal_id"], str(ev.tenant_id), str(ev.aggregate_id)))

    # ---- queries ----------------------------------------------------------------------

    def currency(self, tx: Tx, tenant_id: UUID) -> str:
        row = tx.one(f"SELECT currency FROM {self.t('tenants')} WHERE tenant_id = ?", (str(tenant_id),))
        return row[0] if row else "EUR"

    def tenant_currency(self, tenant_id: UUID) -> str:
        with self.db.read() as tx:
            return self.currency(tx, tenant_id)

    def balance(self, tenant_id: UUID, client_id: UUID, *, as_of: int) -> dict[str, Any]:
        """DOMAIN §6.5: positive = the client owes; per city and in total, as of any instant."""
        with self.db.read() as tx:
            # Sum first (an index-only range scan), then name the few cities.
            rows = tx.execute(
                f"SELECT s.city_key, COALESCE(c.city, s.city_key), s.hi, s.lo FROM (SELECT city_key, {_SPLIT_SUM} "
                f"FROM {self.t('postings')} WHERE tenant_id = ? AND client_id = ? AND at_us <= ? GROUP BY city_key) s "
                f"LEFT JOIN {self.t('cities')} c ON c.tenant_id = ? AND c.city_key = s.city_key ORDER BY s.city_key",
                (str(tenant_id), str(client_id), as_of, str(tenant_id)),
            )
            cur = self.currency(tx, tenant_id)
        by_city = {name: _joined(hi, lo) for _, name, hi, lo in rows if _joined(hi, lo) != 0}
        return {"total": format_minor(sum(by_city.values()), cur), "by_city": {k: format_minor(v, cur) for k, v in by_city.items()}}

    def balances(self, tenant_id: UUID, client_ids: list[str], *, as_of: int) -> dict[str, dict[str, Any]]:
        """``balance`` for a page of clients, in one statement."""
        sums: dict[str, dict[str, int]] = {c: {} for c in client_ids}
        if client_ids:
            marks = ", ".join("?" * len(client_ids))
            with self.db.read() as tx:
                rows = tx.execute(
                    f"SELECT s.client_id, COALESCE(c.city, s.city_key), s.hi, s.lo FROM (SELECT client_id, city_key, "
                    f"{_SPLIT_SUM} FROM {self.t('postings')} WHERE tenant_id = ? AND client_id IN ({marks}) "
                    f"AND at_us <= ? GROUP BY client_id, city_key) s LEFT JOIN {self.t('cities')} c "
                    "ON c.tenant_id = ? AND c.city_key = s.city_key ORDER BY s.client_id, s.city_key",
                    (str(tenant_id), *client_ids, as_of, str(tenant_id)))
                cur = self.currency(tx, tenant_id)
            for cid, city, hi, lo in rows:
                if _joined(hi, lo) != 0:
                    sums[str(cid)][city] = _joined(hi, lo)
        else:
            cur = self.tenant_currency(tenant_id)
        return {c: {"total": format_minor(sum(v.values()), cur), "by_city": {k: format_minor(x, cur) for k, x in v.items()}}
                for c, v in sums.items()}

    def journal(self, tenant_id: UUID, *, from_us: int | None = None, to_us: int | None = None, kind: str | None = None,
                client_id: UUID | None = None, status: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        where, params = _journal_filter(tenant_id, from_us, to_us, kind, client_id, status)
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT tx_id, at_us, kind, status, reverses, postings, actor, reason, memo, related, client_id, cancelled_by "
                f"FROM {self.t('transactions')} WHERE {' AND '.join(where)} ORDER BY at_us, seq LIMIT ?", [*params, limit])
            cur = self.currency(tx, tenant_id)
        return [_journal_item(r, cur) for r in rows]

    def journal_page(self, tenant_id: UUID, *, from_us: int | None = None, to_us: int | None = None,
                     kind: str | None = None, client_id: UUID | None = None, status: str | None = None,
                     limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> dict[str, Any]:
        """The journal as a list of API §7: a page in time order, ``total`` and ``next_cursor``."""
        where, params = _journal_filter(tenant_id, from_us, to_us, kind, client_id, status)
        base = f"FROM {self.t('transactions')} WHERE {' AND '.join(where)}"
        after, after_params = _after(cursor)
        with self.db.read() as tx:
            (total,) = tx.one(f"SELECT COUNT(*) {base}", params) or (0,)
            rows = tx.execute(
                f"SELECT tx_id, at_us, kind, status, reverses, postings, actor, reason, memo, related, client_id, cancelled_by, "
                f"seq {base}{after} ORDER BY at_us, seq LIMIT ?", [*params, *after_params, limit + 1])
            cur = self.currency(tx, tenant_id)
        shown, next_cursor = sql_page(rows, limit, lambda r: [int(r[1]), int(r[12])])
        return {"items": [_journal_item(r, cur) for r in shown], "total": int(total), "next_cursor": next_cursor}

    def payments(self, tenant_id: UUID, *, from_us: int | None = None, to_us: int | None = None,
                 branch_id: UUID | None = None, money: str | None = None, include_cancelled: bool = False,
                 limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> dict[str, Any]:
        """The payments report (DOMAIN §6.4): money received, in time order, each with the
        cash or bank account it landed on; cancelled payments only when asked for (they
        stay in the journal). ``money`` is ``cash`` or ``bank`` (card and bank transfer
        land on the bank account, §6.3). ``sum`` adds up every payment listed, all pages."""
        where = ["t.tenant_id = ?", "t.kind = 'payment'", "(p.account LIKE 'assets:cash:%' OR p.account LIKE 'assets:bank:%')"]
        params: list[Any] = [str(tenant_id)]
        for cond, value in (("t.at_us >= ?", from_us), ("t.at_us < ?", to_us)):
            if value is not None:
                where.append(cond)
                params.append(value)
        if not include_cancelled:
            where.append("t.status = 'posted'")
        if money is not None:
            where.append("p.account LIKE ?")
            params.append(f"assets:{money}:%")
        if branch_id is not None:
            where.append("(p.account = ? OR p.account = ?)")
            params += [f"assets:cash:{branch_id}", f"assets:bank:{branch_id}"]
        base = (f"FROM {self.t('transactions')} t JOIN {self.t('postings')} p ON p.tenant_id = t.tenant_id "
                f"AND p.at_us = t.at_us AND p.tx_id = t.tx_id WHERE {' AND '.join(where)}")
        after, after_params = _after(cursor, "t.")
        with self.db.read() as tx:
            total, hi, lo = tx.one(f"SELECT COUNT(*), COALESCE(SUM(p.amount / {_SPLIT}), 0), "
                                   f"COALESCE(SUM(p.amount % {_SPLIT}), 0) {base}", params) or (0, 0, 0)
            amount = _joined(hi, lo)
            rows = tx.execute(
                f"SELECT t.tx_id, t.at_us, t.status, t.client_id, p.account, p.amount, t.actor, t.reason, t.memo, "
                f"t.cancelled_by, t.related, t.seq {base}{after} ORDER BY t.at_us, t.seq LIMIT ?",
                [*params, *after_params, limit + 1])
            cur = self.currency(tx, tenant_id)
        shown, next_cursor = sql_page(rows, limit, lambda r: [int(r[1]), int(r[11])])
        items = []
        for r in shown:
            _, method, branch = str(r[4]).split(":", 2)
            items.append({"id": r[0], "at": iso(r[1]), "status": r[2], "client_id": r[3], "branch_id": branch,
                          "method": method, "account": r[4], "amount": format_minor(int(r[5]), cur), "actor": r[6],
                          "reason": r[7], "memo": r[8], "cancelled_by": r[9], "related": orjson.loads(r[10])})
        return {"items": items, "total": int(total), "next_cursor": next_cursor, "sum": format_minor(int(amount), cur)}

    def statement(self, tenant_id: UUID, client_id: UUID, *, limit: int) -> dict[str, list[dict[str, Any]]]:
        """A client's statement (DOMAIN §8.2), newest first: every transaction that moved the
        client's account, charges as ``invoices`` (+ what was charged) and payments and
        refunds as ``payments`` (+ what was paid or paid back), each with its status. A
        reversal shows as its original's ``cancelled``; revenue recognition never touches a
        client's account. Read from the balance index, so it costs no row of its own per
        posting (every row a command writes is a page on its commit)."""
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT s.tx_id, s.at_us, t.kind, s.amount, t.status FROM (SELECT tx_id, at_us, SUM(amount) AS amount "
                f"FROM {self.t('postings')} WHERE tenant_id = ? AND client_id = ? GROUP BY tx_id, at_us) s "
                f"JOIN {self.t('transactions')} t ON t.tenant_id = ? AND t.tx_id = s.tx_id "
                "WHERE s.amount <> 0 AND t.kind NOT IN ('reversal', 'revenue') ORDER BY s.at_us DESC, s.tx_id LIMIT ?",
                (str(tenant_id), str(client_id), str(tenant_id), 2 * limit))
            cur = self.currency(tx, tenant_id)
        items = [(r[2] in PAYMENT_KINDS, {"id": r[0], "at": iso(r[1]), "kind": r[2], "status": r[4],
                                          "amount": format_minor(-int(r[3]) if r[2] in PAYMENT_KINDS else int(r[3]), cur)})
                 for r in rows]
        return {"invoices": [i for paid, i in items if not paid][:limit], "payments": [i for paid, i in items if paid][:limit]}

    def trial_balance(self, tenant_id: UUID, *, as_of: int) -> dict[str, Any]:
        """Every account's balance as of an instant; the total is always zero (§6.2)."""
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT account, {_SPLIT_SUM} FROM {self.t('postings')} WHERE tenant_id = ? AND at_us <= ? "
                "GROUP BY account ORDER BY account", (str(tenant_id), as_of))
            cur = self.currency(tx, tenant_id)
        accounts = {a: _joined(hi, lo) for a, hi, lo in rows if _joined(hi, lo) != 0}
        return {"accounts": {a: format_minor(v, cur) for a, v in accounts.items()}, "total": format_minor(sum(accounts.values()), cur)}


def _journal_item(r: Sequence[Any], cur: str) -> dict[str, Any]:
    return {"id": r[0], "at": iso(r[1]), "kind": r[2], "status": r[3], "reverses": r[4],
            "postings": [{"account": p["account"], "amount": format_minor(p["amount"], cur)} for p in orjson.loads(r[5])],
            "actor": r[6], "reason": r[7], "memo": r[8], "related": orjson.loads(r[9]), "client_id": r[10],
            "cancelled_by": r[11]}


def _after(cursor: str | None, prefix: str = "") -> tuple[str, list[Any]]:
    """The keyset condition of a page after ``cursor``: transactions are in (at_us, seq) order."""
    if not cursor:
        return "", []
    at, seq = decode_cursor(cursor, 2)
    return (f" AND ({prefix}at_us > ? OR ({prefix}at_us = ? AND {prefix}seq > ?))", [int(at), int(at), int(seq)])


# An account's total over a whole tenant is bounded by nothing a command can check, and
# SQLite's SUM stops with "integer overflow" past 64 bits (PostgreSQL's turns numeric). So
# the amounts are summed in two parts that cannot overflow (a billion rows of the largest
# amounts each), and joined exactly in Python: both databases truncate toward zero, so
# amount = (amount / D) * D + amount % D.
_SPLIT = 1_000_000_000
_SPLIT_SUM = f"SUM(amount / {_SPLIT}) AS hi, SUM(amount % {_SPLIT}) AS lo"


def _joined(hi: Any, lo: Any) -> int:
    return int(hi) * _SPLIT + int(lo)




def _journal_filter(tenant_id: UUID, from_us: int | None, to_us: int | None, kind: str | None,
                    client_id: UUID | None, status: str | None) -> tuple[list[str], list[Any]]:
    """The journal's WHERE terms and their parameters: a tenant's transactions in
    ``[from_us, to_us)``, of a kind, a client, a status."""
    where: list[str] = ["tenant_id = ?"]
    params: list[Any] = [str(tenant_id)]
    for cond, value in (("at_us >= ?", from_us), ("at_us < ?", to_us), ("kind = ?", kind),
                        ("client_id = ?", str(client_id) if client_id else None), ("status = ?", status)):
        if value is not None:
            where.append(cond)
            params.append(value)
    return where, params
