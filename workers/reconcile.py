"""Re-dispatch jobs the database holds as unfinished but Redis has never seen or lost.

Order matters for correctness: a worker writes a finished job to the database *before*
it deletes the job from Redis. So when a job is missing from Redis we read its row
again: if it was finished meanwhile, that second read sees it, and nothing runs twice.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from jobs.broker.client import Broker
from jobs.dispatch import dispatch_of
from jobs.models import Attempt, Job
from jobs.states import ACTIVE_STATUSES, AttemptOutcome, JobStatus

logger = logging.getLogger("queuey.watchdog")

PAGE = 1000


def reconcile(broker: Broker, *, include_dead: bool = False) -> int:
    statuses = set(ACTIVE_STATUSES) | ({JobStatus.DEAD} if include_dead else set())
    dispatched = 0
    last_id = None
    while True:
        page = Job.objects.filter(status__in=statuses).order_by("id")
        if last_id is not None:
            page = page.filter(id__gt=last_id)
        ids = [str(i) for i in page.values_list("id", flat=True)[:PAGE]]
        if not ids:
            if dispatched:
                logger.warning("queuey.jobs_redispatched count=%d", dispatched)
            return dispatched
        last_id = ids[-1]
        missing = broker.missing_jobs(ids)
        if missing:
            rows = list(Job.objects.filter(pk__in=missing, status__in=statuses))
            _record_lost_leases([job for job in rows if job.status == JobStatus.RUNNING])
            dispatched += broker.enqueue([dispatch_of(job) for job in rows])


def _record_lost_leases(jobs: list[Job]) -> None:
    """A job the database holds as running lost its lease along with Redis's data: record
    that attempt as lost and show the job as queued again, as requeue_expired does for an
    expired lease. Without this the row stayed `running` while Redis had it queued (the
    chaos state machine's exactly-one-place check) and the lost attempt had no record."""
    if not jobs:
        return
    now = timezone.now()
    with transaction.atomic():
        Attempt.objects.bulk_create(
            [
                Attempt(
                    job=job,
                    number=job.attempts,
                    outcome=AttemptOutcome.LEASE_EXPIRED,
                    error="lease lost: Redis lost its data while the attempt ran",
                    started_at=job.started_at,
                    finished_at=now,
                )
                for job in jobs
                if job.attempts
            ],
            ignore_conflicts=True,
        )
        Job.objects.filter(pk__in=[job.pk for job in jobs], status=JobStatus.RUNNING).update(
            status=JobStatus.QUEUED
        )
    for job in jobs:
        job.status = JobStatus.QUEUED
