"""In-process enqueue rate (jobs.enqueue), in the same run as the API's submit, so the two
read as a ratio: one job a call (each committed and pushed on its own) and 100 a call."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from benchmarks.stats import summary

SECONDS = float(os.environ.get("BENCH_ENQUEUE_SECONDS", os.environ.get("BENCH_API_SECONDS", "10")))
BATCH = 100


def _jobs_per_s(enqueue_some: Callable[[int], int], seconds: float) -> float:
    """Call enqueue_some(n) until `seconds` pass; jobs enqueued per second."""
    done, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        done += enqueue_some(done)
    return done / elapsed


def run_all(runs: int) -> dict[str, object]:
    from jobs.enqueue import enqueue, enqueue_many
    from jobs.models import Job

    def one(n: int) -> int:
        enqueue("demo.noop", {"n": n})
        return 1

    def many(n: int) -> int:
        return len(
            enqueue_many([{"type": "demo.noop", "payload": {"n": n + i}} for i in range(BATCH)])
        )

    out: dict[str, object] = {}
    for name, call in (("one", one), ("many", many)):
        results = []
        for _ in range(runs):
            Job.objects.all().delete()
            results.append(_jobs_per_s(call, SECONDS))
        out[f"enqueue_{name}_jobs_per_s"] = summary(results)
    return out
