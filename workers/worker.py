"""The worker loop: claim jobs from Redis, run them on handler threads, report outcomes.

Threads in one worker process:
- the main thread claims (several jobs per round trip) and blocks on Redis when idle;
- `concurrency` handler threads run the attempts;
- the reporter batches outcomes: fenced finish in Redis, then one database transaction;
- the lease keeper renews leases, enforces timeouts and sends heartbeats.

A handler that overruns its timeout: the lease keeper reports the attempt as `timeout`
(the finish script revokes its token, so a late result is refused), raises an exception
into its thread, and a replacement handler thread is started at once, so capacity is not
pinned. A thread that never returns to Python cannot be killed; once as many threads are
stuck as the worker has slots, the worker stops claiming, drains and exits with
EXIT_RECYCLE so its supervisor (`runworker --processes N`, or systemd/Kubernetes) starts a
fresh process: that is how a hung handler's capacity is finally reclaimed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

import redis
from django.db import close_old_connections

from jobs import conf, events
from jobs.broker.client import STALE, Broker
from jobs.broker.connection import warn_unless_noeviction
from jobs.broker.types import ClaimedJob, Outcome
from jobs.handlers.registry import registered_types
from jobs.timeutil import wall_ms
from workers.execution import run_attempt
from workers.interrupt import HandlerInterrupted, interrupt_thread
from workers.layout import EXIT_WRONG_LAYOUT, layout_fits
from workers.lease_keeper import LeaseKeeper, default_worker_id
from workers.reporter import Reporter
from workers.running import RunningJob, RunningSet

logger = logging.getLogger("queuey.worker")

EXIT_OK = 0
EXIT_FORCED = 1
EXIT_RECYCLE = 75
MAX_IDLE_WAIT = 1.0
MAX_PENDING_WRITES = 2000
# A timed-out handler thread not back within this long after its interrupt is stuck.
STUCK_AFTER_SECONDS = 10.0


class Worker:
    reporter_class = Reporter

    def __init__(
        self,
        *,
        concurrency: int | None = None,
        queues: list[str] | None = None,
        burst: bool = False,
        worker_id: str | None = None,
        broker: Broker | None = None,
    ) -> None:
        self.concurrency = concurrency or conf.get("WORKER_CONCURRENCY")
        self.queues = list(queues or conf.QUEUES)
        self.burst = burst
        self.worker_id = worker_id or default_worker_id()
        self.broker = broker or Broker()
        self.visibility_ms = int(conf.get("VISIBILITY_TIMEOUT") * 1000)
        self.running = RunningSet(capacity=self.concurrency)
        self.stopping = threading.Event()  # no more claims
        self.forced = threading.Event()
        self.exit_code = EXIT_OK
        self._work: queue.SimpleQueue[ClaimedJob | None] = queue.SimpleQueue()
        self._threads_lock = threading.Lock()
        self._handler_threads = 0
        # Handler threads that overran a timeout and have not come back: ident -> when.
        self._abandoned: dict[int, float] = {}
        self._acks_stop = threading.Event()
        self._writes_stop = threading.Event()
        self._keeper_stop = threading.Event()
        self.reporter = self.reporter_class(
            self.broker, on_finished=self._on_finished, worker_id=self.worker_id
        )
        self.keeper = LeaseKeeper(
            broker=self.broker,
            running=self.running,
            worker_id=self.worker_id,
            visibility_ms=self.visibility_ms,
            report_timeout=self._on_timeout,
            info={
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started_ms": wall_ms(),
                "concurrency": self.concurrency,
                "queues": self.queues,
            },
        )
        self.processed = 0

    # --- lifecycle ----------------------------------------------------------------------
    def request_stop(self) -> None:
        """Stop claiming; running jobs get the grace period, then are released."""
        self.stopping.set()

    def request_force_stop(self) -> None:
        self.stopping.set()
        self.forced.set()

    def install_signal_handlers(self) -> None:
        def on_signal(signum: int, frame: FrameType | None) -> None:
            if self.stopping.is_set():
                logger.warning("queuey.worker_force_stop signal=%d", signum)
                self.request_force_stop()
            else:
                logger.info("queuey.worker_stopping signal=%d", signum)
                self.request_stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def run(self) -> int:
        if not layout_fits(self.broker):
            return EXIT_WRONG_LAYOUT
        events.prime("worker", self.queues, registered_types())
        events.worker_started(self.worker_id, concurrency=self.concurrency, queues=self.queues)
        self._check_redis()
        threads = [
            threading.Thread(
                target=self._side_task,
                args=(self.reporter.run_acks, self._acks_stop),
                name="acks",
                daemon=True,
            ),
            threading.Thread(
                target=self._side_task,
                args=(self.reporter.run_writes, self._writes_stop),
                name="db-writes",
                daemon=True,
            ),
            threading.Thread(target=self._keep_leases, name="lease-keeper", daemon=True),
        ]
        for t in threads:
            t.start()
        for _ in range(self.concurrency):
            self._start_handler_thread()
        try:
            self._fetch_loop()
        finally:
            self._shutdown(threads)
        return self.exit_code

    def _check_redis(self) -> None:
        try:
            warn_unless_noeviction(self.broker.redis)
        except redis.RedisError as exc:
            logger.warning("queuey.redis_unreachable_at_start error=%s", exc)

    def _side_task(self, loop: Callable[[threading.Event], None], stop: threading.Event) -> None:
        try:
            loop(stop)
        except Exception:
            # Outcomes would pile up unreported: stop taking jobs (shutdown reports them).
            logger.exception("queuey.side_task_died task=%s: stopping the worker", loop.__name__)
            self.request_stop()

    def _keep_leases(self) -> None:
        try:
            self.keeper.run(self._keeper_stop)
        except Exception:
            # Without renewals our leases expire and other workers rerun our jobs: stop.
            logger.exception("queuey.lease_keeper_died: stopping the worker")
            self.request_stop()

    # --- claiming -----------------------------------------------------------------------
    def _fetch_loop(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                did_work = self.run_once()
                failures = 0
            except redis.RedisError as exc:
                failures += 1
                delay = min(5.0, 0.1 * 2 ** min(failures, 6))
                logger.warning("queuey.redis_unavailable error=%s retry_in=%.1fs", exc, delay)
                self.stopping.wait(delay)
                continue
            if not did_work and self.burst and not len(self.running):
                logger.info("queuey.worker_burst_done processed=%d", self.processed)
                return

    def run_once(self) -> bool:
        """Claim what fits and hand it to the handler threads; block briefly if idle."""
        self._recycle_if_stuck()
        free = self.running.free_slots()
        if self.reporter.pending_writes > MAX_PENDING_WRITES:
            # The database is behind: claiming more would only grow memory. While it is
            # down the outcomes also wait safely in the Redis outbox.
            self.stopping.wait(0.01)
            return True
        if free <= 0:
            self.running.wait_for_slot(MAX_IDLE_WAIT)
            return True
        jobs = self.broker.claim(
            max_jobs=free,
            worker_id=self.worker_id,
            queues=self.queues,
            visibility_ms=self.visibility_ms,
        )
        if jobs:
            self._start(jobs)
            return True
        promoted, next_due_ms = self.broker.promote_due()
        if promoted:
            self.reporter.promoted(promoted)
            return True
        if self.burst:
            return False
        wait = MAX_IDLE_WAIT if next_due_ms < 0 else min(MAX_IDLE_WAIT, next_due_ms / 1000)
        self.broker.wait_for_work(wait)
        return False

    def _start(self, jobs: list[ClaimedJob]) -> None:
        for job in jobs:
            self.running.add(job)
            self._work.put(job)
            events.attempt_started(job, self.worker_id)
        self.reporter.claimed(jobs)

    # --- handler threads ----------------------------------------------------------------
    def _start_handler_thread(self) -> None:
        with self._threads_lock:
            self._handler_threads += 1
        threading.Thread(target=self._handler_loop, name="handler", daemon=True).start()

    def _handler_loop(self) -> None:
        while True:
            job = self._work.get()
            if job is None:
                return
            if not self._execute(job):
                return  # this thread overran a timeout; a replacement already took over

    def _execute(self, job: ClaimedJob) -> bool:
        rj = self.running.get(job.id, job.token)
        if rj is None:
            return True
        rj.thread_id = threading.get_ident()
        rj.started_ms = wall_ms()
        rj.deadline = time.monotonic() + job.timeout
        try:
            outcome = run_attempt(job, rj.started_ms)
        except HandlerInterrupted:
            outcome = None
        if outcome is not None and self.running.finalize(job.id, job.token):
            self._report(outcome)
            return True
        # Timed out or released: somebody else reported this attempt and replaced us.
        with self._threads_lock:
            self._abandoned.pop(threading.get_ident(), None)
        return False

    def _report(self, outcome: Outcome) -> None:
        """Hand a finished attempt to the reporter (a seam the crash tests cut at)."""
        self.reporter.finished(outcome)

    def _on_timeout(self, rj: RunningJob, outcome: Outcome) -> None:
        self.reporter.finished(outcome)
        if rj.thread_id is not None:
            with self._threads_lock:
                self._abandoned[rj.thread_id] = time.monotonic()
        self._start_handler_thread()

    def _recycle_if_stuck(self) -> None:
        """Once as many threads as we have slots stay stuck, restart the process."""
        cutoff = time.monotonic() - STUCK_AFTER_SECONDS
        with self._threads_lock:
            stuck = sum(1 for since in self._abandoned.values() if since < cutoff)
        if stuck >= self.concurrency and not self.stopping.is_set():
            logger.error("queuey.worker_recycle stuck_threads=%d: draining to restart", stuck)
            self.exit_code = EXIT_RECYCLE
            self.request_stop()

    def _on_finished(self, outcome: Outcome, state: str) -> None:
        rj = self.running.release(outcome.id, outcome.token)
        self.processed += 1
        if rj is None:
            return
        # Counted once Redis answered, so timeouts (reported by the lease keeper) count too.
        events.attempt_finished(rj.job, outcome, self.worker_id)
        if state == STALE:
            # Redis refused the result: the lease was lost (expired and requeued, or the
            # job cancelled) before the outcome arrived. This, not a failed renewal, is
            # where a lost attempt is reported, since only the ack knows for sure.
            events.stale_result_refused(rj.job, outcome, self.worker_id)
        else:
            events.outcome_recorded(rj.job, outcome, state, self.worker_id)

    # --- shutdown -----------------------------------------------------------------------
    def _shutdown(self, threads: list[threading.Thread]) -> None:
        grace = conf.get("SHUTDOWN_GRACE")
        deadline = time.monotonic() + grace
        while len(self.running) and not self.forced.is_set() and time.monotonic() < deadline:
            self.running.wait_until_empty(0.1)
        self._release_unfinished()
        for _ in range(self._handler_threads):
            self._work.put(None)
        acks, writes, keeper = threads
        # Order matters: outcomes reach Redis while leases are still renewed, then the
        # database; only then do the renewals and heartbeats stop.
        self._acks_stop.set()
        acks.join(timeout=15)
        # Belt and braces: a release must reach Redis even if the ack thread is gone.
        self.reporter.ack_remaining()
        self._writes_stop.set()
        writes.join(timeout=30)
        self._keeper_stop.set()
        keeper.join(timeout=5)
        with contextlib.suppress(redis.RedisError):
            self.broker.forget_worker(self.worker_id)
        close_old_connections()
        if self.forced.is_set() and self.exit_code == EXIT_OK:
            self.exit_code = EXIT_FORCED
        events.worker_stopped(self.worker_id, processed=self.processed, exit_code=self.exit_code)

    def _release_unfinished(self) -> None:
        """Hand jobs that did not finish in the grace period back to their queue now."""
        for rj in self.running.snapshot():
            if self.running.finalize(rj.job.id, rj.job.token):
                self.reporter.finished(
                    Outcome(
                        id=rj.job.id,
                        token=rj.job.token,
                        outcome="interrupted",
                        detail="worker shut down before the job finished",
                        traceback="",
                        started_ms=rj.started_ms or wall_ms(),
                        finished_ms=wall_ms(),
                        retry_delay_ms=0,
                        attempt=rj.job.attempt,
                        run=rj.job.run,
                    )
                )
                if rj.thread_id is not None:
                    interrupt_thread(rj.thread_id)
                logger.info("queuey.job_released job=%s", rj.job.id)
