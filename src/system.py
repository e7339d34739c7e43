"""Wiring: the store, the application, the projections and their runner, in one object.

Only the entry points (``cli``, ``http``) build a ``System``; the layers below never
import this module. A command's clock is read here (``now``) and nowhere below.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from classledger import projections
from classledger.application import commands  # noqa: F401  (registers every command)
from classledger.application.principal import Principal
from classledger.application.service import ClassLedger
from classledger.projections.runtime import Projection, Runner
from classledger.store.database import Store

P = TypeVar("P", bound=Projection)


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

    @classmethod
    def open(cls, url: str | None = None) -> System:
        store = Store.open(url)
        app = ClassLedger(store)
        views = projections.build(store.db)
        runner = Runner(store, views)
        return cls(store, app, runner, {type(v): v for v in views})

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
        """Run one command and bring the read models up to date (read-your-writes)."""
        answer = self.app.execute(
            principal,
            command,
            args,
            at=at or now(),
            reason=reason,
            idempotency_key=idempotency_key,
            monotonic_clock=monotonic_clock,
        )
        self.runner.catch_up()
        return answer

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
