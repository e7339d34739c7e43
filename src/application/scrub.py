"""Secrets written down by earlier versions, taken out of the command log.

Earlier versions kept every command's whole answer in the command log, so the staff keys,
cabinet links, invitations and login tokens they issued are there in the clear (and
still work: only their hashes are checked). ``scrub_secrets`` rewrites those answers the
way the pipeline now writes them (``service.kept_answer``: without the secret, marked as
withheld, so a retry is 409 ``secret_not_repeated``), and then makes sure the old bytes
leave the database files too: SQLite zeroes what it frees (``secure_delete``) and the
WAL is checkpointed and truncated; PostgreSQL rewrites the table (``VACUUM FULL``), since
an updated row's old version stays in the table's file until then.

Run it once after upgrading (``classledger secrets scrub``), then revoke the keys and
re-issue the links that a copy of the old database could still open. It is idempotent.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import psycopg
from psycopg import sql

from classledger.application.registry import Commands
from classledger.application.service import WITHHELD
from classledger.store.database import Store

# What the issuing commands make (``secrets.token_urlsafe(32)``: 43 characters), as they
# put it in their answers: a bare token, a staff key, a cabinet link's URL.
SECRET = re.compile(r"^(clk_|/cabinet/)?[A-Za-z0-9_-]{43}$")
# What a stored answer holding one contains, to find the candidates in SQL.
NEEDLES = (b'"key":"clk_', b'"token":"', b'"invitation":"')


def secret_fields(commands: Commands) -> tuple[str, ...]:
    """The answer fields that hold a secret in any of ``commands``."""
    return tuple(sorted({f for spec in commands.values() for f in spec.shown_once}))


def scrubbed(response: bytes, fields: tuple[str, ...]) -> bytes | None:
    """The answer without its secrets (``fields``); None when it holds none (or was
    scrubbed already)."""
    answer: Any = orjson.loads(response)
    if not isinstance(answer, dict) or WITHHELD in answer:
        return None
    withheld = [f for f in fields if isinstance(answer.get(f), str) and SECRET.match(answer[f])]
    if not withheld:
        return None  # e.g. a custom field's "key": no secret
    kept = {k: v for k, v in answer.items() if k not in withheld}
    return orjson.dumps({**kept, WITHHELD: withheld}, option=orjson.OPT_NON_STR_KEYS)


def scrub_secrets(store: Store, commands: Commands) -> dict[str, Any]:
    """Rewrite every command-log answer that holds a secret (a ``shown_once`` field of
    ``commands``); how many were looked at and rewritten."""
    fields = secret_fields(commands)
    table = store.recorder._command_log
    sqlite = store.dialect == "sqlite"
    test = "instr(response, ?) > 0" if sqlite else "position(? in response) > 0"
    where = " OR ".join([test] * len(NEEDLES))
    rewritten = 0
    with store.db.write() as tx:
        if sqlite:
            tx.execute("PRAGMA secure_delete = ON")  # what an update frees is zeroed
        rows = tx.execute(f"SELECT tenant_id, key, response FROM {table} WHERE {where}", NEEDLES)
        for tenant_id, key, response in rows:
            new = scrubbed(bytes(response), fields)
            if new is not None:
                tx.execute(f"UPDATE {table} SET response = ? WHERE tenant_id = ? AND key = ?", (new, tenant_id, key))
                rewritten += 1
        if sqlite:
            tx.execute("PRAGMA secure_delete = OFF")  # the connection goes back to the pool as it was
    compacted = _compact(store, table) if rewritten else True
    return {"candidates": len(rows), "rewritten": rewritten, "compacted": compacted}


def _compact(store: Store, table: str) -> bool:
    """Whether the old bytes are gone from the files: on SQLite, not while another process
    still reads from the WAL (stop the server first, or run the command again later)."""
    if store.dialect == "sqlite":
        ((busy, _, _),) = store.db.query("PRAGMA wal_checkpoint(TRUNCATE)")
        return not busy
    with psycopg.connect(store.url, autocommit=True) as conn:
        conn.execute(sql.SQL("VACUUM FULL {}").format(sql.SQL(table)))
    return True
