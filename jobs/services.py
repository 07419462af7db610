"""Every change of state: the API, the dashboard and the commands call only these."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import redis
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from jobs import conf, events, outbox
from jobs.broker.client import Broker
from jobs.bulk_insert import insert_rows
from jobs.dispatch import dispatch_of, try_dispatch
from jobs.errors import (
    DedupeConflict,
    InvalidInput,
    InvalidTransition,
    JobNotFound,
    QueueyError,
    StoreUnavailable,
)
from jobs.ids import parse_job_id
from jobs.models import DedupeKey, Job
from jobs.states import ACTIVE_STATUSES, JobStatus
from jobs.submission import JOB_COLUMNS, JobRequest, PreparedJob, prepare

logger = logging.getLogger("queuey.services")


@dataclass(frozen=True)
class SubmitResult:
    job_id: str
    created: bool


@dataclass(frozen=True)
class BatchItemResult:
    job_id: str | None = None
    created: bool = False
    error: QueueyError | None = None


@contextmanager
def _database_required() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        logger.warning("queuey.database_unavailable error=%s", exc)
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc


@contextmanager
def _redis_required() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        logger.warning("queuey.redis_unavailable error=%s", exc)
        raise StoreUnavailable("the queue broker is unavailable; retry shortly") from exc


# --- submit ---------------------------------------------------------------------------
def submit_job(request: JobRequest, *, after_commit: bool = False) -> SubmitResult:
    """Store the job, then dispatch it. Answers once the row is committed, even with Redis
    down: the watchdog dispatches what Redis has not seen.

    `after_commit` (the in-process enqueue, jobs.enqueue): inside the caller's
    transaction the row is written there and dispatched only once it commits (never
    after a rollback); outside one, at once, as here."""
    prepared = prepare(request)
    result = _submit_prepared(prepared, after_commit)
    if not result.created:
        events.job_deduplicated(events.Ref(result.job_id, prepared.job.queue, prepared.job.type))
    return result


def _submit_prepared(prepared: PreparedJob, after_commit: bool) -> SubmitResult:
    with _database_required():
        existing = _live_dedupe(prepared)
        if existing:
            return SubmitResult(existing, created=False)
        if not prepared.dedupe_hash and connection.vendor == "postgresql":
            # One statement needs no transaction: BEGIN and COMMIT are two round trips of
            # three. (SQLite keeps it: its BEGIN queues for the write lock in fine steps.)
            _insert_jobs([prepared])
            return _dispatched(prepared, after_commit)
        with transaction.atomic():
            _insert_jobs([prepared])
            existing = _take_dedupe_key(prepared)
            if existing:
                transaction.set_rollback(True)
                return SubmitResult(existing, created=False)
    return _dispatched(prepared, after_commit)


def _dispatched(prepared: PreparedJob, after_commit: bool = False) -> SubmitResult:
    if after_commit:
        _dispatch_on_commit([prepared])
    else:
        try_dispatch(None, [dispatch_of(prepared.job, prepared.payload_json)])
        events.jobs_enqueued([prepared.job])
    return SubmitResult(str(prepared.job.id), created=True)


def _dispatch_on_commit(new: list[PreparedJob]) -> None:
    """Dispatch once the caller's transaction commits (at once outside one); a rolled-back
    savepoint drops the callback with its rows. A crash between the commit and this
    dispatch leaves committed rows Redis never saw: the watchdog's reconciler dispatches
    them (tests/acceptance/test_transactional_enqueue.py kills a producer right there). robust: a
    failure here must not cancel the caller's own on_commit callbacks."""
    if new:
        transaction.on_commit(partial(_dispatch_now, new), robust=True)


def _dispatch_now(new: list[PreparedJob]) -> None:
    try_dispatch(None, [dispatch_of(p.job, p.payload_json) for p in new])
    events.jobs_enqueued(p.job for p in new)


