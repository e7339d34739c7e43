"""``classledger serve``: the API under uvicorn, projections kept current in the background.

``--workers N`` runs N worker processes, each with its own System on the same database
(``CLASSLEDGER_DATABASE_URL``): the command path is Python and holds the GIL, so a
second core needs a second process. On SQLite the workers still share one writer, and
the log says so at start. The processes meet at the database: on SQLite
their writers queue on a file lock (store/writer_lock.py), on PostgreSQL on the events
table's lock; each one's aggregate cache evicts what the others wrote (application/cache.py).
"""

from __future__ import annotations

import logging
import os

import uvicorn
from starlette.applications import Starlette

from classledger.http.app import create_app
from classledger.http.inputs import BODY_LIMIT
from classledger.http.protocol import KEEP_ALIVE, JsonHttpToolsProtocol
from classledger.system import System

# The httptools protocol with JSON protocol errors, the head's limit and read timeouts
# (protocol.py), on every worker, on uvloop's event loop (each cuts the server's CPU per
# request against h11 and asyncio's loop: docs/performance.md).
_UVICORN = {"log_level": "info", "access_log": False, "server_header": False, "http": JsonHttpToolsProtocol,
            "loop": "uvloop", "timeout_keep_alive": KEEP_ALIVE}


log = logging.getLogger("classledger.http")

SQLITE_WORKERS = (
    "serving with %d workers on SQLite: their writes take turns on the database's one writer lock, "
    "so writes go no faster than with --workers 1, and under many concurrent writers somewhat slower "
    "(docs/performance.md); the extra workers serve reads"
)


def app_from_environment() -> Starlette:
    """What each worker process of ``serve --workers N`` serves: its own System (under the
    audit key of the environment, as the supervisor that checked it)."""
    system = System.from_environment(os.environ)
    system.start_background()
    return create_app(system)


def serve(system: System, host: str = "127.0.0.1", port: int = 8000, *, body_limit: int = BODY_LIMIT,
          workers: int = 1) -> None:
    if workers > 1 and system.store.dialect == "sqlite":
        log.warning(SQLITE_WORKERS, workers)
    if workers > 1:
        # This process only supervises; the workers open the database themselves.
        system.close()
        uvicorn.run("classledger.http.serve:app_from_environment", factory=True, workers=workers, host=host,
                    port=port, **_UVICORN)  # type: ignore[arg-type]
        return
    # Reads catch up on demand too; the loop keeps that catch-up short when other
    # processes (the CLI, an import) write.
    system.start_background()
    uvicorn.run(create_app(system, body_limit=body_limit), host=host, port=port, **_UVICORN)  # type: ignore[arg-type]
