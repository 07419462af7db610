"""Prometheus series of the process-local events (jobs/events.py moves them).

Naming: `queuey_` prefix, base units, `_total` counters, labels only from bounded sets
(queue, job type, outcome): never a job id, dedupe key or API key. Under gunicorn and
under `runworker --processes N` these live in prometheus_client's multiprocess files,
so a scrape sums every process and a dead process's counts stay in the sum. Gauges of
the stores (depth, oldest age, workers online, ...) are not here: they are computed at
scrape time by one process (jobs/store_gauges.py), so they are never summed twice.
"""

from __future__ import annotations

import functools
from typing import TypeVar, cast

from prometheus_client import Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase

M = TypeVar("M", bound=MetricWrapperBase)

# Explicit buckets up to an hour: queue waits and run times span that range.
SECONDS_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    1800,
    3600,
)
_JOB = ["queue", "type"]

JOBS_ENQUEUED = Counter("queuey_jobs_enqueued_total", "Jobs accepted", _JOB)
JOBS_DEDUPLICATED = Counter(
    "queuey_jobs_deduplicated_total", "Submits answered with an existing job (dedupe_key)", _JOB
)
JOBS_STARTED = Counter("queuey_jobs_started_total", "Attempts started", _JOB)
JOBS_FINISHED = Counter(
    "queuey_jobs_finished_total", "Attempts ended, by outcome", [*_JOB, "outcome"]
)
JOBS_RETRIED = Counter("queuey_jobs_retried_total", "Retries scheduled after a failure", _JOB)
JOBS_DEAD_LETTERED = Counter(
    "queuey_jobs_dead_lettered_total", "Jobs moved to the dead-letter queue", _JOB
)
LEASES_EXPIRED = Counter(
    "queuey_leases_expired_total", "Leases the watchdog found expired (attempt lost)", _JOB
)
STALE_REFUSED = Counter(
    "queuey_stale_results_refused_total",
    "Results refused because the attempt had lost its lease (fencing)",
    _JOB,
)
JOBS_CANCELLED = Counter("queuey_jobs_cancelled_total", "Jobs cancelled", _JOB)
JOBS_REPLAYED = Counter(
    "queuey_jobs_replayed_total", "Dead, retrying or scheduled jobs queued again by an admin", _JOB
)
JOBS_REDISPATCHED = Counter(
    "queuey_jobs_redispatched_total",
    "Jobs dispatched again from the database by the reconciler",
    ["queue"],
)
WORKERS_STARTED = Counter("queuey_workers_started_total", "Worker processes started")
WORKERS_STOPPED = Counter("queuey_workers_stopped_total", "Worker processes stopped")
WATCHDOG_PASSES = Counter("queuey_watchdog_passes_total", "Watchdog passes", ["result"])

WAIT_SECONDS = Histogram(
    "queuey_job_wait_seconds", "Enqueued (or due) to started", ["queue"], buckets=SECONDS_BUCKETS
)
RUN_SECONDS = Histogram(
    "queuey_job_run_seconds", "Handler run time of an attempt", _JOB, buckets=SECONDS_BUCKETS
)
END_TO_END_SECONDS = Histogram(
    "queuey_job_end_to_end_seconds",
    "Enqueued to finished (the attempt that ended the job)",
    _JOB,
    buckets=SECONDS_BUCKETS,
)


def labeled(metric: M, *values: str) -> M:
    """The metric's child for these label values (in labelnames order), looked up once:
    labels() validates, converts and locks on every call, 6 us paid per job on the
    submit and worker paths. Label values here come from bounded sets (queues, job types,
    outcomes, views, status codes), so the cache stays small."""
    return cast(M, _child(metric, *values))


@functools.cache
def _child(metric: MetricWrapperBase, *values: str) -> MetricWrapperBase:
    return metric.labels(*values)
