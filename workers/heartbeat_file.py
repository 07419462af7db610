"""A file whose modification time says the process is alive and doing its rounds.

Container health checks (Dockerfile HEALTHCHECK, Compose, ECS) run in the container, not
in the process: they read this file's age (`python -m workers.healthcheck`), which costs
no Django start-up and no Redis round trip. QUEUEY_HEARTBEAT_FILE names it; unset, none
is written.
"""

from __future__ import annotations

import contextlib
import os

ENV = "QUEUEY_HEARTBEAT_FILE"


def path() -> str:
    return os.environ.get(ENV, "")


def touch() -> None:
    """Mark the process alive now; a full or read-only disk never stops the worker."""
    target = path()
    if not target:
        return
    with contextlib.suppress(OSError), open(target, "a"):
        os.utime(target)
