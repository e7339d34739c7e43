"""A read model's handlers write no row themselves: they read, and hand their writes to
the page helpers of ``projections/runtime.py`` — ``QueuedProjection`` (inserts queued
over the page, any other statement through ``_sql``, which sends the queue first so the
events' order holds) or ``PagedProjection`` (rows held for the page, written when it
ends). So what a page writes goes out in a few statements, in order, and a discarded page
leaves nothing behind. This reads every projection class's source and fails on an
``INSERT``, ``UPDATE`` or ``DELETE`` sent straight through the transaction.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator

import pytest

import classledger.projections
from classledger.projections.runtime import PagedProjection, Projection, QueuedProjection
from classledger.store.database import Database

WRITES = ("INSERT", "UPDATE", "DELETE")
SENDS = {"execute", "executemany", "update"}


def _direct_writes(cls: type[Projection]) -> Iterator[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SENDS
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "tx" and node.args):
            continue
        sql = node.args[0]
        first = sql.values[0] if isinstance(sql, ast.JoinedStr) and sql.values else sql
        if isinstance(first, ast.Constant) and str(first.value).lstrip().upper().startswith(WRITES):
            yield f"{cls.__name__} line {node.lineno}: tx.{node.func.attr}({str(first.value)[:40]!r}...)"


def _classes() -> list[type[Projection]]:
    return [type(p) for p in classledger.projections.build(Database.__new__(Database))]


@pytest.mark.parametrize("cls", _classes(), ids=lambda c: c.__name__)
def test_a_projection_writes_through_its_page(cls: type[Projection]) -> None:
    assert issubclass(cls, QueuedProjection | PagedProjection)
    assert list(_direct_writes(cls)) == []


def test_the_check_sees_a_direct_write() -> None:
    class Careless(QueuedProjection):
        name = "careless"

        def _h(self, tx: object) -> None:
            tx.execute(f"UPDATE {self.t('x')} SET a = 1")  # type: ignore[attr-defined]

    assert len(list(_direct_writes(Careless))) == 1
