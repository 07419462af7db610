"""Job states and the transitions between them, written down once."""

from __future__ import annotations

from django.db import models


class JobStatus(models.TextChoices):
    # Waiting on its priority queue for a worker.
    QUEUED = "queued", "queued"
    # Waiting for its run_at / delay before it joins its queue.
    SCHEDULED = "scheduled", "scheduled"
    # Leased by a worker; the lease is renewed while the handler runs.
    RUNNING = "running", "running"
    # The handler returned; result stored. Terminal.
    SUCCEEDED = "succeeded", "succeeded"
    # An attempt failed or was lost; another attempt is scheduled after a backoff.
    RETRYING = "retrying", "retrying"
    # Out of attempts: in the dead-letter queue until replayed. Terminal until replay.
    DEAD = "dead", "dead"
    # Cancelled by an admin; a late result from a worker is refused. Terminal.
    CANCELLED = "cancelled", "cancelled"


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    TIMEOUT = "timeout", "timeout"
    LEASE_EXPIRED = "lease_expired", "lease expired"
    INTERRUPTED = "interrupted", "interrupted"
    CANCELLED = "cancelled", "cancelled"


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED})
ACTIVE_STATUSES = frozenset(set(JobStatus) - TERMINAL_STATUSES)

S = JobStatus
ALLOWED_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    S.QUEUED: frozenset({S.RUNNING, S.CANCELLED}),
    S.SCHEDULED: frozenset({S.QUEUED, S.CANCELLED}),
    # A lost lease puts a running job back on its queue (queued) or out of attempts (dead).
    S.RUNNING: frozenset({S.SUCCEEDED, S.RETRYING, S.DEAD, S.QUEUED, S.CANCELLED}),
    S.RETRYING: frozenset({S.QUEUED, S.CANCELLED}),
    S.DEAD: frozenset({S.QUEUED, S.CANCELLED}),
    S.SUCCEEDED: frozenset(),
    S.CANCELLED: frozenset(),
}


def can_transition(current: str, new: str) -> bool:
    return JobStatus(new) in ALLOWED_TRANSITIONS[JobStatus(current)]
