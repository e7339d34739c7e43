"""The HTTP layer's hop off the event loop: the pipeline and the read models are
synchronous (and block on the database), so every route runs them on a worker thread.

One plain thread pool, entered through the loop's own executor hook: starlette's
``run_in_threadpool`` (anyio's worker threads, capacity limiter and cancel scopes) cost
more CPU per hop than the rest of the HTTP path together, and a write makes one hop (its
key's lookup and its command together, ``writes``). Same contract: the call runs in a copy of the
caller's context, and a request cancelled meanwhile does not stop a call already running.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

THREADS = 40  # as many as anyio's default limiter let starlette run at once
_POOL = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="http")


async def run_in_threadpool(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` on a worker thread, awaited."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_POOL, call)
