from __future__ import annotations

from typing import Any

from jobs.broker.client import Broker
from jobs.broker.types import ClaimedJob, Outcome
from jobs.models import Job
from jobs.services import submit_job
from jobs.submission import JobRequest
from jobs.timeutil import wall_ms


def submit(type: str = "demo.noop", payload: dict[str, Any] | None = None, **options) -> Job:
    result = submit_job(JobRequest(type=type, payload=payload or {}, **options))
    return Job.objects.get(pk=result.job_id)


def claim(
    broker: Broker,
    max_jobs: int = 1,
    worker: str = "w1",
    visibility_ms: int = 30_000,
    queues=("high", "default", "low"),
) -> list[ClaimedJob]:
    return broker.claim(
        max_jobs=max_jobs, worker_id=worker, queues=list(queues), visibility_ms=visibility_ms
    )


def outcome(
    job: ClaimedJob, kind: str = "succeeded", detail: str = "null", retry_delay_ms: int = 0
) -> Outcome:
    now = wall_ms()
    return Outcome(
        id=job.id,
        token=job.token,
        outcome=kind,
        detail=detail,
        traceback="",
        started_ms=now,
        finished_ms=now,
        retry_delay_ms=retry_delay_ms,
        attempt=job.attempt,
        run=job.run,
    )
