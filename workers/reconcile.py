"""Re-dispatch jobs the database holds as unfinished but Redis has never seen or lost.

A worker may hold an outcome Redis accepted but the database does not have yet (its
write thread is behind, or the database is away) when Redis loses its data. Such a job
looks lost, and its late write must not race the re-dispatch into a second recorded
outcome (the 600 s soak found one job with two `succeeded` attempts). So:

1. The lost attempt's row is inserted first. The attempt row is unique per (job,
   number), and a worker's outcome inserts the same row before it updates the job, so
   the two writers serialise on it: whoever comes second finds the row taken.
2. The job rows are then read again, locked, inside the same transaction: a job whose
   outcome landed meanwhile is finished and is left alone. One reconciler works at a
   time and dispatches before it commits, so a second one finds the jobs in Redis.
3. Every re-dispatched job's version jumps by VERSION_STEP, in the dispatch and, for the
   jobs Redis did not hold yet (not the ones a late submitter dispatched meanwhile), in
   the database. Versions Redis issued before it lost its data are all older, so a late
   write from before the loss is refused by the usual version guard.
4. After a data loss, a job the database holds as waiting may have been claimed just
   before it, its running mark not yet written: that run goes on unseen, and the rerun
   must not reuse its attempt number (a handler that reads its attempt number, and the
   job's history, would both be misled; found by a soak under CPU contention). So each
   such job skips one attempt number, kept for that run (recorded when its refused
   result comes in: outbox.record_refused), with the budget raised by one to match.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Set as AbstractSet
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from jobs import conf, events
from jobs.broker.client import Broker
from jobs.dispatch import dispatch_of
from jobs.ids import first_id_at
from jobs.models import Attempt, Job
from jobs.outbox import VERSION_STEP
from jobs.states import ACTIVE_STATUSES, AttemptOutcome, JobStatus
from jobs.timeutil import from_ms

logger = logging.getLogger("queuey.watchdog")

PAGE = 1000
RECONCILER_LOCK_ID = 0x51554555  # "QUEU"
_WAITING = {JobStatus.SCHEDULED, JobStatus.RETRYING}


def reconcile(broker: Broker, *, after_data_loss: bool = False) -> int:
    """Dispatch every unfinished job Redis does not hold: a full pass, as after a data
    loss (`after_data_loss`: dead jobs are rebuilt too, and waiting jobs skip an
    attempt number, point 4)."""
    statuses = _statuses(after_data_loss)
    dispatched, _last, _done = _pages(broker, statuses, after_data_loss=after_data_loss)
    return dispatched


class Reconciler:
    """The watchdog's reconcile passes, at a cost that does not grow with the backlog.

    A job goes missing from Redis when its submitter died between the commit and the
    dispatch, or when Redis lost recent writes in a failover: either way a recent job.
    So each pass reads the unfinished jobs created since the previous pass began, less
    QUEUEY_RECONCILE_RECENT seconds (for a transaction that committed its jobs late: ids
    carry the time they were made, not committed), which makes each job read about
    (interval + recent) / interval times, a cost that follows the arrival rate. Then it
    sweeps on through the older ones from where the last pass stopped,
    QUEUEY_RECONCILE_SWEEP rows at a time, wrapping around: every unfinished job is
    still looked at, once per backlog / sweep passes (a job whose transaction outlasted
    the margin is found there). A data loss (no epoch) gets a full pass, as before."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self._sweep_after: str | None = None
        self._last_pass_ms: int | None = None

    def run(self, *, after_data_loss: bool = False) -> int:
        now_ms = self.broker.now_ms()
        if after_data_loss:
            self._sweep_after = None
            dispatched = reconcile(self.broker, after_data_loss=True)
            self._last_pass_ms = now_ms
            return dispatched
        statuses = _statuses(False)
        since_ms = self._last_pass_ms
        if since_ms is None:  # a first pass: as if the last one ran an interval ago
            since_ms = now_ms - int(conf.get("RECONCILE_INTERVAL") * 1000)
        floor = str(first_id_at(since_ms - int(conf.get("RECONCILE_RECENT") * 1000)))
        dispatched, _last, _done = _pages(self.broker, statuses, after=_before(floor))
        swept, last, done = _pages(
            self.broker,
            statuses,
            after=self._sweep_after,
            below=floor,
            max_rows=conf.get("RECONCILE_SWEEP"),
        )
        self._sweep_after = None if done else last
        self._last_pass_ms = now_ms  # only once the pass is through
        return dispatched + swept


def _statuses(after_data_loss: bool) -> set[str]:
    return set(ACTIVE_STATUSES) | ({JobStatus.DEAD} if after_data_loss else set())


def _before(job_id: str) -> str:
    """An id just below `job_id`, so a page "after" it starts at job_id itself."""
    return str(uuid.UUID(int=uuid.UUID(job_id).int - 1))


