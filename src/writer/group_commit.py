"""Group commit: commands saved at the same moment share one transaction and one fsync.

Every save is a ``Job``. The first thread to arrive while no write is under way leads:
it takes every job queued so far and writes them in one transaction, each job inside its
own savepoint, so a job that conflicts (optimistic concurrency, a reused key) is rolled
back alone and its thread gets the error, while the others commit. Threads that arrive
during a write queue up; when it commits, the first of them leads the next batch. There
is no waiting on purpose: a lone writer commits at once, exactly as before, and under
load the batch is whatever queued during the previous commit, so the durable commit
(the slowest step on both engines) is paid once per batch instead of once per command.

``GroupCommit`` only queues and hands over; what one transaction does with its jobs is
the writer's (writer.py). Within one process this is what lets the front desk's many concurrent writes sustain a
rate close to the database's single-row commit rate. Across processes the database's
own lock still serializes writers, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from classledger.writer.write import Write, Written

MAX_BATCH = 64


@dataclass(eq=False)
class Job:
    """One write queued for a transaction, and, once that is over, its outcome."""

    write: Write
    written: Written | None = None  # set when it landed
    error: BaseException | None = None  # set when it did not
    finished: bool = False
    wake: threading.Event = field(default_factory=threading.Event)


class GroupCommit:
    def __init__(self, write_batch: Callable[[list[Job]], None]) -> None:
        self._write_batch = write_batch
        self._lock = threading.Lock()
        self._queue: list[Job] = []
        self._busy = False

    def submit(self, job: Job) -> Job:
        """Write the job (alone or with others); returns it with ``written`` or ``error`` set."""
        with self._lock:
            self._queue.append(job)
            lead = not self._busy
            self._busy = True
        if not lead:
            job.wake.wait()
            if job.finished:
                return job
            # Woken without a result: this thread leads the next batch.
        with self._lock:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
        try:
            self._write_batch(batch)
        except BaseException as e:  # the transaction itself failed: nobody's job landed
            for j in batch:
                j.written = None
                if j.error is None:
                    j.error = e
        finally:
            for j in batch:
                j.finished = True
                if j is not job:
                    j.wake.set()
            with self._lock:
                if self._queue:
                    self._queue[0].wake.set()  # promote: the first in line leads next
                else:
                    self._busy = False
        return job
