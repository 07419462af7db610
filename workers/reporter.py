"""Reporter: records outcomes in Redis, then in the database, on two threads.

The ack thread sends each batch of outcomes through the fenced finish script (Redis
decides; a stale result is refused) and frees the slots at once. The write thread then
writes the resulting outbox entries, and the claims it was told about, to the database
in one transaction per batch, and settles them. Keeping the database write off the ack
path means a slow commit never holds job slots. If this process dies between the two,
the entries wait in the Redis outbox and the watchdog writes them: no outcome is lost.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence

import redis
from django.db import DatabaseError, close_old_connections, transaction
from django.utils import timezone

from jobs import outbox
from jobs.broker.client import Broker
from jobs.broker.types import ClaimedJob, Outcome
from jobs.bulk_update import update_versioned
from jobs.states import JobStatus
from jobs.timeutil import from_ms

logger = logging.getLogger("queuey.worker")

MAX_BATCH = 512
# Entries kept in memory while the database is away; older ones wait in the Redis
# outbox, where the watchdog writes them once the database is back.
MAX_UNWRITTEN = 5000
# The write thread gathers this long before a transaction: fewer, larger transactions
# keep the database's write lock free for submitters (SQLite has only one).
WRITE_LINGER = 0.01
# After a stop, give up on an unreachable store after this many failed tries.
TRIES_AFTER_STOP = 3


def _take(source: queue.SimpleQueue, timeout: float, linger: float = 0.0) -> list:
    """Up to MAX_BATCH items: wait `timeout` for the first, then `linger` for more."""
    batch = []
    try:
        batch.append(source.get(timeout=timeout))
        until = time.monotonic() + linger
        while len(batch) < MAX_BATCH:
            left = until - time.monotonic()
            batch.append(source.get(timeout=left) if left > 0 else source.get_nowait())
    except queue.Empty:
        pass
    return batch


def _backoff(failures: int) -> float:
    return min(2.0, 0.1 * 2 ** min(failures, 5))


class Reporter:
    def __init__(
        self, broker: Broker, on_finished: Callable[[Outcome, str], None], worker_id: str = ""
    ) -> None:
        self.broker = broker
        self.worker_id = worker_id
        self.on_finished = on_finished  # (Outcome, new state or "stale") once Redis answered
        self._outcomes: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        self._writes: queue.SimpleQueue[tuple[str, list]] = queue.SimpleQueue()
        self._pending_lock = threading.Lock()
        self._pending_writes = 0  # entries acked in Redis, not yet in the database

    @property
    def pending_writes(self) -> int:
        return self._pending_writes

    def _count_pending(self, delta: int) -> None:
        with self._pending_lock:
            self._pending_writes += delta

    def claimed(self, jobs: list[ClaimedJob]) -> None:
        self._writes.put(("claimed", jobs))

    def promoted(self, entries: list[str]) -> None:
        """Outbox entries of jobs this worker moved from scheduled to their queue."""
        self._count_pending(len(entries))
        self._writes.put(("entries", entries))

    def finished(self, outcome: Outcome) -> None:
        self._outcomes.put(outcome)

    # --- Redis ------------------------------------------------------------------------
    def run_acks(self, stop: threading.Event) -> None:
        """Until `stop` is set and every outcome handed in was answered by Redis."""
        failures = 0
        while True:
            batch = _take(self._outcomes, timeout=0.05)
            if not batch:
                if stop.is_set():
                    return
                continue
            try:
                self.ack(batch)
                failures = 0
            except redis.RedisError as exc:
                failures += 1
                logger.warning("queuey.ack_failed error=%s retry=%d", exc, failures)
                if stop.is_set() and failures >= TRIES_AFTER_STOP:
                    return  # the leases expire and the watchdog requeues: at least once
                for o in batch:
                    self._outcomes.put(o)
                stop.wait(_backoff(failures))

    def ack_remaining(self) -> None:
        """At shutdown, from the caller's thread: report what the ack thread left."""
        while batch := _take(self._outcomes, timeout=0.001):
            try:
                self.ack(batch)
            except redis.RedisError as exc:
                logger.warning("queuey.ack_failed_at_exit error=%s jobs=%d", exc, len(batch))
                return  # their leases expire and the watchdog requeues them

    def ack(self, outcomes: list[Outcome]) -> None:
        results = self.broker.finish(outcomes)
        entries, refused = [], []
        for o, r in zip(outcomes, results, strict=True):
            self.on_finished(o, r.state)
            if r.stale:
                if r.leaves_number_to(o.attempt):
                    refused.append(o)
            elif r.entry:  # "accepted" again: the outbox holds its entry already
                entries.append(r.entry)
        self._hand_to_writer(entries, refused)

    def _hand_to_writer(self, entries: list[str], refused: list[Outcome]) -> None:
        """Redis took the outcomes; the database write follows on the write thread. A
        crash in between leaves the entries in the Redis outbox for the watchdog."""
        if entries:
            self._count_pending(len(entries))
            self._writes.put(("entries", entries))
        if refused:
            self._writes.put(("refused", refused))

    # --- database ---------------------------------------------------------------------
    def run_writes(self, stop: threading.Event) -> None:
        """Until `stop` is set and everything handed in is written (or given up on)."""
        batches: dict[str, list] = {"claimed": [], "entries": [], "refused": []}
        claimed, unwritten, refused = batches.values()
        failures = 0
        while True:
            for kind, items in _take(self._writes, timeout=0.05, linger=WRITE_LINGER):
                batches[kind].extend(items)
            if not claimed and not unwritten and not refused:
                if stop.is_set():
                    return
                continue
            close_old_connections()
            try:
                self.write(claimed, unwritten, refused)
                self._count_pending(-len(unwritten))
                for batch in batches.values():
                    batch.clear()
                failures = 0
            except DatabaseError as exc:
                failures += 1
                logger.warning("queuey.db_write_failed error=%s retry=%d", exc, failures)
                close_old_connections()
                claimed.clear()  # "running" marks are informational; outcomes are not
                dropped = max(0, len(unwritten) - MAX_UNWRITTEN)
                del unwritten[:dropped]
                # Refused results only complete the history: drop the oldest first.
                del refused[: max(0, len(refused) - MAX_UNWRITTEN)]
                self._count_pending(-dropped)
                if stop.is_set() and failures >= TRIES_AFTER_STOP:
                    return  # the entries wait in the Redis outbox for the watchdog
                stop.wait(_backoff(failures))

    def write(
        self, claimed: list[ClaimedJob], entries: list[str], refused: Sequence[Outcome] = ()
    ) -> None:
        with transaction.atomic():
            # Outcomes first: attempt rows, then job rows, the order the reconciler takes
            # its locks in (workers/reconcile.py), so the two cannot deadlock.
            settled = outbox.apply(entries)
            outbox.record_refused(self.worker_id, list(refused))
            finished = {job_id for _, job_id, _ in settled}
            marks: dict[str, ClaimedJob] = {}  # one row per job (the newest claim)
            for j in claimed:
                if j.id not in finished and (j.id not in marks or j.version > marks[j.id].version):
                    marks[j.id] = j
            update_versioned(
                constants={"status": JobStatus.RUNNING, "updated_at": timezone.now()},
                columns=["id", "version", "attempts", "started_at"],
                rows=[_mark_row(j) for j in marks.values()],
            )
        try:
            self.broker.settle(settled)
        except redis.RedisError as exc:
            # Harmless: the watchdog re-applies (idempotently) and settles them later.
            logger.warning("queuey.settle_deferred entries=%d error=%s", len(settled), exc)


def _mark_row(job: ClaimedJob) -> list:
    return [uuid.UUID(job.id), job.version, job.attempt, from_ms(job.claimed_ms)]
