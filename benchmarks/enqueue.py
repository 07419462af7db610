"""In-process enqueue rate (jobs.enqueue), in the same run as the API's submit, so the two
read as a ratio: one job a call (each committed and pushed on its own) and 100 a call.

Measured with the API run's shape: as many callers as the API's closed loop has clients
(BENCH_API_CONCURRENCY), in as many processes as gunicorn has workers, so the ratio says
what the HTTP hop costs, not what concurrency buys. One caller alone is reported too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from benchmarks.api import CONCURRENCY
from benchmarks.stats import summary

SECONDS = float(os.environ.get("BENCH_ENQUEUE_SECONDS", os.environ.get("BENCH_API_SECONDS", "10")))
PROCESSES = int(os.environ.get("GUNICORN_WORKERS", "2"))


def callers(env: dict[str, str], kind: str, processes: int, threads: int) -> float:
    """Jobs/s of `processes` x `threads` callers enqueueing for SECONDS, started together."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.enqueue_callers", kind, str(threads), str(SECONDS)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", "an enqueue caller failed to start"
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(p.stdout.readline()) for p in procs]
    finally:
        for p in procs:
            try:
                p.wait(timeout=SECONDS + 30)
            except subprocess.TimeoutExpired:
                p.kill()
    return sum(r["jobs"] for r in results) / max(r["seconds"] for r in results)


def run_all(env: dict[str, str], runs: int) -> dict[str, object]:
    from jobs.models import Job

    threads = max(1, CONCURRENCY // PROCESSES)
    out: dict[str, object] = {}
    for kind in ("one", "many"):
        for label, shape in (("", (PROCESSES, threads)), ("_single", (1, 1))):
            results = []
            for _ in range(runs):
                Job.objects.all().delete()
                results.append(callers(env, kind, *shape))
            out[f"enqueue_{kind}{label}_jobs_per_s"] = summary(results)
    return out
