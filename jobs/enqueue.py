"""Enqueue from Django code in the same project: POST /v1/jobs without the HTTP.

    from jobs.enqueue import enqueue

    with transaction.atomic():
        order = Order.objects.create(...)
        enqueue("orders.send_receipt", {"order": order.pk}, dedupe_key=f"receipt-{order.pk}")

The fields, their validation and their errors are the API's (jobs.submission.prepare):
InvalidInput, PayloadTooLarge, DedupeConflict, StoreUnavailable. The job row is written
in the caller's transaction and pushed to Redis only once that commits, so a rolled-back
order never sends its receipt; outside a transaction a call behaves like the API (row
committed, then dispatched). A crash between the commit and the push leaves a committed
row Redis never saw: the watchdog's reconciler dispatches it within
QUEUEY_RECONCILE_INTERVAL.

Dedupe inside a transaction: the dedupe key's row is written in the same transaction as
the job. A second enqueue with the key in the same transaction finds it and returns the
first job's id (the job is not visible elsewhere before the commit, nor is its key). A
concurrent submit of the same key from another transaction waits for this one on the
key's primary key (PostgreSQL; SQLite serialises writers anyway): after our commit it
gets our job id, after our rollback it creates its own. So a long transaction holding a
dedupe key holds up other submits of that key, and two transactions taking the same two
keys in opposite orders deadlock (PostgreSQL aborts one: StoreUnavailable).

Outside a transaction, jobs without a dedupe key go through the process's group commit
(jobs.group_commit): threads enqueueing at the same time share one transaction and one
Redis push, and each call still returns once its own jobs are committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from typing import Any, cast

from django.db import OperationalError, connection, transaction
from django.utils import timezone

from jobs import group_commit, services
from jobs.errors import InvalidInput, QueueyError, StoreUnavailable
from jobs.submission import JobRequest, PreparedJob, Shared, prepare

_FIELDS = frozenset(f.name for f in fields(JobRequest))


def enqueue(
    type: str,
    payload: dict[str, Any],
    *,
    queue: str | None = None,
    dedupe_key: str | None = None,
    run_at: datetime | None = None,
    delay_seconds: float | None = None,
    max_attempts: int | None = None,
    timeout_seconds: float | None = None,
) -> str:
    """Enqueue one job; returns its id (the first job's id on a dedupe hit)."""
    request = JobRequest(
        type=type,
        payload=payload,
        queue=queue,
        dedupe_key=dedupe_key,
        run_at=run_at,
        delay_seconds=delay_seconds,
        max_attempts=max_attempts,
        timeout_seconds=timeout_seconds,
    )
    if dedupe_key is None and _autocommit():
        now, shared = timezone.now(), Shared.read()
        (prepared,) = group_commit.submit(lambda: [prepare(request, now=now, shared=shared)], 1)
        return str(prepared.job.id)
    return services.submit_job(request, after_commit=True).job_id


def enqueue_many(jobs: Iterable[Mapping[str, Any] | JobRequest]) -> list[str]:
    """Enqueue many jobs in one transaction (a savepoint inside the caller's) and one
    Redis round trip; returns their ids in order. All or nothing: the first bad item
    raises its error (with a note naming its index) and none of them is written."""
    requests = [_request(i, job) for i, job in enumerate(jobs)]
    if not requests:
        return []
    if all(r.dedupe_key is None for r in requests) and _autocommit():
        return _grouped(requests)
    with _database_required(), transaction.atomic():
        results = services.submit_batch(requests, after_commit=True)
        for i, result in enumerate(results):
            if result.error is not None:
                raise _noted(result.error, i)  # rolls back the rows and their dispatch
    # An item without an error has its job id (BatchItemResult holds one or the other).
    return [cast(str, result.job_id) for result in results]


def _grouped(requests: list[JobRequest]) -> list[str]:
    """Every item validated first (nothing written if one is bad), then one group write.
    The time and trace context are read here, in the caller's thread."""
    now, shared = timezone.now(), Shared.read()

    def prepare_all() -> list[PreparedJob]:
        prepared = []
        for i, request in enumerate(requests):
            try:
                prepared.append(prepare(request, now=now, shared=shared))
            except QueueyError as exc:
                raise _noted(exc, i) from None
        return prepared

    return [str(p.job.id) for p in group_commit.submit(prepare_all, len(requests))]


def _autocommit() -> bool:
    """Outside any transaction of the caller's (so the rows need not join one)."""
    with _database_required():
        return not connection.in_atomic_block and connection.get_autocommit()


def _request(index: int, job: Mapping[str, Any] | JobRequest) -> JobRequest:
    if isinstance(job, JobRequest):
        return job
    if not isinstance(job, Mapping):
        raise _noted(InvalidInput("each job must be a mapping or a JobRequest"), index)
    if not _FIELDS.issuperset(job):
        unknown = min(set(job) - _FIELDS)
        raise _noted(InvalidInput(f"unknown field {unknown!r}", field=unknown), index)
    return JobRequest(**job)


def _noted(error: QueueyError, index: int) -> QueueyError:
    error.add_note(f"in jobs[{index}]")
    return error


@contextmanager
def _database_required() -> Iterator[None]:
    """The commit of our own transaction may meet a database that went away."""
    try:
        yield
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
