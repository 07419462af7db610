"""Re-dispatch jobs the database holds as unfinished but Redis has never seen or lost.

Order matters for correctness: a worker writes a finished job to the database *before*
it deletes the job from Redis. So when a job is missing from Redis we read its row
again: if it was finished meanwhile, that second read sees it, and nothing runs twice.
"""

from __future__ import annotations

import logging

from jobs.broker.client import Broker
from jobs.dispatch import dispatch_of
from jobs.models import Job
from jobs.states import ACTIVE_STATUSES, JobStatus

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
            rows = Job.objects.filter(pk__in=missing, status__in=statuses)
            dispatched += broker.enqueue([dispatch_of(job) for job in rows])
