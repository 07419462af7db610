"""One function per event: each writes one structured log record and moves its metric,
so a log search and a graph always agree.

A job's record carries `event`, `job_id`, `attempt`, `queue`, `type` and `worker` as
fields (JSON keys with QUEUEY_LOG_FORMAT=json, `key=value` in text); never a payload,
a result, an error message or a key, which may hold what the submitter must not leak
into a log store. Event names match the metric names (queuey_jobs_<event>_total).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from jobs import metrics
from jobs.metrics import labeled

log = logging.getLogger("queuey.events")

# Outcomes after which the job has nothing left to run: its end-to-end time is known.
_ENDS_JOB = frozenset({"succeeded", "dead", "cancelled"})


class JobRef(Protocol):
    @property
    def id(self) -> Any: ...
    @property
    def queue(self) -> str: ...
    @property
    def type(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Ref:
    """A job named by id, queue and type, when no fuller object is at hand."""

    id: str
    queue: str
    type: str


def _job_record(
    level: int, event: str, job: JobRef, attempt: int, worker: str = "", **more: Any
) -> None:
    if log.isEnabledFor(level):
        fields = {"event": event, "job_id": str(job.id), "attempt": attempt}
        fields.update(queue=job.queue, type=job.type, worker=worker or None, **more)
        log.log(level, event, extra=fields)


def _record(level: int, event: str, **fields: Any) -> None:
    if log.isEnabledFor(level):
        log.log(level, event, extra={"event": event, **fields})


# --- series at zero -------------------------------------------------------------------
# A counter's series appears with its first event, and Prometheus's increase() cannot
# see that first step: an alert on a rare event (one stale refusal, one lease lost)
# would miss it. Each process creates its series at 0 when it starts.
_ROLE_COUNTERS = {
    "api": (
        metrics.JOBS_ENQUEUED,
        metrics.JOBS_DEDUPLICATED,
        metrics.JOBS_CANCELLED,
        metrics.JOBS_REPLAYED,
    ),
    "worker": (
        metrics.JOBS_STARTED,
        metrics.JOBS_RETRIED,
        metrics.JOBS_DEAD_LETTERED,
        metrics.STALE_REFUSED,
    ),
    "watchdog": (metrics.LEASES_EXPIRED, metrics.JOBS_DEAD_LETTERED),
}
_OUTCOMES = ("succeeded", "failed", "timeout", "cancelled", "interrupted")


def prime(role: str, queues: Iterable[str], types: Iterable[str]) -> None:
    """Create this role's per-job series at 0 for every queue and job type."""
    pairs = [(q, t) for q in queues for t in types]
    for counter in _ROLE_COUNTERS[role]:
        for queue, type_ in pairs:
            labeled(counter, queue, type_)
    if role == "worker":
        for (queue, type_), outcome in ((p, o) for p in pairs for o in _OUTCOMES):
            labeled(metrics.JOBS_FINISHED, queue, type_, outcome)
    if role == "watchdog":
        for queue in queues:
            labeled(metrics.JOBS_REDISPATCHED, queue)
        labeled(metrics.WATCHDOG_PASSES, "ok")
        labeled(metrics.WATCHDOG_PASSES, "failed")


# --- producers ------------------------------------------------------------------------
def jobs_enqueued(jobs: Iterable[JobRef]) -> None:
    """Accepted and dispatched (or left for the reconciler when Redis was away)."""
    jobs = list(jobs)
    for (queue, type_), n in Counter((j.queue, j.type) for j in jobs).items():
        labeled(metrics.JOBS_ENQUEUED, queue, type_).inc(n)
    for job in jobs:
        _job_record(logging.INFO, "job_enqueued", job, 0)


def job_deduplicated(job: JobRef) -> None:
    """A submit answered with the live job holding its dedupe key (job = that job's id
    with the submit's queue and type)."""
    labeled(metrics.JOBS_DEDUPLICATED, job.queue, job.type).inc()
    _job_record(logging.INFO, "job_deduplicated", job, 0)


# --- attempts -------------------------------------------------------------------------
def attempt_started(job: Any, worker: str) -> None:
    """`job`: a ClaimedJob (its claim time and creation time are Redis's clock)."""
    labeled(metrics.JOBS_STARTED, job.queue, job.type).inc()
    labeled(metrics.WAIT_SECONDS, job.queue).observe(max(0, job.claimed_ms - job.created_ms) / 1000)
    _job_record(logging.INFO, "attempt_started", job, job.attempt, worker)


def attempt_finished(job: Any, outcome: Any, worker: str) -> None:
    """The handler returned (or raised, or overran its timeout): before Redis decides."""
    labeled(metrics.JOBS_FINISHED, job.queue, job.type, outcome.outcome).inc()
    run_ms = max(0, outcome.finished_ms - outcome.started_ms)
    labeled(metrics.RUN_SECONDS, job.queue, job.type).observe(run_ms / 1000)
    _job_record(
        logging.INFO,
        "attempt_finished",
        job,
        outcome.attempt,
        worker,
        outcome=outcome.outcome,
        duration_ms=run_ms,
    )


