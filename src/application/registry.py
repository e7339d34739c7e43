"""Commands, the hooks between them, and the context a handler decides in.

A command is ``(name, args model, handler, role)``. ``@command`` only marks a handler
with its spec; the bootstrap (classledger/bootstrap.py) collects the marked handlers of
the modules it lists (``commands_of``) and hands them, with the ``Hooks``, to the
application. The handler receives a ``Ctx``: it loads aggregates (tenant-checked),
decides through the pure aggregate functions, hands the resulting events to ``ctx.emit``
and returns the fields of its answer. The pipeline (service.py) saves everything emitted
in one atomic write.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from pydantic import BaseModel, ConfigDict

from classledger.aggregates.base import Aggregate, Event, Meta
from classledger.aggregates.errors import NotFound
from classledger.aggregates.tenant import Tenant
from classledger.application.principal import Need, Principal

if TYPE_CHECKING:
    from classledger.application.service import ClassLedger
    from classledger.writer import Batch

A = TypeVar("A", bound=Aggregate)
_ID_NAMESPACE = UUID("6f1c2b1e-8f3a-4b9e-9a51-0c1a55ed6e12")


class Args(BaseModel):
    """Base of every command's arguments: unknown fields are an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Handler = Callable[["Ctx", Any], dict[str, Any]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    args: type[Args]
    handler: Handler
    need: Need
    summary: str
    # Answer fields holding a secret (a key, a token, an invitation): shown once, to the
    # caller, and never written down; the command log keeps the answer without them.
    shown_once: tuple[str, ...] = ()


_SPEC = "__command_spec__"  # the attribute ``@command`` leaves on a handler


def command(
    name: str, args: type[Args], *, need: Need = "admin", shown_once: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    """Mark a handler as the command ``name``; the bootstrap collects it (``commands_of``)."""

    def mark(fn: Handler) -> Handler:
        summary = (fn.__doc__ or "").strip().split("\n")[0]
        setattr(fn, _SPEC, CommandSpec(name, args, fn, need, summary, shown_once))
        return fn

    return mark


def spec_of(obj: object) -> CommandSpec | None:
    """The command ``obj`` was marked as, if it is a handler marked by ``@command``."""
    spec = getattr(obj, _SPEC, None)
    return spec if isinstance(spec, CommandSpec) else None


def commands_of(modules: Iterable[ModuleType]) -> dict[str, CommandSpec]:
    """Every command the handlers of ``modules`` are marked as, by name."""
    found: dict[str, CommandSpec] = {}
    for module in modules:
        for obj in vars(module).values():
            spec = spec_of(obj)
            if spec is None or getattr(obj, "__module__", None) != module.__name__:
                continue  # imported from elsewhere: its own module lists it
            if found.get(spec.name, spec) is not spec:
                raise RuntimeError(f"command {spec.name} defined twice")
            found[spec.name] = spec
    return found


FreezeHook = Callable[["Ctx", UUID, date, date], None]
ArchiveHook = Callable[["Ctx", UUID], None]


@dataclass(frozen=True)
class Hooks:
    """What other modules do in the same write as a client's freeze or archiving:
    ``freeze`` (passes move their validity: DOMAIN §4.6), ``archive`` (bookings and
    registrations are cancelled: DOMAIN §2.5, §7.4), each run in order."""

    freeze: tuple[FreezeHook, ...] = ()
    archive: tuple[ArchiveHook, ...] = ()


Commands = Mapping[str, CommandSpec]


@dataclass
class Ctx:
    app: ClassLedger
    principal: Principal
    meta: Meta
    request_key: str
    _loaded: dict[UUID, Aggregate] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    _ids: int = 0
    batch: Batch | None = None  # the write batch the command is written in: its reads go through it

    @property
    def hooks(self) -> Hooks:
        return self.app.hooks

    @property
    def tenant(self) -> Tenant:
        return self.get(Tenant, self.principal.tenant_id)

    @property
    def today(self) -> date:
        """The command's day in the tenant's calendar (DOMAIN §1.2)."""
        return self.meta.at.astimezone(self.tenant.zone).date()

    def new_id(self, given: UUID | None = None) -> UUID:
        """A caller-given id, or one derived from the request: the same on every retry."""
        if given is not None:
            return given
        self._ids += 1
        return uuid.uuid5(_ID_NAMESPACE, f"{self.principal.tenant_id}:{self.request_key}:{self._ids}")

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        agg = self._loaded.get(aggregate_id)
        if agg is None:
            try:
                agg = self.app.load(aggregate_id, self.batch)
            except AggregateNotFoundError:
                return None
            self._loaded[aggregate_id] = agg
        if not isinstance(agg, cls) or agg.tenant_id != self.principal.tenant_id:
            return None  # another tenant's id is simply not found here (DOMAIN §1.1)
        return agg

    def get(self, cls: type[A], aggregate_id: UUID) -> A:
        agg = self.find(cls, aggregate_id)
        if agg is None:
            kind = cls.__name__.lower()
            raise NotFound(f"{kind}_not_found", f"no {kind} {aggregate_id}", id=str(aggregate_id))
        return agg

    def exists(self, aggregate_id: UUID) -> bool:
        if aggregate_id in self._loaded:
            return True
        try:
            self.app.load(aggregate_id, self.batch)
        except AggregateNotFoundError:
            return False
        return True

    def emit(self, events: Iterable[Event]) -> list[Event]:
        """Record decided events and fold them in, so later steps see the new state."""
        out = list(events)
        for e in out:
            self._loaded[e.originator_id] = e.apply(self._loaded.get(e.originator_id))
            self.events.append(e)
        return out

    def state(self, aggregate_id: UUID) -> Aggregate:
        return self._loaded[aggregate_id]

    def touched(self) -> list[Aggregate]:
        ids = dict.fromkeys(e.originator_id for e in self.events)
        return [self._loaded[i] for i in ids]
