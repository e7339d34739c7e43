"""Worker processes sharing a rebuild's projections.

A large rebuild of several projections runs one spawned process per group of projections
(``partition``, balanced by ``Projection.weight``); each reads every event itself and runs
the bulk feed (``bulk.bulk_catch_up``) on its group's scratch tables. Each projection has
its own position, committed with its rows, so exactly-once, resuming and the tables do
not depend on how the projections are grouped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from classledger import projections as registry
from classledger.projections.bulk import bulk_catch_up
from classledger.projections.runtime import Projection, Runner
from classledger.store.database import Store

WORKERS = 2  # worker processes of a large rebuild of several projections (the machines have 2 CPUs)
PARALLEL_MIN = 100_000  # events to read before workers pay off: each costs a Python start (~1 s)


def partition(projections: Sequence[Projection], workers: int) -> list[list[str]]:
    """Projection names in at most ``workers`` groups of about equal ``weight`` (heaviest
    first, each to the lightest group so far; registry order among equals)."""
    groups: list[list[Projection]] = [[] for _ in range(max(1, workers))]
    for p in sorted(projections, key=lambda p: -p.weight):
        min(groups, key=lambda g: sum(q.weight for q in g)).append(p)
    return [[p.name for p in g] for g in groups if g]


def shareable(url: str) -> bool:
    """Whether another process can open the same database (not an in-memory SQLite)."""
    return not url.startswith("sqlite") or (":memory:" not in url and "mode=memory" not in url)


def run_workers(
    url: str,
    groups: list[list[str]],
    *,
    suffix: str,
    tenant_id: UUID | None,
    upto: int | None,
    page: int,
    progress: Callable[[int], None] | None,
) -> int:
    """Build the groups' tables (those named with ``suffix``: a rebuild's scratch copies)
    in one spawned process each; the events read (by the worker that read most). Progress
    follows the slowest worker. A worker that fails makes this raise once all have
    stopped; what they committed stays (a rerun resumes)."""
    import multiprocessing
    import queue

    # spawn, not fork: a forked child would share this process's open database connections.
    ctx = multiprocessing.get_context("spawn")
    messages = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(i, os.getpid(), url, g, suffix, tenant_id, upto, page, messages), daemon=True)
        for i, g in enumerate(groups)
    ]
    for proc in procs:
        proc.start()
    seen = [0] * len(procs)
    shown = 0
    done: dict[int, int] = {}
    failed: dict[int, str] = {}
    try:
        while len(done) + len(failed) < len(procs):
            try:
                kind, i, value = messages.get(timeout=0.5)
            except queue.Empty:
                for i, proc in enumerate(procs):  # died without a word (killed, out of memory)
                    if i not in done and i not in failed and not proc.is_alive():
                        failed[i] = f"worker exited with {proc.exitcode}"
                continue
            if kind == "page":
                seen[i] += value
                if progress and min(seen) > shown:
                    progress(min(seen) - shown)
                    shown = min(seen)
            elif kind == "done":
                done[i] = value
            else:
                failed[i] = str(value)
    finally:
        for proc in procs:
            if proc.is_alive() and (len(done) + len(failed) < len(procs)):
                proc.terminate()  # this process is failing (an exception, Ctrl-C): stop them too
            proc.join()
    if failed:
        raise RuntimeError("; ".join(f"worker {i} ({', '.join(groups[i])}): {m}" for i, m in sorted(failed.items())))
    return max(done.values(), default=0)


def _worker(
    index: int, parent: int, url: str, names: list[str], suffix: str, tenant_id: UUID | None, upto: int | None, page: int,
    messages: Any,
) -> None:
    """One worker process: ``bulk_catch_up`` for its projections' tables."""
    _die_with(parent)
    store = Store.open(url)
    try:
        runner = Runner(store, registry.select(store.db, names, suffix=suffix))
        read = bulk_catch_up(runner, upto=upto, tenant_id=tenant_id, page=page,
                             progress=lambda n: messages.put(("page", index, n)))
        messages.put(("done", index, read))
    except BaseException as e:
        messages.put(("error", index, f"{type(e).__name__}: {e}"))
        raise
    finally:
        store.close()


def _die_with(parent: int) -> None:
    """Be killed when the parent dies, even by ``kill -9`` (Linux ``PR_SET_PDEATHSIG``): an
    orphan would go on writing scratch tables the next run also builds (still exactly once,
    the positions see to that, but two builders where the operator started one)."""
    import ctypes
    import ctypes.util
    import signal

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the parent joins us anyway
        pass
    if os.getppid() != parent:
        os._exit(1)  # the parent died before the line above