def submit_batch(
    requests: list[JobRequest], *, after_commit: bool = False
) -> list[BatchItemResult]:
    """Submit many jobs with one database transaction and one Redis round trip.

    Each item is validated and deduplicated on its own; results come back in order.
    `after_commit`: as for submit_job.
    """
    now = timezone.now()
    results: list[BatchItemResult | None] = [None] * len(requests)
    prepared: dict[int, PreparedJob] = {}
    for i, request in enumerate(requests):
        try:
            prepared[i] = prepare(request, now=now)
        except QueueyError as exc:
            results[i] = BatchItemResult(error=exc)
    with _database_required():
        try:
            with transaction.atomic():
                new = _insert_batch(prepared, results, now)
        except IntegrityError:
            # A concurrent submit took one of our dedupe keys between read and insert:
            # fall back to item-by-item, which settles each race in the database.
            new = _insert_one_by_one(prepared, results)
    if after_commit:
        _dispatch_on_commit(new)
    else:
        _dispatch_now(new)
    for i, r in enumerate(results):
        if r is not None and r.job_id and not r.created:
            job = prepared[i].job
            events.job_deduplicated(events.Ref(r.job_id, job.queue, job.type))
    return [r or BatchItemResult(error=InvalidInput("not processed")) for r in results]


def _insert_batch(
    prepared: dict[int, PreparedJob], results: list[BatchItemResult | None], now: datetime
) -> list[PreparedJob]:
    hashes = {p.dedupe_hash for p in prepared.values() if p.dedupe_hash}
    live = {
        d.key_hash: d for d in DedupeKey.objects.filter(key_hash__in=hashes, expires_at__gt=now)
    }
    expired = set(hashes) - set(live)
    DedupeKey.objects.filter(key_hash__in=expired).delete()
    new: list[PreparedJob] = []
    owner: dict[str, PreparedJob] = {}
    for i, p in prepared.items():
        hit = live.get(p.dedupe_hash) if p.dedupe_hash else None
        first = owner.get(p.dedupe_hash) if p.dedupe_hash else None
        if hit is not None:
            results[i] = _dedupe_result(p, hit.fingerprint, str(hit.job_id))
            continue
        if first is not None:
            results[i] = _dedupe_result(p, first.fingerprint, str(first.job.id))
            continue
        if p.dedupe_hash:
            owner[p.dedupe_hash] = p
        new.append(p)
        results[i] = BatchItemResult(job_id=str(p.job.id), created=True)
    _insert_jobs(new)
    window = timedelta(seconds=conf.get("DEDUPE_WINDOW"))
    DedupeKey.objects.bulk_create(
        [
            DedupeKey(
                key_hash=key_hash,
                job_id=p.job.id,
                fingerprint=p.fingerprint,
                expires_at=now + window,
            )
            for key_hash, p in owner.items()
        ]
    )
    return new


def _insert_jobs(prepared: list[PreparedJob]) -> None:
    insert_rows(Job, JOB_COLUMNS, [p.row for p in prepared])


def _insert_one_by_one(
    prepared: dict[int, PreparedJob], results: list[BatchItemResult | None]
) -> list[PreparedJob]:
    new = []
    for i, p in prepared.items():
        with transaction.atomic():
            _insert_jobs([p])
            existing = _take_dedupe_key(p) if p.dedupe_hash else None
            if existing:
                transaction.set_rollback(True)
                results[i] = BatchItemResult(job_id=existing, created=False)
                continue
        new.append(p)
        results[i] = BatchItemResult(job_id=str(p.job.id), created=True)
    return new


def _dedupe_result(p: PreparedJob, fingerprint: str, job_id: str) -> BatchItemResult:
    if fingerprint != p.fingerprint:
        return BatchItemResult(error=_conflict(job_id))
    return BatchItemResult(job_id=job_id, created=False)


def _conflict(job_id: str) -> DedupeConflict:
    return DedupeConflict(
        "dedupe_key is already used by a job with another type or payload", job_id=job_id
    )


def _live_dedupe(p: PreparedJob) -> str | None:
    """Fast path without a write: the key is held by a live job already."""
    if not p.dedupe_hash:
        return None
    hit = DedupeKey.objects.filter(key_hash=p.dedupe_hash, expires_at__gt=timezone.now()).first()
    if hit is None:
        return None
    if hit.fingerprint != p.fingerprint:
        raise _conflict(str(hit.job_id))
    return str(hit.job_id)


