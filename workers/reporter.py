"""Reporter: records claims and outcomes, batched — Redis first, then the database.

Redis decides (the fenced finish script); its outbox entry is then written to the
database in one transaction per batch and settled. If this process dies in between, the
entry waits in the Redis outbox and the watchdog writes it: no outcome is lost.
"""

from __future__ import annotations

import logging
import queue
import threading

import redis
from django.db import DatabaseError, close_old_connections, transaction

from jobs import outbox
from jobs.broker.client import Broker
from jobs.broker.types import ClaimedJob, Outcome
from jobs.models import Job
from jobs.states import JobStatus
from jobs.timeutil import from_ms
from workers import faults

logger = logging.getLogger("queuey.worker")

MAX_BATCH = 512
# Outcomes kept in memory while the database is away; older ones wait in the Redis
# outbox, where the watchdog writes them once the database is back.
MAX_UNWRITTEN = 5000


class Reporter:
    def __init__(self, broker: Broker, on_finished) -> None:
        self.broker = broker
        self.on_finished = on_finished  # called with (Outcome, new state) after Redis accepts
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._unwritten: list[str] = []  # entries Redis accepted that the DB does not hold yet
        self._failures = 0

    def claimed(self, jobs: list[ClaimedJob]) -> None:
        self._inbox.put(("claimed", jobs))

    def finished(self, outcome: Outcome) -> None:
        self._inbox.put(("finished", outcome))

    def run(self, stop: threading.Event) -> None:
        """Loop until `stop` is set and everything handed in has been reported."""
        while True:
            batch = self._take(timeout=0.05)
            if not batch and stop.is_set() and not self._unwritten:
                return
            close_old_connections()
            self.report(batch)
            if self._failures:
                stop.wait(min(2.0, 0.1 * 2 ** min(self._failures, 5)))

    def report(self, batch: list) -> None:
        claimed = [j for kind, items in batch if kind == "claimed" for j in items]
        outcomes = [o for kind, o in batch if kind == "finished"]
        try:
            self._finish_in_redis(outcomes)
            self._write_database(claimed, outcomes)
            self._failures = 0
        except (redis.RedisError, DatabaseError) as exc:
            self._failures += 1
            logger.warning("queuey.report_failed error=%s retry=%d", exc, self._failures)
            close_old_connections()

    def _take(self, timeout: float) -> list:
        batch = []
        try:
            batch.append(self._inbox.get(timeout=timeout))
            while len(batch) < MAX_BATCH:
                batch.append(self._inbox.get_nowait())
        except queue.Empty:
            pass
        return batch

    def _finish_in_redis(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        try:
            results = self.broker.finish(outcomes)
        except redis.RedisError:
            # Not reported: retry with the next batch. The leases stay ours (the lease
            # keeper renews them) until they expire; after that the finish is stale.
            for o in outcomes:
                self._inbox.put(("finished", o))
            raise
        for o, r in zip(outcomes, results, strict=True):
            self.on_finished(o, r.state)
            if not r.stale:
                self._unwritten.append(r.entry)
        if len(self._unwritten) > MAX_UNWRITTEN:
            del self._unwritten[:-MAX_UNWRITTEN]
        faults.maybe_crash("after_ack_before_db")

    def _write_database(self, claimed: list[ClaimedJob], outcomes: list[Outcome]) -> None:
        finished_ids = {o.id for o in outcomes}
        marks = [j for j in claimed if j.id not in finished_ids]
        if not marks and not self._unwritten:
            return
        with transaction.atomic():
            for j in marks:
                Job.objects.filter(pk=j.id, version__lt=j.version).update(
                    status=JobStatus.RUNNING,
                    attempts=j.attempt,
                    version=j.version,
                    started_at=from_ms(j.claimed_ms),
                )
            settled = outbox.apply(self._unwritten)
        self._unwritten = []
        try:
            self.broker.settle(settled)
        except redis.RedisError as exc:
            # Harmless: the watchdog re-applies (idempotently) and settles them later.
            logger.warning("queuey.settle_deferred entries=%d error=%s", len(settled), exc)
