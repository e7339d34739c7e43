"""``classledger serve``: the API under uvicorn, projections kept current in the background."""

from __future__ import annotations

import uvicorn

from classledger.http.app import create_app
from classledger.system import System


def serve(system: System, host: str = "127.0.0.1", port: int = 8000) -> None:
    system.start_background()
    uvicorn.run(create_app(system), host=host, port=port, log_level="info", access_log=False)
