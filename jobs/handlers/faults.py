"""Handlers that hang, spin or kill their worker, for the fault tests (tests/chaos,
tests/acceptance). Registered only with QUEUEY_FAULT_HANDLERS on (jobs/apps.py): in a
production configuration any key with the submit scope could otherwise kill workers or
burn their CPU."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from jobs.handlers.ledger import record_step
from jobs.handlers.registry import handler


@handler("demo.spin")
def spin(payload: dict[str, Any]) -> int:
    """CPU-bound for payload.seconds: proves a busy handler cannot starve lease renewal."""
    record_step(payload, "start")
    deadline = time.monotonic() + float(payload.get("seconds", 1))
    n = 0
    while time.monotonic() < deadline:
        n += 1
    record_step(payload, "end")
    return n


@handler("demo.hang", max_attempts=1)
def hang(payload: dict[str, Any]) -> None:
    """Never returns on its own: only a hard timeout ends it."""
    record_step(payload, "start")
    while True:
        time.sleep(0.05)


@handler("demo.crash", max_attempts=2, backoff_base=0.1, backoff_max=0.5)
def crash(payload: dict[str, Any]) -> None:
    """A poison job: kills its own worker process."""
    record_step(payload, "start")
    if payload.get("how") == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(3)