def outcome_recorded(job: Any, outcome: Any, state: str, worker: str) -> None:
    """Redis took the attempt's outcome; `state` is the job's new state."""
    if state == "retrying":
        labeled(metrics.JOBS_RETRIED, job.queue, job.type).inc()
        _job_record(logging.INFO, "retry_scheduled", job, outcome.attempt, worker)
    elif state == "dead":
        dead_lettered(job, outcome.attempt, worker)
    if state in _ENDS_JOB:
        labeled(metrics.END_TO_END_SECONDS, job.queue, job.type).observe(
            max(0, outcome.finished_ms - job.created_ms) / 1000
        )


def dead_lettered(job: JobRef, attempt: int, worker: str = "") -> None:
    labeled(metrics.JOBS_DEAD_LETTERED, job.queue, job.type).inc()
    _job_record(logging.WARNING, "dead_lettered", job, attempt, worker)


def stale_result_refused(job: Any, outcome: Any, worker: str) -> None:
    """Fencing at work: the attempt had lost its lease (expired and requeued, or the job
    was cancelled) before its result arrived, so Redis refused it."""
    labeled(metrics.STALE_REFUSED, job.queue, job.type).inc()
    _job_record(
        logging.WARNING,
        "stale_result_refused",
        job,
        outcome.attempt,
        worker,
        outcome=outcome.outcome,
    )


class EntryJob:
    """An outbox entry (a decoded dict) seen as a JobRef."""

    __slots__ = ("id", "queue", "type")

    def __init__(self, entry: dict[str, Any]) -> None:
        self.id = entry["id"]
        self.queue = entry.get("q") or "?"
        self.type = entry.get("type") or "?"


def leases_expired(entries: Iterable[dict[str, Any]]) -> None:
    """The watchdog requeued (or dead-lettered) attempts whose worker stopped renewing."""
    for entry in entries:
        job = EntryJob(entry)
        labeled(metrics.LEASES_EXPIRED, job.queue, job.type).inc()
        worker = entry.get("worker") or ""
        _job_record(logging.WARNING, "lease_expired", job, entry.get("attempt") or 0, worker)
        if entry.get("status") == "dead":
            dead_lettered(job, entry.get("attempt") or 0, worker)


# --- admin actions --------------------------------------------------------------------
def job_cancelled(job: JobRef, attempt: int, actor: str = "") -> None:
    labeled(metrics.JOBS_CANCELLED, job.queue, job.type).inc()
    _job_record(logging.INFO, "job_cancelled", job, attempt, actor=actor or None)


def jobs_replayed(entries: Iterable[dict[str, Any]], actor: str = "") -> None:
    """Dead, retrying or scheduled jobs moved back to their queue (entries of the move)."""
    for entry in entries:
        job = EntryJob(entry)
        labeled(metrics.JOBS_REPLAYED, job.queue, job.type).inc()
        _job_record(logging.INFO, "job_replayed", job, entry.get("attempt") or 0, actor=actor)


def jobs_redispatched(queues: Iterable[str], *, after_data_loss: bool) -> None:
    """The reconciler dispatched jobs the database holds but Redis did not know; one
    record per pass (after a Redis loss that may be every unfinished job)."""
    by_queue = Counter(queues)
    for queue, n in by_queue.items():
        labeled(metrics.JOBS_REDISPATCHED, queue).inc(n)
    if by_queue:
        _record(
            logging.WARNING,
            "jobs_redispatched",
            count=sum(by_queue.values()),
            by_queue=dict(by_queue),
            after_data_loss=after_data_loss,
        )


# --- processes ------------------------------------------------------------------------
def worker_started(worker: str, *, concurrency: int, queues: list[str]) -> None:
    metrics.WORKERS_STARTED.inc()
    _record(logging.INFO, "worker_started", worker=worker, concurrency=concurrency, queues=queues)


def worker_stopped(worker: str, *, processed: int, exit_code: int) -> None:
    metrics.WORKERS_STOPPED.inc()
    _record(logging.INFO, "worker_stopped", worker=worker, processed=processed, exit_code=exit_code)


def watchdog_pass(done: dict[str, int], seconds: float) -> None:
    """A pass that completed. Quiet passes are DEBUG: one a second would drown the log."""
    labeled(metrics.WATCHDOG_PASSES, "ok").inc()
    level = logging.INFO if any(done.values()) else logging.DEBUG
    _record(level, "watchdog_pass", duration_ms=round(seconds * 1000, 1), **done)


def watchdog_pass_failed(error: BaseException, retry_in: float) -> None:
    labeled(metrics.WATCHDOG_PASSES, "failed").inc()
    _record(
        logging.WARNING,
        "watchdog_pass_failed",
        error=type(error).__name__,
        detail=str(error)[:200],
        retry_in=round(retry_in, 2),
    )
