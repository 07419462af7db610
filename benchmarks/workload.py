"""Scenarios that need only the engine: drain, steady-rate latency, idle cost."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time
from pathlib import Path

from django.db import connections

from benchmarks.stats import children_of, cpu_seconds, peak_rss_mib, percentile
from jobs.models import Job
from jobs.services import submit_batch, submit_job
from jobs.submission import JobRequest


def reset() -> None:
    Job.objects.all().delete()


def wait_until_succeeded(count: int, timeout: float) -> float:
    """Seconds until `count` jobs are succeeded in the database (polled every 20 ms)."""
    start = time.monotonic()
    while Job.objects.filter(status="succeeded").count() < count:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"only {Job.objects.filter(status='succeeded').count()}/{count}")
        time.sleep(0.02)
    return time.monotonic() - start


def seed_noops(count: int) -> None:
    for start in range(0, count, 1000):
        submit_batch(
            [
                JobRequest(type="demo.noop", payload={"i": i})
                for i in range(start, min(count, start + 1000))
            ]
        )


def drain(stack, count: int) -> dict:
    """Jobs already queued; time from starting 2 worker processes until all succeeded.

    The workers are started after seeding, so their start-up (about a second of Django
    import) is inside the figure; `drain_steady_jobs_per_s` leaves it out by timing from
    the first success."""
    reset()
    seed_noops(count)
    start = time.monotonic()
    supervisor = stack.start_workers()
    while not Job.objects.filter(status="succeeded").exists():
        time.sleep(0.005)
    first = time.monotonic()
    wait_until_succeeded(count, timeout=600)
    end = time.monotonic()
    rss = max((peak_rss_mib(p) for p in children_of(supervisor.pid)), default=0.0)
    stack.stop_workers()
    return {
        "jobs_per_s": count / (end - start),
        "steady_jobs_per_s": count / (end - first),
        "worker_peak_rss_mib": rss,
    }


def warm_up(processes: int, timeout: float = 60.0) -> dict:
    """Block until `processes` workers have announced themselves (heartbeat in the broker,
    jobs.selectors.list_workers) and each has run a job, so a latency run never measures
    a worker still importing Django. Submits a few no-ops at a time until every announced
    worker shows up in an attempt record; deletes them after. Returns how long it took."""
    from jobs.models import Attempt
    from jobs.selectors import list_workers

    began = time.monotonic()
    while True:
        ids = {w["id"] for w in list_workers()}
        ran = set(Attempt.objects.filter(worker_id__in=ids).values_list("worker_id", flat=True))
        if len(ids) >= processes and ran >= ids:
            break
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"workers announced {len(ids)}, ran a job {len(ran)}")
        if len(ids) >= processes:
            for _ in range(2 * processes):
                submit_job(JobRequest(type="demo.noop", payload={"warm_up": True}))
        time.sleep(0.05)
    reset()
    return {"warm_up_s": time.monotonic() - began, "workers": sorted(ids)}


def steady_rate(rate: int, seconds: float, producers: int, submit=None) -> dict:
    """Submit demo.noop at `rate` jobs/s for `seconds` from `producers` processes (one
    Python process cannot submit 1,000/s on its own); latencies come from Queuey's own
    timestamps: created (submit), started (handler start), finished (handler end)."""
    reset()
    per_producer = int(rate * seconds) // producers
    interval = producers / rate
    t0 = time.time() + 0.5
    connections.close_all()  # children open their own connections after the fork
    context = multiprocessing.get_context("fork")
    procs = [
        context.Process(
            target=_produce,
            args=(t0 + k * interval / producers, interval, per_producer, submit),
        )
        for k in range(producers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    achieved = per_producer * producers / (time.time() - t0)
    wait_until_succeeded(per_producer * producers, timeout=120)
    rows = Job.objects.values_list("created_at", "started_at", "finished_at")
    started = [(s - c).total_seconds() * 1000 for c, s, _ in rows]
    finished = [(f - c).total_seconds() * 1000 for c, _, f in rows]
    return {
        "rate": rate,
        "achieved_rate": achieved,
        "jobs": len(started),
        **{f"started_p{q}_ms": percentile(started, q) for q in (50, 95, 99)},
        **{f"finished_p{q}_ms": percentile(finished, q) for q in (50, 95, 99)},
    }


def _produce(first_due: float, interval: float, count: int, submit=None) -> None:
    submit = submit or submit_job
    for i in range(count):
        delay = first_due + i * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        submit(JobRequest(type="demo.noop", payload={}))
    connections.close_all()


def idle_cpu(stack, seconds: float = 10.0) -> dict:
    """CPU share of idle worker processes (no jobs) over `seconds`."""
    supervisor = stack.start_workers()
    time.sleep(2)
    pids = children_of(supervisor.pid)
    before = {p: cpu_seconds(p) for p in pids}
    time.sleep(seconds)
    share = max((cpu_seconds(p) - before[p]) / seconds * 100 for p in pids)
    stack.stop_workers()
    return {"idle_worker_cpu_percent": share}


def hop_breakdown(stack, rate: int, seconds: float) -> dict:
    """A steady run with the hop probe on (benchmarks/hops.py), apart from the latency
    runs so that their figures carry no probe: where the start latency goes."""
    from benchmarks import hops

    directory = Path(tempfile.mkdtemp(prefix="queuey-hops-"))
    os.environ[hops.DIR_ENV] = str(directory)  # the producer, forked from here
    try:
        stack.start_workers(
            DJANGO_SETTINGS_MODULE="benchmarks.settings", **{hops.DIR_ENV: str(directory)}
        )
        warm_up(processes=2)
        steady_rate(rate, seconds, 1, submit=hops.submit)
        stack.stop_workers()
        return hops.summarize(directory)
    finally:
        del os.environ[hops.DIR_ENV]
        shutil.rmtree(directory, ignore_errors=True)
