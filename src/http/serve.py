"""``classledger serve``: the API under uvicorn, projections kept current in the background."""

from __future__ import annotations

import uvicorn

from classledger.http.app import create_app
from classledger.http.inputs import BODY_LIMIT
from classledger.system import System


def serve(system: System, host: str = "127.0.0.1", port: int = 8000, *, body_limit: int = BODY_LIMIT) -> None:
    # Reads catch up on demand too; the loop keeps that catch-up short when other
    # processes (the CLI, an import) write.
    system.start_background()
    uvicorn.run(
        create_app(system, body_limit=body_limit),
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        server_header=False,
    )
