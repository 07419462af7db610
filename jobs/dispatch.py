"""Turn database rows into broker dispatches (at submit and when reconciling)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import redis

from jobs.broker.client import Broker
from jobs.broker.types import Dispatch
from jobs.models import Job
from jobs.states import JobStatus
from jobs.timeutil import to_ms
from jobs.validation import canonical_json

if TYPE_CHECKING:
    from jobs.submission import NewJob

logger = logging.getLogger("queuey.dispatch")

# A job the database holds as running lost its worker along with Redis: queue it again.
# Keyed by the status text (a JobStatus member is equal to it and hashes the same), so a
# row's plain string needs no JobStatus(...) lookup per job.
_STATE_IN_REDIS: dict[str, str] = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "queued",
    JobStatus.SCHEDULED: "scheduled",
    JobStatus.RETRYING: "retrying",
    JobStatus.DEAD: "dead",
}


def dispatch_of(job: Job | NewJob, payload_json: str | None = None) -> Dispatch:
    return Dispatch(
        id=str(job.id),
        type=job.type,
        queue=job.queue,
        payload_json=payload_json if payload_json is not None else canonical_json(job.payload),
        attempt=job.attempts,
        limit=job.attempt_limit,
        max_attempts=job.max_attempts,
        timeout=job.timeout_seconds,
        created_ms=to_ms(job.created_at),
        due_ms=to_ms(job.scheduled_at),
        state=_STATE_IN_REDIS[job.status],
        version=job.version,
        run=job.run,
        trace=job.trace_context,
    )


def try_dispatch(broker: Broker | None, dispatches: Iterable[Dispatch]) -> bool:
    """Push to Redis; if Redis is away the job stays safe in the database and the
    watchdog's reconciler dispatches it once Redis answers again."""
    items = list(dispatches)
    try:
        (broker or Broker()).enqueue(items)
    except redis.RedisError as exc:
        logger.warning("queuey.dispatch_deferred jobs=%d reason=%s", len(items), exc)
        return False
    return True
