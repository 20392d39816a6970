"""``python -m servekit.container``: the SageMaker serving container's server (``serve``)."""

from __future__ import annotations

import sys

from servekit.container.settings import ContainerSettings
from servekit.container.wiring import build_app
from servekit.runtime.errors import RuntimeCoreError
from servekit.settings import SettingsError

__all__ = ["main"]

# SageMaker reuses connections to the container; keep them open longer than its idle time.
KEEP_ALIVE_S = 75


def main() -> int:
    import uvicorn

    try:
        settings = ContainerSettings.from_env()
        app = build_app(settings)
    except (SettingsError, RuntimeCoreError) as exc:
        print(f"servekit container: cannot start: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=KEEP_ALIVE_S,
        backlog=2048,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