def _pages(
    broker: Broker,
    statuses: set[str],
    *,
    after: str | None = None,
    below: str | None = None,
    max_rows: int | None = None,
    after_data_loss: bool = False,
) -> tuple[int, str | None, bool]:
    """Dispatch the missing ones among the jobs in `statuses` with ids after `after` and
    below `below`, in id order, up to `max_rows` read: (how many were dispatched, the
    last id read, whether the range was read to its end)."""
    dispatched, read, last_id = 0, 0, after
    while max_rows is None or read < max_rows:
        size = PAGE if max_rows is None else min(PAGE, max_rows - read)
        ids = _page_ids(statuses, last_id, below, size)
        if not ids:
            return dispatched, last_id, True
        read, last_id = read + len(ids), ids[-1]
        missing = broker.missing_jobs(ids)
        if missing:
            dispatched += redispatch(broker, missing, statuses, after_data_loss=after_data_loss)
    return dispatched, last_id, False


def _page_ids(statuses: set[str], after: str | None, below: str | None, size: int) -> list[str]:
    """The first `size` ids above `after` and below `below` among the jobs in
    `statuses`, in id order. One range of the (status, id) index per status, merged:
    one query over all of them left the choice to the planner, and PostgreSQL with
    stale statistics after a bulk load took a bitmap scan of every match and a sort
    (1.1 s a page at 1M queued jobs, benchmarks/backlog.py)."""
    found: list[str] = []
    for status in sorted(statuses):
        page = Job.objects.filter(status=status).order_by("id")
        if after is not None:
            page = page.filter(id__gt=after)
        if below is not None:
            page = page.filter(id__lt=below)
        found += [str(i) for i in page.values_list("id", flat=True)[:size]]
    return sorted(found)[:size]


def redispatch(
    broker: Broker, ids: list[str], statuses: AbstractSet[str], *, after_data_loss: bool = False
) -> int:
    """Take the jobs back from whoever held them and dispatch them again; returns how
    many were dispatched (0 when another reconciler is at it: it is retried next pass)."""
    with transaction.atomic():
        if not _reconciler_lock():
            return 0
        # Under the lock: another reconciler may have dispatched them meanwhile. And a
        # pass that began before Redis lost its data must treat it as lost: the epoch
        # is only marked again once the rebuild is done (found by the soak with two
        # watchdogs, one of them mid-pass when Redis was wiped).
        ids = broker.missing_jobs(ids)
        after_data_loss = after_data_loss or not broker.has_epoch()
        running = Job.objects.filter(pk__in=ids, status=JobStatus.RUNNING, attempts__gt=0)
        _record_lost_leases(list(running.only("id", "attempts", "started_at")))
        rows = list(Job.objects.select_for_update().filter(pk__in=ids, status__in=statuses))
        if not rows:
            return 0
        lost = _lost_attempts(rows)
        now = from_ms(broker.now_ms())  # Redis's clock decides what is due
        due = [j for j in rows if j.status in _WAITING and _is_due(j, now)]
        maybe_claimed = (
            {j.pk for j in rows if j.status == JobStatus.QUEUED} | {j.pk for j in due}
            if after_data_loss
            else set()
        )
        requeued = [
            j for j in rows if j.status == JobStatus.RUNNING and (j.pk, j.attempts) in lost
        ] + due
        for job in requeued:
            job.status, job.scheduled_at = JobStatus.QUEUED, None
        Job.objects.filter(pk__in=[j.pk for j in requeued]).update(
            status=JobStatus.QUEUED, scheduled_at=None
        )
        for job in rows:
            job.version += VERSION_STEP
            if job.pk in maybe_claimed:
                job.attempts += 1
                job.attempt_limit += 1
        # Before the commit: a second reconciler waits for the lock, then finds them. A
        # job its submitter dispatched meanwhile keeps the submitter's version in Redis,
        # so only the jobs this dispatch created take the step in the database too.
        created = broker.enqueue_new([dispatch_of(job) for job in rows])
        stepped = Job.objects.filter(pk__in=created)
        stepped.update(version=F("version") + VERSION_STEP, updated_at=timezone.now())
        stepped.filter(pk__in=maybe_claimed).update(
            attempts=F("attempts") + 1, attempt_limit=F("attempt_limit") + 1
        )
    dispatched = {str(pk) for pk in created}
    events.jobs_redispatched(
        (j.queue for j in rows if str(j.pk) in dispatched), after_data_loss=after_data_loss
    )
    return len(created)


def _is_due(job: Job, now: datetime) -> bool:
    return job.scheduled_at is not None and job.scheduled_at <= now


def _reconciler_lock() -> bool:
    """One reconciler at a time. SQLite's write lock (taken at BEGIN) already is one; on
    PostgreSQL a transaction-scoped advisory lock, tried rather than waited for, so a
    stopped watchdog holding it cannot stall another's lease duties."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [RECONCILER_LOCK_ID])
        return bool(cursor.fetchone()[0])


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
