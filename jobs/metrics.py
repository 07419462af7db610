"""Prometheus metrics. Names match the log events; never a job id or key as a label."""

from __future__ import annotations

import functools

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

# Explicit buckets up to minutes: queue waits and run times span that range.
_SECONDS_BUCKETS = (
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

JOBS_ENQUEUED = Counter("queuey_jobs_enqueued_total", "Jobs accepted", ["queue", "type"])
JOBS_STARTED = Counter("queuey_jobs_started_total", "Attempts started", ["queue", "type"])
JOBS_FINISHED = Counter(
    "queuey_jobs_finished_total", "Attempts ended, by outcome", ["queue", "type", "outcome"]
)
STALE_REFUSED = Counter(
    "queuey_stale_results_refused_total", "Results refused because the attempt had lost its lease"
)
LEASES_EXPIRED = Counter("queuey_leases_expired_total", "Leases the watchdog found expired")
JOBS_REDISPATCHED = Counter(
    "queuey_jobs_redispatched_total", "Jobs re-dispatched from the database by the reconciler"
)
RUN_SECONDS = Histogram(
    "queuey_job_run_seconds", "Handler run time", ["queue", "type"], buckets=_SECONDS_BUCKETS
)
WAIT_SECONDS = Histogram(
    "queuey_job_wait_seconds", "Enqueued to started", ["queue"], buckets=_SECONDS_BUCKETS
)
BUSY_SLOTS = Gauge("queuey_worker_busy_slots", "Handler slots in use", multiprocess_mode="sum")


@functools.cache
def labeled(metric: MetricWrapperBase, *values: str) -> MetricWrapperBase:
    """The metric's child for these label values (in labelnames order), looked up once:
    labels() validates, converts and locks on every call, 6 us paid per job on the
    submit and worker paths. Label values here come from bounded sets (queues, job types,
    outcomes, views, status codes), so the cache stays small."""
    return metric.labels(*values)
