"""The bootstrap lists every command and hook: forgetting one fails here, not in production."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

from classledger import application, bootstrap
from classledger.application import clients, registry
from classledger.application.registry import Args, Ctx, Hooks, command, commands_of, spec_of


def _application_modules() -> list[ModuleType]:
    return [importlib.import_module(f"{application.__name__}.{m.name}")
            for m in pkgutil.iter_modules(application.__path__)]


def test_every_module_defining_a_command_is_listed() -> None:
    defining = {m.__name__ for m in _application_modules()
                if any(spec_of(obj) is not None and obj.__module__ == m.__name__ for obj in vars(m).values())}
    assert defining  # the walk found the command modules at all
    assert defining == {m.__name__ for m in bootstrap.COMMAND_MODULES}


def test_every_marked_handler_is_a_command_under_its_name() -> None:
    marked = {spec.name: spec for m in _application_modules() for obj in vars(m).values()
              if (spec := spec_of(obj)) is not None}
    assert dict(bootstrap.COMMANDS) == marked


def test_marking_registers_nothing() -> None:
    """``@command`` only marks: a handler nobody lists is no command."""

    @command("not_listed", Args)
    def not_listed(ctx: Ctx, a: Args) -> dict[str, str]:
        """Nothing."""
        return {}

    spec = spec_of(not_listed)
    assert spec is not None
    assert (spec.name, spec.summary, spec.need) == ("not_listed", "Nothing.", "admin")
    assert "not_listed" not in bootstrap.COMMANDS


def test_a_name_defined_twice_is_refused() -> None:
    twice = ModuleType("twice")

    def one(ctx: Ctx, a: Args) -> dict[str, str]:
        return {}

    def other(ctx: Ctx, a: Args) -> dict[str, str]:
        return {}

    for fn in (one, other):
        fn.__module__ = twice.__name__
        setattr(twice, fn.__name__, command("same", Args)(fn))
    with pytest.raises(RuntimeError, match="same"):
        commands_of([twice])


def test_the_hooks_are_the_ones_the_client_commands_run() -> None:
    """Each hook has the shape its list takes, and the clients' commands run them from the
    application they are given, not from anything an import filled."""
    assert isinstance(bootstrap.HOOKS, Hooks)
    for hook in bootstrap.HOOKS.freeze:
        assert list(inspect.signature(hook).parameters) == ["ctx", "client_id", "start", "end"]
    for hook in bootstrap.HOOKS.archive:
        assert list(inspect.signature(hook).parameters) == ["ctx", "client_id"]
    assert bootstrap.HOOKS.freeze
    assert bootstrap.HOOKS.archive
    assert not any(isinstance(v, list) for v in vars(clients).values())
    assert not hasattr(registry, "COMMANDS")
