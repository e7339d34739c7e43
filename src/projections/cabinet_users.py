"""The family cabinet's read model (DOMAIN §8.2): logins, linked clients, the identity
index proofs are checked against, and what a parent may see of each linked client.

- **Invitations and logins** are found by their sha256 (the secrets are never stored). A
  redeemed or replaced invitation, and a revoked or replaced login, is deleted.
- **Identities**: each client's birth date and phones, indexed by (tenant, birth date),
  so a proof finds its few candidates without reading events. The decision is still made
  on the client's own record (``aggregates.cabinet_user.proves``); this only narrows it.
- **What a parent sees** (nothing else): make-up credits and group transfers from here;
  the client's statement (invoices and payments) is the books' (``Books.statement``, read
  from the balance index: a copy here cost every payment and visit one more row on its
  commit); attendance is the §8.1 cabinet's (``projections.cabinet``).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import orjson

from classledger.aggregates.cabinet_user import (
    CabinetClientLinked,
    CabinetClientUnlinked,
    CabinetInvitationIssued,
    CabinetLoginIssued,
    CabinetLoginRevoked,
    CabinetUserRegistered,
)
from classledger.aggregates.client import (
    ClientDeleted,
    ClientDetailsChanged,
    ClientErased,
    ClientRegistered,
)
from classledger.aggregates.course import GroupCreated
from classledger.aggregates.registration import (
    CreditGranted,
    CreditUsed,
    CreditVoided,
    RegistrationCreated,
    RegistrationTransferred,
)
from classledger.aggregates.tenant import TenantCreated
from classledger.instants import iso
from classledger.projections.runtime import EventRecord, QueuedProjection, handles
from classledger.store.database import Tx

LIST_LIMIT = 200  # the newest rows of each list a cabinet shows


class CabinetUsers(QueuedProjection):
    name = "cabinet_users"
    version = 1
    tables = {
        "tenants": "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT PRIMARY KEY, timezone TEXT NOT NULL)",
        "invitations": (
            "CREATE TABLE IF NOT EXISTS {t} (invitation_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, user_id TEXT NOT NULL)"
        ),
        "logins": "CREATE TABLE IF NOT EXISTS {t} (login_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, user_id TEXT NOT NULL)",
        "links": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, user_id TEXT NOT NULL, client_id TEXT NOT NULL, "
            "seq BIGINT NOT NULL, PRIMARY KEY (tenant_id, user_id, client_id))"
        ),
        "identities": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, client_id TEXT NOT NULL, name TEXT NOT NULL, "
            "birth_date TEXT, phones TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tenant_id, client_id))"
        ),
        "registrations": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, registration_id TEXT NOT NULL, client_id TEXT NOT NULL, "
            "PRIMARY KEY (tenant_id, registration_id))"
        ),
        "groups": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, group_id TEXT NOT NULL, name TEXT NOT NULL, "
            "PRIMARY KEY (tenant_id, group_id))"
        ),
        "transfers": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, registration_id TEXT NOT NULL, version INTEGER NOT NULL, "
            "client_id TEXT NOT NULL, from_group_id TEXT NOT NULL, to_group_id TEXT NOT NULL, at_us BIGINT NOT NULL, "
            "PRIMARY KEY (tenant_id, registration_id, version))"
        ),
        "makeups": (
            "CREATE TABLE IF NOT EXISTS {t} (tenant_id TEXT NOT NULL, credit_id TEXT NOT NULL, client_id TEXT NOT NULL, "
            "registration_id TEXT NOT NULL, granted_us BIGINT NOT NULL, expires_on TEXT NOT NULL, state TEXT NOT NULL, "
            "PRIMARY KEY (tenant_id, credit_id))"
        ),
    }
    indexes = [
        "CREATE INDEX IF NOT EXISTS {t_invitations}_by_user ON {t_invitations} (tenant_id, user_id)",
        "CREATE INDEX IF NOT EXISTS {t_logins}_by_user ON {t_logins} (tenant_id, user_id)",
        "CREATE INDEX IF NOT EXISTS {t_identities}_by_birth ON {t_identities} (tenant_id, birth_date)",
        "CREATE INDEX IF NOT EXISTS {t_transfers}_by_client ON {t_transfers} (tenant_id, client_id, at_us)",
        "CREATE INDEX IF NOT EXISTS {t_makeups}_by_client ON {t_makeups} (tenant_id, client_id, granted_us)",
    ]
    applies_through = frozenset({"{t_invitations}_by_user", "{t_logins}_by_user"})

    erasure_tables = ("identities", "links")  # what ``ClientErased`` empties (System.scrub)

    # ---- tenants ---------------------------------------------------------------------------

    @handles(TenantCreated)
    def _tenant(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(tx, f"INSERT INTO {self.t('tenants')} (tenant_id, timezone) VALUES (?, ?) "
                  "ON CONFLICT (tenant_id) DO NOTHING", (str(ev.tenant_id), ev.data["timezone"]))

    # ---- users -----------------------------------------------------------------------------

    @handles(CabinetUserRegistered, CabinetInvitationIssued)
    def _invited(self, tx: Tx, ev: EventRecord) -> None:
        self._drop_invitation(tx, ev)
        self._sql(tx, f"INSERT INTO {self.t('invitations')} (invitation_hash, tenant_id, user_id) VALUES (?, ?, ?)",
                  (ev.data["invitation_hash"], str(ev.tenant_id), str(ev.aggregate_id)))

    def _drop_invitation(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(tx, f"DELETE FROM {self.t('invitations')} WHERE tenant_id = ? AND user_id = ?",
                  (str(ev.tenant_id), str(ev.aggregate_id)))

    @handles(CabinetLoginIssued)
    def _login(self, tx: Tx, ev: EventRecord) -> None:
        self._drop_invitation(tx, ev)
        self._logout(tx, ev)
        self._sql(tx, f"INSERT INTO {self.t('logins')} (login_hash, tenant_id, user_id) VALUES (?, ?, ?)",
                  (ev.data["login_hash"], str(ev.tenant_id), str(ev.aggregate_id)))

    @handles(CabinetLoginRevoked)
    def _logout(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(tx, f"DELETE FROM {self.t('logins')} WHERE tenant_id = ? AND user_id = ?",
                  (str(ev.tenant_id), str(ev.aggregate_id)))

    @handles(CabinetClientLinked)
    def _linked(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(tx, f"INSERT INTO {self.t('links')} (tenant_id, user_id, client_id, seq) VALUES (?, ?, ?, ?) "
                  "ON CONFLICT (tenant_id, user_id, client_id) DO NOTHING",
                  (str(ev.tenant_id), str(ev.aggregate_id), ev.data["client_id"], ev.id))

    @handles(CabinetClientUnlinked)
    def _unlinked(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(tx, f"DELETE FROM {self.t('links')} WHERE tenant_id = ? AND user_id = ? AND client_id = ?",
                  (str(ev.tenant_id), str(ev.aggregate_id), ev.data["client_id"]))

    # ---- identities ------------------------------------------------------------------------

    @handles(ClientRegistered)
    def _client(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        self._queue.add(f"INSERT INTO {self.t('identities')} (tenant_id, client_id, name, birth_date, phones)",
                        ("text", "text", "text", "text", "text"),
                        (str(ev.tenant_id), str(ev.aggregate_id), d["name"], d.get("birth_date"),
                         orjson.dumps(d.get("phones") or []).decode()),
                        "ON CONFLICT (tenant_id, client_id) DO NOTHING")

    @handles(ClientDetailsChanged)
    def _client_changed(self, tx: Tx, ev: EventRecord) -> None:
        changes = ev.data["changes"]
        sets: dict[str, Any] = {}
        if "name" in changes:
            sets["name"] = changes["name"]
        if "birth_date" in changes:
            sets["birth_date"] = changes["birth_date"]
        if "phones" in changes:
            sets["phones"] = orjson.dumps(changes["phones"] or []).decode()
        if sets:
            assignments = ", ".join(f"{k} = ?" for k in sets)
            self._sql(tx, f"UPDATE {self.t('identities')} SET {assignments} WHERE tenant_id = ? AND client_id = ?",
                       (*sets.values(), str(ev.tenant_id), str(ev.aggregate_id)))

    @handles(ClientDeleted)
    def _client_deleted(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(tx, f"UPDATE {self.t('identities')} SET deleted = 1 WHERE tenant_id = ? AND client_id = ?",
                  (str(ev.tenant_id), str(ev.aggregate_id)))

    @handles(ClientErased)
    def _client_erased(self, tx: Tx, ev: EventRecord) -> None:
        """DOMAIN §2.9: the identity a proof was checked against is emptied, and no cabinet
        user reaches the erased client any more."""
        key = (str(ev.tenant_id), str(ev.aggregate_id))
        self._sql(tx, f"UPDATE {self.t('identities')} SET name = '', birth_date = NULL, phones = '[]', deleted = 1 "
                  "WHERE tenant_id = ? AND client_id = ?", key)
        self._sql(tx, f"DELETE FROM {self.t('links')} WHERE tenant_id = ? AND client_id = ?", key)

    # ---- registrations, transfers, make-ups -----------------------------------------------

    @handles(GroupCreated)
    def _group(self, tx: Tx, ev: EventRecord) -> None:
        self._queue.add(f"INSERT INTO {self.t('groups')} (tenant_id, group_id, name)", ("text", "text", "text"),
                        (str(ev.tenant_id), str(ev.aggregate_id), ev.data["name"]), "ON CONFLICT (tenant_id, group_id) DO NOTHING")

    @handles(RegistrationCreated)
    def _registration(self, tx: Tx, ev: EventRecord) -> None:
        self._queue.add(f"INSERT INTO {self.t('registrations')} (tenant_id, registration_id, client_id)",
                        ("text", "text", "text"), (str(ev.tenant_id), str(ev.aggregate_id), ev.data["client_id"]),
                        "ON CONFLICT (tenant_id, registration_id) DO NOTHING")

    @handles(RegistrationTransferred)
    def _transfer(self, tx: Tx, ev: EventRecord) -> None:
        self._sql(
            tx,
            f"INSERT INTO {self.t('transfers')} (tenant_id, registration_id, version, client_id, from_group_id, to_group_id, "
            f"at_us) SELECT tenant_id, registration_id, ?, client_id, ?, ?, ? FROM {self.t('registrations')} "
            "WHERE tenant_id = ? AND registration_id = ? ON CONFLICT (tenant_id, registration_id, version) DO NOTHING",
            (ev.version, ev.data["from_group_id"], ev.data["to_group_id"], ev.at_us, str(ev.tenant_id),
             str(ev.aggregate_id)),
        )

    @handles(CreditGranted)
    def _credit(self, tx: Tx, ev: EventRecord) -> None:
        d = ev.data
        if d["kind"] != "makeup":
            return  # coupons and other credits are not make-ups (DOMAIN §3.3)
        self._queue.add(
            f"INSERT INTO {self.t('makeups')} (tenant_id, credit_id, client_id, registration_id, granted_us, expires_on, state)",
            ("text", "text", "text", "text", "bigint", "text", "text"),
            (str(ev.tenant_id), str(ev.aggregate_id), d["client_id"], d["registration_id"], ev.at_us, d["expires_on"], "open"),
            "ON CONFLICT (tenant_id, credit_id) DO NOTHING")

    @handles(CreditUsed, CreditVoided)
    def _credit_closed(self, tx: Tx, ev: EventRecord) -> None:
        state = "used" if ev.type == "CreditUsed" else "voided"
        self._sql(tx, f"UPDATE {self.t('makeups')} SET state = ? WHERE tenant_id = ? AND credit_id = ?",
                  (state, str(ev.tenant_id), str(ev.aggregate_id)))

    # ---- reads -----------------------------------------------------------------------------

    def invitation(self, invitation_hash: str) -> tuple[UUID, UUID] | None:
        """(tenant, user) of a live invitation."""
        return self._owner("invitations", "invitation_hash", invitation_hash)

    def login(self, login_hash: str) -> tuple[UUID, UUID] | None:
        """(tenant, user) of a live login."""
        return self._owner("logins", "login_hash", login_hash)

    def _owner(self, table: str, column: str, digest: str) -> tuple[UUID, UUID] | None:
        with self.db.read() as tx:
            row = tx.one(f"SELECT tenant_id, user_id FROM {self.t(table)} WHERE {column} = ?", (digest,))
        return (UUID(str(row[0])), UUID(str(row[1]))) if row else None

    def candidates(self, tenant_id: UUID, birth_date: date) -> list[tuple[UUID, list[str]]]:
        """Live clients of the tenant born that day, with their phones: the few a proof can name."""
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT client_id, phones FROM {self.t('identities')} WHERE tenant_id = ? AND birth_date = ? "
                "AND deleted = 0 ORDER BY client_id", (str(tenant_id), birth_date.isoformat()))
        return [(UUID(str(r[0])), list(orjson.loads(r[1]))) for r in rows]

    def linked(self, tenant_id: UUID, user_id: UUID) -> list[tuple[UUID, str]]:
        """The user's linked clients that still exist, in the order they were linked: (id, name)."""
        with self.db.read() as tx:
            rows = tx.execute(
                f"SELECT l.client_id, i.name FROM {self.t('links')} l JOIN {self.t('identities')} i "
                "ON i.tenant_id = l.tenant_id AND i.client_id = l.client_id "
                "WHERE l.tenant_id = ? AND l.user_id = ? AND i.deleted = 0 ORDER BY l.seq",
                (str(tenant_id), str(user_id)))
        return [(UUID(str(r[0])), str(r[1])) for r in rows]

    def client_view(self, tenant_id: UUID, client_id: UUID, today: date) -> dict[str, Any]:
        """Make-ups and group transfers of one client, newest first."""
        tenant, client = str(tenant_id), str(client_id)
        with self.db.read() as tx:
            makeups = tx.execute(
                f"SELECT credit_id, granted_us, expires_on, state FROM {self.t('makeups')} WHERE tenant_id = ? "
                "AND client_id = ? ORDER BY granted_us DESC, credit_id LIMIT ?", (tenant, client, LIST_LIMIT))
            transfers = tx.execute(
                f"SELECT t.at_us, t.from_group_id, f.name, t.to_group_id, g.name FROM {self.t('transfers')} t "
                f"LEFT JOIN {self.t('groups')} f ON f.tenant_id = t.tenant_id AND f.group_id = t.from_group_id "
                f"LEFT JOIN {self.t('groups')} g ON g.tenant_id = t.tenant_id AND g.group_id = t.to_group_id "
                "WHERE t.tenant_id = ? AND t.client_id = ? ORDER BY t.at_us DESC, t.registration_id, t.version LIMIT ?",
                (tenant, client, LIST_LIMIT))
        return {
            "makeups": [{"id": r[0], "granted_at": iso(r[1]), "expires_on": r[2],
                         "state": "expired" if r[3] == "open" and date.fromisoformat(r[2]) < today else r[3]}
                        for r in makeups],
            "group_transfers": [{"at": iso(r[0]), "from_group": {"id": r[1], "name": r[2]},
                                 "to_group": {"id": r[3], "name": r[4]}} for r in transfers],
        }

    def timezone(self, tenant_id: UUID) -> str:
        with self.db.read() as tx:
            row = tx.one(f"SELECT timezone FROM {self.t('tenants')} WHERE tenant_id = ?", (str(tenant_id),))
        return str(row[0]) if row else "UTC"

