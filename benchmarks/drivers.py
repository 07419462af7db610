"""The Redis side of a worker with no handler and no database: claim a batch, finish it
as succeeded, settle it. Benchmarks run it in forked processes to load Redis alone."""

from __future__ import annotations

import json
import time
from typing import Any

from jobs.broker.client import Broker
from jobs.broker.types import Outcome


def claim_finish_settle(
    broker: Broker, queues: list[str], batch: int, deadline: float, done: Any
) -> None:
    """Loop until the queues are empty or the deadline passes; `done` (a
    multiprocessing.Value) counts the jobs."""
    while time.monotonic() < deadline:
        claimed = broker.claim(
            max_jobs=batch, worker_id="bench:0:0", queues=queues, visibility_ms=60_000
        )
        if not claimed:
            return
        now = broker.now_ms()
        finished = broker.finish(
            [
                Outcome(c.id, c.token, "succeeded", "null", "", now, now, 0, c.attempt, c.run)
                for c in claimed
            ]
        )
        broker.settle([(f.entry, f.job_id, str(json.loads(f.entry)["v"])) for f in finished])
        with done.get_lock():
            done.value += len(claimed)
