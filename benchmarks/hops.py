"""Where a job's start latency goes: the hops from submit to its handler's thread.

With BENCH_HOPS_DIR set, the benchmark's producer submits through `submit` (the steps
of services.submit_job for a job without a dedupe key, each timed) and its workers run
HopWorker (benchmarks/settings.py selects it): every process appends `job hop time`
lines to a file of its own in that directory, on the machine's one wall clock, and
`summarize` turns them into p50 / p99 per hop. Production code carries none of this.

Hops: commit (submit -> row committed), enqueue (-> in Redis), wake (-> a blocked
worker woke; 0 when one was awake), claim (-> the claim's reply), hand_off (-> a
handler thread took it), total (submit -> handler thread).
"""

from __future__ import annotations

import os
import threading
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.stats import percentile
from workers.worker import Worker  # imported once Django is set up (bench and workers)

DIR_ENV = "BENCH_HOPS_DIR"
HOPS = ("commit", "enqueue", "wake", "claim", "hand_off", "total")

_lock = threading.Lock()
_file = None


def record(job_id: str, stamp: str, at: float) -> None:
    global _file
    with _lock:
        if _file is None:
            path = Path(os.environ[DIR_ENV]) / f"{os.getpid()}.hops"
            _file = open(path, "a", buffering=1)  # noqa: SIM115  # one line per write
        _file.write(f"{job_id} {stamp} {at:.6f}\n")


def submit(request) -> str:
    """services.submit_job's steps for a plain job, with a time stamp after each."""
    from django.db import connection, transaction

    from jobs.bulk_insert import insert_rows
    from jobs.dispatch import dispatch_of, try_dispatch
    from jobs.models import Job
    from jobs.submission import JOB_COLUMNS, prepare

    began = time.time()
    prepared = prepare(request)
    if connection.vendor == "postgresql":
        insert_rows(Job, JOB_COLUMNS, [prepared.row])
    else:
        with transaction.atomic():
            insert_rows(Job, JOB_COLUMNS, [prepared.row])
    committed = time.time()
    try_dispatch(None, [dispatch_of(prepared.job, prepared.payload_json)])
    enqueued = time.time()
    job_id = str(prepared.job.id)
    for stamp, at in (("submit", began), ("committed", committed), ("enqueued", enqueued)):
        record(job_id, stamp, at)
    return job_id


class HopWorker(Worker):
    """The worker with a time stamp at its wake-up, its claim's reply and the hand-off."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._woke = 0.0
        wait = self.broker.wait_for_work

        def waited(timeout: float) -> bool:
            found = wait(timeout)
            self._woke = time.time()
            return found

        self.broker.wait_for_work = waited  # type: ignore[method-assign]

    def _start(self, jobs) -> None:
        claimed = time.time()
        for job in jobs:
            record(job.id, "woke", self._woke)
            record(job.id, "claimed", claimed)
        super()._start(jobs)

    def _execute(self, job) -> bool:
        record(job.id, "handed", time.time())
        return super()._execute(job)


def summarize(directory: Path) -> dict[str, float]:
    """p50 / p99 in ms of each hop, over the jobs every stamp was seen for."""
    stamps: dict[str, dict[str, float]] = defaultdict(dict)
    for path in directory.glob("*.hops"):
        for line in path.read_text().splitlines():
            job_id, stamp, at = line.split()
            stamps[job_id].setdefault(stamp, float(at))  # the first claim of a job
    hops: dict[str, list[float]] = {h: [] for h in HOPS}
    wanted = {"submit", "committed", "enqueued", "woke", "claimed", "handed"}
    for s in stamps.values():
        if not wanted <= s.keys():
            continue
        ready = max(s["woke"], s["enqueued"])
        for hop, ms in (
            ("commit", s["committed"] - s["submit"]),
            ("enqueue", s["enqueued"] - s["committed"]),
            ("wake", max(0.0, s["woke"] - s["enqueued"])),
            ("claim", s["claimed"] - ready),
            ("hand_off", s["handed"] - s["claimed"]),
            ("total", s["handed"] - s["submit"]),
        ):
            hops[hop].append(ms * 1000)
    out = {"jobs": float(len(hops["total"]))}
    if not hops["total"]:
        return out
    for hop, values in hops.items():
        out[f"{hop}_p50_ms"] = percentile(values, 50)
        out[f"{hop}_p99_ms"] = percentile(values, 99)
    return out
