"""Reads. Database reads keep answering while Redis is down; Redis reads say so."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

import redis
from django.db import OperationalError

from jobs import conf
from jobs.broker.client import Broker
from jobs.errors import InvalidInput, JobNotFound, StoreUnavailable
from jobs.ids import parse_job_id
from jobs.models import Job
from jobs.states import JobStatus

MAX_PAGE = 200


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    next_cursor: str | None


def get_job(*, job_id: str) -> Job:
    parsed = parse_job_id(job_id)
    if parsed is None:
        raise JobNotFound("no job with this id", field="id")
    try:
        job = Job.objects.prefetch_related("attempt_records").filter(pk=parsed).first()
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    if job is None:
        raise JobNotFound("no job with this id", field="id")
    return job


def runs_of(job: Job) -> list[dict]:
    """The job's attempts grouped by run: the submit is run 1, each replay or manual
    retry starts the next with a fresh budget of max_attempts. Uses the prefetched
    attempt rows (get_job)."""
    numbers: dict[int, list[int]] = {run: [] for run in range(1, job.run + 1)}
    for attempt in job.attempt_records.all():
        numbers.setdefault(attempt.run, []).append(attempt.number)
    return [
        {"run": run, "max_attempts": job.max_attempts, "attempts": sorted(found)}
        for run, found in sorted(numbers.items())
    ]


def list_jobs(
    *,
    status: str | None = None,
    type: str | None = None,
    queue: str | None = None,
    dedupe_key: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> JobPage:
    """Newest first; the cursor is the last id seen (ids sort by creation time)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}", field="limit")
    jobs = Job.objects.order_by("-id")
    if status is not None:
        if status not in JobStatus.values:
            raise InvalidInput(
                f"unknown status; valid: {', '.join(JobStatus.values)}", field="status"
            )
        jobs = jobs.filter(status=status)
    if queue is not None:
        if queue not in conf.QUEUES:
            raise InvalidInput(f"unknown queue; valid: {', '.join(conf.QUEUES)}", field="queue")
        jobs = jobs.filter(queue=queue)
    if type is not None:
        jobs = jobs.filter(type=type)
    if dedupe_key is not None:
        jobs = jobs.filter(dedupe_key=dedupe_key)
    if cursor:
        jobs = jobs.filter(id__lt=decode_cursor(cursor))
    try:
        page = list(jobs[: limit + 1])
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    more = len(page) > limit
    page = page[:limit]
    return JobPage(page, encode_cursor(page[-1].id) if more and page else None)


def encode_cursor(job_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(job_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError):
        raise InvalidInput("cursor is not one this API issued", field="cursor") from None


def queue_stats() -> dict:
    """Lengths of every queue and place, and the age of the oldest waiting job."""
    try:
        broker = Broker()
        lengths = broker.lengths()
        heads = broker.oldest_waiting()
        now_ms = broker.now_ms()
        created = {
            q: broker.redis.hget(broker.keys.job(job_id), "created") if job_id else None
            for q, job_id in heads.items()
        }
    except redis.RedisError as exc:
        raise StoreUnavailable("the queue broker is unavailable; retry shortly") from exc
    return {
        "high": lengths.high,
        "default": lengths.default,
        "low": lengths.low,
        "scheduled": lengths.scheduled,
        "running": lengths.running,
        "dlq": lengths.dlq,
        "oldest_age_seconds": {
            q: (max(0, now_ms - int(ms)) / 1000 if ms else None) for q, ms in created.items()
        },
    }


def list_workers() -> list[dict]:
    try:
        return Broker().workers()
    except redis.RedisError as exc:
        raise StoreUnavailable("the queue broker is unavailable; retry shortly") from exc
