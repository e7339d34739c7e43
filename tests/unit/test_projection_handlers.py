"""Every projection handler reads only fields its events have.

A handler names the event classes it handles (``@handles(ClientRegistered)``); this reads
each handler's source and checks that every key it reads from the event's data
(``ev.data["x"]``, ``d["x"]`` or ``d.get("x")`` after ``d = ev.data``) is a field of one of
those classes (the current shape: stored events are upcast before a handler sees them).
A renamed field or a typo in a handler then fails here, not on a customer's event.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

import classledger.projections  # noqa: F401  (every projection's module, so every subclass is seen)
from classledger.projections.runtime import Projection, event_name


def _concrete(cls: type[Projection]) -> Iterator[type[Projection]]:
    for sub in cls.__subclasses__():
        if "name" in vars(sub):
            yield sub
        yield from _concrete(sub)


PROJECTIONS = sorted(set(_concrete(Projection)), key=lambda c: c.__name__)


def _handlers(cls: type[Projection]) -> list[tuple[Callable[..., Any], tuple[type[Any], ...]]]:
    seen: dict[int, tuple[Callable[..., Any], tuple[type[Any], ...]]] = {}
    for fn in cls.handlers.values():
        seen[id(fn)] = (fn, tuple(getattr(fn, "_handles", ())))
    return list(seen.values())


def _is_data(node: ast.expr, aliases: set[str]) -> bool:
    """``ev.data`` (any name before ``.data``) or a local bound to it."""
    if isinstance(node, ast.Attribute) and node.attr == "data":
        return True
    return isinstance(node, ast.Name) and node.id in aliases


def data_keys(fn: Callable[..., Any]) -> set[str]:
    """The constant keys ``fn`` reads from its event's data."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    aliases = {"data"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and _is_data(node.value, set()):
            aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_data(node.value, aliases):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                keys.add(node.slice.value)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and _is_data(node.func.value, aliases) and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            keys.add(node.args[0].value)
    return keys


def test_every_projection_is_seen() -> None:
    assert {c.name for c in PROJECTIONS} >= {
        "keys", "activity", "clients", "books", "passes", "cabinet", "cabinet_users", "lessons", "catalogue", "trail",
    }


@pytest.mark.parametrize("cls", PROJECTIONS, ids=lambda c: c.__name__)
def test_handlers_name_event_classes_and_read_their_fields(cls: type[Projection]) -> None:
    handlers = _handlers(cls)
    assert handlers, f"{cls.__name__} handles nothing"
    for fn, events in handlers:
        assert events, f"{cls.__name__}.{fn.__name__} handles no event class"
        for event in events:
            assert isinstance(event, type), (fn.__name__, event)
            assert issubclass(event, BaseModel), (fn.__name__, event)
            assert event.__module__.startswith("classledger.aggregates."), (fn.__name__, event)
            assert cls.events[event_name(event)] is event
        fields = {f for event in events for f in event.model_fields}
        unknown = data_keys(fn) - fields
        assert not unknown, (
            f"{cls.__name__}.{fn.__name__} reads {sorted(unknown)}, not a field of "
            f"{sorted(e.__name__ for e in events)}"
        )


def test_the_check_sees_a_misspelt_field() -> None:
    """The parser above finds keys read in each of the ways handlers read them."""

    def handler(self: Any, tx: Any, ev: Any) -> None:
        d = ev.data
        self.use(d["client_id"], ev.data["name"], d.get("phones"), data["tags"])

    data: dict[str, Any] = {}
    assert data_keys(handler) == {"client_id", "name", "phones", "tags"}
    assert not data
