"""SQLite writers queue on an OS file lock before they ask SQLite for its write lock.

SQLite lets one writer in at a time, and a writer that finds the lock taken waits in the
busy handler, which sleeps (1, 2, 5, 10, ... ms) and polls. Between processes (a server
with several workers, the CLI beside a server, a projection process) that turns every
collision into milliseconds of sleeping while the lock sits free: measured here, two
processes paying at once did half the payments of one. ``flock`` blocks in the kernel
and wakes the next waiter the moment the lock is released, so the writers of all
processes form a queue and SQLite's own lock is always free when asked for.

It is only a queue in front of SQLite's lock, never a replacement for it: a writer that
doesn't take it (an older version, the sqlite3 shell) still meets the busy handler, and
correctness never depends on this file. ``:memory:`` and URI databases have no file to
lock beside them and skip it.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["writer_lock"]


class _WriterLock:
    """One per database file and process: the thread lock orders this process's
    writers (``flock`` does not block between threads sharing a descriptor), the file
    lock orders the processes."""

    def __init__(self, path: str) -> None:
        # Re-entrant: a write that opens another write in the same thread must not wait
        # for itself; only the outermost one takes and releases the file lock.
        self.threads = threading.RLock()
        self.depth = 0
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self.threads:
            if self.depth == 0:
                fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if self.depth == 0:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)


_locks: dict[str, _WriterLock] = {}
_guard = threading.Lock()


@contextmanager
def writer_lock(db_path: str) -> Iterator[None]:
    """Hold the process-wide queue for writing ``db_path`` (a no-op without a file)."""
    if db_path == ":memory:" or db_path.startswith("file:"):
        yield
        return
    key = os.path.abspath(db_path)
    lock = _locks.get(key)
    if lock is None:
        with _guard:
            lock = _locks.get(key) or _locks.setdefault(key, _WriterLock(key + "-writer.lock"))
    with lock.hold():
        yield
