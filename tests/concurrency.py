"""Several writers at once, as a server's request threads are."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def run_in_threads(work: Callable[[T], object], items: Iterable[T]) -> list[BaseException]:
    """``work(item)`` for every item, each on its own thread, all started before any is
    joined; what any of them raised (the test asserts it is nothing)."""
    errors: list[BaseException] = []

    def guarded(item: T) -> None:
        try:
            work(item)
        except BaseException as e:  # pragma: no cover - reported by the caller's assertion
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
