"""Re-dispatch jobs the database holds as unfinished but Redis has never seen or lost.

A worker may hold an outcome Redis accepted but the database does not have yet (its
write thread is behind, or the database is away) when Redis loses its data. Such a job
looks lost, and its late write must not race the re-dispatch into a second recorded
outcome (the 600 s soak found one job with two `succeeded` attempts). So:

1. The lost attempt's row is inserted first. The attempt row is unique per (job,
   number), and a worker's outcome inserts the same row before it updates the job, so
   the two writers serialise on it: whoever comes second finds the row taken.
2. The job rows are then read again, locked, inside the same transaction: a job whose
   outcome landed meanwhile is finished and is left alone.
3. Every re-dispatched job's version jumps by VERSION_STEP, in the database and in the
   dispatch. Versions Redis issued before it lost its data are all older, so a late
   write from before the loss is refused by the usual version guard.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs.broker.client import Broker
from jobs.dispatch import dispatch_of
from jobs.models import Attempt, Job
from jobs.states import ACTIVE_STATUSES, AttemptOutcome, JobStatus

logger = logging.getLogger("queuey.watchdog")

PAGE = 1000
# Far more transitions than one job can go through between two database writes.
VERSION_STEP = 1 << 20


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
            dispatched += broker.enqueue(_claim_for_redispatch(missing, statuses))


def _claim_for_redispatch(ids: list[str], statuses: set[str]) -> list:
    """Take the jobs back from whoever held them; returns their dispatches."""
    with transaction.atomic():
        running = Job.objects.filter(pk__in=ids, status=JobStatus.RUNNING, attempts__gt=0)
        _record_lost_leases(list(running.only("id", "attempts", "started_at")))
        rows = list(Job.objects.select_for_update().filter(pk__in=ids, status__in=statuses))
        if not rows:
            return []
        lost = _lost_attempts(rows)
        requeued = [j for j in rows if j.status == JobStatus.RUNNING and (j.pk, j.attempts) in lost]
        for job in requeued:
            job.status = JobStatus.QUEUED
        Job.objects.filter(pk__in=[j.pk for j in requeued]).update(status=JobStatus.QUEUED)
        Job.objects.filter(pk__in=[j.pk for j in rows]).update(
            version=F("version") + VERSION_STEP, updated_at=timezone.now()
        )
        for job in rows:
            job.version += VERSION_STEP
    return [dispatch_of(job) for job in rows]


def _record_lost_leases(jobs: list[Job]) -> None:
    """A job the database holds as running lost its lease along with Redis's data:
    record that attempt as lost (unless its worker's outcome got there first)."""
    if not jobs:
        return
    now = timezone.now()
    Attempt.objects.bulk_create(
        [
            Attempt(
                job_id=job.pk,
                number=job.attempts,
                outcome=AttemptOutcome.LEASE_EXPIRED,
                error="lease lost: Redis lost its data while the attempt ran",
                started_at=job.started_at,
                finished_at=now,
            )
            for job in jobs
        ],
        ignore_conflicts=True,
    )


def _lost_attempts(rows: list[Job]) -> set[tuple]:
    running = [j for j in rows if j.status == JobStatus.RUNNING]
    if not running:
        return set()
    found = Attempt.objects.filter(
        job_id__in=[j.pk for j in running], outcome=AttemptOutcome.LEASE_EXPIRED
    ).values_list("job_id", "number")
    return set(found)
