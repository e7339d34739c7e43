"""Wiring: the store, the application, the projections and their runner, in one object.

Only the entry points (``cli``, ``http``) build a ``System``; the layers below never
import this module. A command's clock is read here (``now``) and nowhere below.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from classledger import bootstrap, projections
from classledger.application.cache import AggregateCache
from classledger.application.principal import Principal
from classledger.application.service import ClassLedger
from classledger.projections.runtime import Projection, Runner
from classledger.store.audit_key import DEVELOPMENT_KEY, AuditKey, audit_key_from_env
from classledger.store.database import Store
from classledger.writer import Writer

P = TypeVar("P", bound=Projection)
log = logging.getLogger(__name__)
LAG = 1000  # events behind the head beyond which a projection is built apart


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class System:
    store: Store
    app: ClassLedger
    runner: Runner
    views: dict[type[Projection], Projection] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    _building: list[Projection] = field(default_factory=list)

    @classmethod
    def open(cls, url: str | None = None, *, lag: int = LAG, audit_key: AuditKey = DEVELOPMENT_KEY) -> System:
        """``audit_key`` keys the hash chain: the entry points pass the deployment's
        (``audit_key_from_env``); the development key otherwise (tests, tools)."""
        store = Store.open(url, audit_key=audit_key)
        views = projections.build(store.db)
        head = store.recorder.max_notification_id() or 0
        positions = Runner(store, views).positions()
        behind = [v for v in views if head - positions.get(v.key, 0) > lag]
        runner = Runner(store, [v for v in views if v not in behind])
        cache = AggregateCache()
        # A command's write: its rows, then the projections in the same transaction, then
        # the cache told (classledger.writer).
        writer = Writer(store.recorder, project=runner.apply_inline, cache=cache)
        app = bootstrap.application(store, writer, cache)
        system = cls(store, app, runner, {type(v): v for v in views})
        if behind:
            # A new or changed projection is built from the first event on its own thread;
            # the others keep serving and commands do not wait for it.
            system._building = behind
            threading.Thread(target=system._build, args=(behind,), daemon=True, name="projection-build").start()
        return system

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> System:
        """The database and the audit key the environment names (``audit_key_from_env``)."""
        return cls.open(audit_key=audit_key_from_env(environ))

    def _build(self, behind: list[Projection]) -> None:
        if self.runner.join(Runner(self.store, behind), self._stop):
            self._building = []

    def building(self) -> list[str]:
        """Projections still being built from the first event (their reads are incomplete)."""
        return [v.name for v in self._building]

    def view(self, kind: type[P]) -> P:
        v = self.views[kind]
        assert isinstance(v, kind)
        return v

    def execute(
        self,
        principal: Principal,
        command: str,
        args: Any,
        *,
        at: datetime | None = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
        monotonic_clock: bool = False,
    ) -> dict[str, Any]:
        """Run one command and bring the read models up to date (read-your-writes).

        Usually the write applied them itself (``Runner.apply_inline``); a catch-up to the
        write's position is needed only when it could not (a retry answered from the log,
        projections behind).
        """
        outcome = self.app.execute_written(
            principal,
            command,
            args,
            at=at or now(),
            reason=reason,
            idempotency_key=idempotency_key,
            monotonic_clock=monotonic_clock,
        )
        if not outcome.written.inline:
            try:
                self.runner.wait(outcome.written.position)
            except Exception:
                # The command is committed; answering 500 would invite a retry of a write
                # that landed. The read model stays behind and the runner keeps retrying.
                log.exception("projections could not catch up after %s", command)
        if command == "erase_client":
            self.scrub()

        return outcome.answer

    def scrub(self) -> None:
        """After an erasure (DOMAIN §2.9): the erased data leaves the database's files too,
        not only its tables (the read models that empty a client on ``ClientErased``)."""
        self.runner.catch_up()
        tables = [p.t(t) for p in self.views.values() if "ClientErased" in p.handlers
                  for t in getattr(p, "erasure_tables", p.tables)]
        self.store.recorder.scrub(tables)

    def start_background(self, interval: float = 0.5) -> None:
        """Keep projections current with writes made by other processes."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.runner.run_forever, args=(self._stop, interval), daemon=True, name="projections"
            )
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.store.close()