def _take_dedupe_key(p: PreparedJob) -> str | None:
    """Inside the job's transaction: own the key, or return the job that owns it.

    The primary key on key_hash settles concurrent submits: on PostgreSQL the second
    insert waits for the first transaction and then fails; SQLite serialises writers.
    """
    if not p.dedupe_hash:
        return None
    now = timezone.now()
    expires_at = now + timedelta(seconds=conf.get("DEDUPE_WINDOW"))
    try:
        with transaction.atomic():
            DedupeKey.objects.create(
                key_hash=p.dedupe_hash,
                job_id=p.job.id,
                fingerprint=p.fingerprint,
                expires_at=expires_at,
            )
        return None
    except IntegrityError:
        pass
    held = DedupeKey.objects.select_for_update().get(key_hash=p.dedupe_hash)
    if held.expires_at <= now:  # the window passed: the key is free again
        held.job_id, held.fingerprint, held.expires_at = p.job.id, p.fingerprint, expires_at
        held.save()
        return None
    if held.fingerprint != p.fingerprint:
        raise _conflict(str(held.job_id))
    return str(held.job_id)


# --- admin actions --------------------------------------------------------------------
def cancel_job(*, job_id: str) -> Job:
    job = _get(job_id)
    with _redis_required():
        broker = Broker()
        code, value = broker.cancel(str(job.id))
    if code == "terminal":
        raise InvalidTransition(f"a {value} job cannot be cancelled", field="status")
    with _database_required():
        if code == "cancelled":
            _apply_entries(broker, [value])
        else:  # Redis does not hold it (not dispatched yet, or Redis lost it)
            updated = Job.objects.filter(
                pk=job.pk, status__in=[*ACTIVE_STATUSES, JobStatus.DEAD]
            ).update(
                status=JobStatus.CANCELLED, finished_at=timezone.now(), version=F("version") + 1
            )
            if not updated:
                job.refresh_from_db()
                raise InvalidTransition(f"a {job.status} job cannot be cancelled", field="status")
    events.job_cancelled(job, job.attempts)
    return _get(job_id)


def retry_job(*, job_id: str) -> Job:
    """Queue a dead, retrying or scheduled job now (a dead job gets a fresh budget)."""
    job = _get(job_id)
    if job.status not in {JobStatus.DEAD, JobStatus.RETRYING, JobStatus.SCHEDULED}:
        raise InvalidTransition(f"a {job.status} job cannot be retried", field="status")
    with _redis_required():
        broker = Broker()
        moved = broker.move_to_queue([str(job.id)])
    if not moved:
        raise InvalidTransition("the job is not waiting for a retry", field="status")
    with _database_required():
        _apply_entries(broker, moved)
    events.jobs_replayed(outbox.decode(moved))
    return _get(job_id)


def replay_dlq(*, limit: int) -> int:
    """Move up to `limit` dead jobs, oldest first, back to their queues."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10_000:
        raise InvalidInput("limit must be an integer from 1 to 10000", field="limit")
    with _redis_required():
        broker = Broker()
        moved = broker.replay_dlq(limit)
    with _database_required():
        _apply_entries(broker, moved)
    events.jobs_replayed(outbox.decode(moved))
    return len(moved)


def _apply_entries(broker: Broker, entries: list[str]) -> None:
    """Write now; if that fails the entries stay in the outbox for the watchdog."""
    try:
        outbox.apply_and_settle(broker, entries)
    except (DatabaseError, redis.RedisError) as exc:
        logger.warning("queuey.outbox_deferred entries=%d error=%s", len(entries), exc)
        if isinstance(exc, OperationalError):
            raise


def _get(job_id: str) -> Job:
    parsed = parse_job_id(job_id)
    if parsed is None:
        raise JobNotFound("no job with this id", field="id")
    with _database_required():
        job = Job.objects.filter(pk=parsed).first()
    if job is None:
        raise JobNotFound("no job with this id", field="id")
    return job
