"""The bootstrap: the one place that says which commands the application runs and what
runs in the same write as a client's freeze or archiving.

Nothing registers itself on import: ``COMMAND_MODULES`` lists the modules whose
``@command`` handlers make up ``COMMANDS``, and ``HOOKS`` names the hooks. The entry
points (``System.open``) hand both to the application; the layers below never import
this module.
"""

from __future__ import annotations

from types import ModuleType

from classledger.application import (
    books,
    cabinet_users,
    clients,
    lessons,
    passes,
    registrations,
    settings,
    tenants,
)
from classledger.application.cache import AggregateCache
from classledger.application.registry import Commands, Hooks, commands_of
from classledger.application.service import ClassLedger
from classledger.store.database import Store
from classledger.writer import Writer

COMMAND_MODULES: tuple[ModuleType, ...] = (
    books,
    cabinet_users,
    clients,
    lessons,
    passes,
    registrations,
    settings,
    tenants,
)

COMMANDS: Commands = commands_of(COMMAND_MODULES)

HOOKS = Hooks(
    freeze=(passes.move_passes_for_freeze,),
    archive=(lessons.archive_bookings, registrations.cancel_open_registrations),
)


def application(store: Store, writer: Writer | None = None, cache: AggregateCache | None = None) -> ClassLedger:
    """The application over ``store``, running ``COMMANDS`` with ``HOOKS``; its writes go
    through ``writer`` and it reads aggregates through ``cache`` (``System.open`` wires
    both: the writer applies the projections and tells that cache). Alone, it gets a
    writer without projections that tells its own cache."""
    return ClassLedger(store, writer, cache, commands=COMMANDS, hooks=HOOKS)
