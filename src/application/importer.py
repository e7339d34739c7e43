"""Import of command files (API §1–2): JSONL, one command per line, each applied atomically.

Each line: ``{"at": ISO-8601 with offset, "actor": STAFF_NAME, "command": NAME,
"args": {...}, "idempotency_key"?: str, "reason"?: str}``. ``at`` is the business clock
of that line and may not be earlier than the tenant's latest recorded event, nor more
than five minutes ahead of the server's clock (``clock_ahead``: a mistyped year must not
lock the tenant out of its own present). The actor acts with the role of the tenant's
staff member of that name; an unknown actor is refused unless the operator says which
role unknown actors act with.

Re-running a file is safe (API §6): a line whose ``idempotency_key``, or whose create
``id`` with the same args, is already recorded is answered from the record whatever its
``at``, and counted as ``replayed``; only what is new is applied.

Lines are written in batches: one write transaction (and one durable commit) for up to
``BATCH_LINES`` lines or ``BATCH_SECONDS``, each line in its own savepoint, so a refused
or conflicting line rolls back alone (``ClassLedger.write_batch``). A batch's lines count
as applied once it commits; an import killed mid-batch loses that batch whole, and its
re-run applies it (its keys and ids are not in the record yet).
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from classledger.aggregates.errors import Invalid, NotFound, Refused
from classledger.aggregates.tenant import Tenant, check_not_ahead
from classledger.application.principal import Principal
from classledger.application.service import ClassLedger, log_key
from classledger.application.tenants import staff_id_for
from classledger.roles import rank
from classledger.writer import Batch

LINE_FIELDS = {"at", "actor", "command", "args", "idempotency_key", "reason"}
# A batch: one transaction, one durable commit, for this many lines or this long, whichever
# comes first. Larger batches commit less often; every other writer waits while one is open.
BATCH_LINES = 64
BATCH_SECONDS = 0.2


@dataclass
class ImportSummary:
    applied: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    replayed: int = 0  # lines already recorded, answered from the record

    def as_json(self) -> dict[str, Any]:
        return {"applied": self.applied, "replayed": self.replayed, "rejected": self.rejected, "errors": self.errors}


def _error(e: Refused) -> dict[str, Any]:
    return {"code": e.code, "message": e.message, "details": e.details}


def parse_line(raw: bytes) -> dict[str, Any]:
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise Invalid("malformed_json", f"not valid JSON: {e}") from None
    if not isinstance(line, dict):
        raise Invalid("invalid_line", "a line must be a JSON object")
    unknown = set(line) - LINE_FIELDS
    if unknown:
        raise Invalid("invalid_line", f"unknown fields: {sorted(unknown)}")
    for name in ("at", "actor", "command"):
        if not isinstance(line.get(name), str) or not line[name]:
            raise Invalid("invalid_line", f"{name!r} is required and must be a string")
    if not isinstance(line.get("args", {}), dict):
        raise Invalid("invalid_line", "'args' must be an object")
    try:
        at = datetime.fromisoformat(line["at"])
    except ValueError:
        raise Invalid("invalid_line", f"'at' is not ISO-8601: {line['at']!r}") from None
    if at.tzinfo is None:
        raise Invalid("invalid_line", "'at' must carry a UTC offset")
    line["at"] = at
    return line


class Importer:
    def __init__(
        self,
        app: ClassLedger,
        tenant_id: UUID,
        *,
        unknown_actor_role: str | None = None,
        server_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.app = app
        self.tenant_id = tenant_id
        self.unknown_actor_role = unknown_actor_role
        self.server_clock = server_clock  # the entry point's clock; lines may not run ahead of it
        try:
            tenant = app.get(tenant_id)
        except Exception:
            tenant = None
        if not isinstance(tenant, Tenant):
            raise NotFound("tenant_not_found", f"no tenant {tenant_id}")

    def principal(self, actor: str, batch: Batch | None = None) -> Principal:
        tenant: Tenant = self.app.get(self.tenant_id, batch)
        roles = [k.role for k in tenant.keys.values() if k.staff_name.casefold() == actor.strip().casefold() and not k.revoked]
        ranked = sorted(roles, key=rank, reverse=True)
        cities = {k.city for k in tenant.keys.values() if k.staff_name.casefold() == actor.strip().casefold()}
        if ranked:
            city = next(iter(cities)) if len(cities) == 1 else None
            return Principal(self.tenant_id, staff_id_for(self.tenant_id, actor), actor.strip(), ranked[0], city)
        if self.unknown_actor_role:
            return Principal(self.tenant_id, staff_id_for(self.tenant_id, actor), actor.strip(), self.unknown_actor_role)
        raise Invalid("unknown_actor", f"no staff member named {actor!r} in this tenant", actor=actor)

    def run(
        self,
        lines: Iterable[bytes],
        *,
        stop_on_error: bool = False,
        progress: Callable[[int], None] | None = None,
        batch_lines: int = BATCH_LINES,
        batch_seconds: float = BATCH_SECONDS,
    ) -> ImportSummary:
        """Apply the lines in order. They are written in batches (one transaction for up
        to ``batch_lines`` lines or ``batch_seconds``, whichever comes first), each line in
        its own savepoint: a rejected line rolls back alone and every line stays atomic.
        A batch's lines are counted (and reported to ``progress``) once it has committed;
        if the process dies first, none of them is recorded and a re-run applies them."""
        summary = ImportSummary()
        principals: dict[str, Principal] = {}
        numbered = ((n, raw) for n, raw in enumerate(lines, start=1) if raw.strip())
        ahead: deque[tuple[int, dict[str, Any] | Refused]] = deque()  # parsed, not yet run
        stopped = False
        while not stopped:
            ahead.extend((n, _parsed(raw)) for n, raw in itertools.islice(numbered, batch_lines - len(ahead)))
            if not ahead:
                break
            outcomes: list[tuple[int, Refused | None, bool]] = []  # (line, refusal, replayed)
            with self.app.write_batch() as batch:
                if batch is not None:  # what the lines will look up, in a statement each
                    requests = [_request_of(line) for _, line in ahead]
                    self.app.read_ahead(self.tenant_id, [k for k, _ in requests if k is not None],
                                        [i for _, i in requests if i is not None], batch)
                deadline = time.monotonic() + batch_seconds
                while ahead:
                    number, line = ahead.popleft()
                    refused, replayed = self._apply(line, principals, batch)
                    outcomes.append((number, refused, replayed))
                    if refused is not None and stop_on_error:
                        stopped = True
                        break
                    if time.monotonic() >= deadline:
                        break
            for number, refused, replayed in outcomes:  # committed: now they count
                if refused is not None:
                    summary.rejected += 1
                    summary.errors.append({"line": number, "error": _error(refused)})
                elif replayed:
                    summary.replayed += 1
                else:
                    summary.applied += 1
            if progress:
                progress(len(outcomes))
        return summary

    def _apply(
        self, line: dict[str, Any] | Refused, principals: dict[str, Principal], batch: Batch | None
    ) -> tuple[Refused | None, bool]:
        """One parsed line: (its refusal or None, whether it was already recorded). A
        refused command is a row of the staff action log (DOMAIN §9.1), whichever check
        refused it; a line that names no known staff member or is not a command at all is not."""
        if isinstance(line, Refused):
            return line, False
        try:
            actor = line["actor"]
            if actor not in principals:
                principals[actor] = self.principal(actor, batch)
        except Refused as e:
            return e, False
        principal, command, args = principals[actor], line["command"], line.get("args", {})
        at, reason, key = line["at"], line.get("reason"), line.get("idempotency_key")
        try:
            known, request = self.app.recorded_request(principal, command, args, idempotency_key=key, batch=batch)
            if known is not None:
                return None, True
            if self.server_clock is not None:
                check_not_ahead(at, self.server_clock())
        except Refused as e:
            self.app.record_refusal(principal, command, args, at=at, reason=reason, refused=e, batch=batch)
            return e, False
        try:
            self.app.execute(principal, command, args, at=at, reason=reason, idempotency_key=key,
                             monotonic_clock=True, request=request, batch=batch)
        except Refused as e:
            return e, False
        return None, False


def _parsed(raw: bytes) -> dict[str, Any] | Refused:
    try:
        return parse_line(raw)
    except Refused as e:
        return e


def _request_of(line: dict[str, Any] | Refused) -> tuple[str | None, UUID | None]:
    """The command-log key and the create id the line's command will look up, as far as
    the raw line tells (what it misses is looked up when the line runs)."""
    if isinstance(line, Refused):
        return None, None
    key = line.get("idempotency_key")
    raw_id = line.get("args", {}).get("id")
    try:
        given_id = UUID(raw_id) if isinstance(raw_id, str) else None
    except ValueError:
        given_id = None
    return log_key(key if isinstance(key, str) else None, given_id), given_id


def read_lines(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        yield from f
