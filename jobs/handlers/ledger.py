"""Test ledger: demo handlers append a line per step when QUEUEY_LEDGER_PATH is set and
the test settings turned it on (QUEUEY_FAULT_HANDLERS; jobs/apps.py): a production
process never reads the variable.

The fault tests read it to prove which attempts really ran: each line carries the job id,
the attempt number, its fencing token, the step (start / end), the pid and the wall time.
Lines are short and written with one O_APPEND write, so lines from several processes
never interleave.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from jobs.handlers.context import current_attempt, current_job_id, current_token

ENABLED = False


def record_step(payload: dict[str, Any], step: str = "run") -> None:
    if not ENABLED:
        return
    path = os.environ.get("QUEUEY_LEDGER_PATH")
    if not path:
        return
    line = json.dumps(
        {
            "job": current_job_id(),
            "attempt": current_attempt(),
            "token": current_token(),
            "step": step,
            "pid": os.getpid(),
            "t": round(time.time(), 3),
        }
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)
