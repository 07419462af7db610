"""Side task: renews leases, enforces timeouts and sends heartbeats.

It runs in its own thread and does only short Redis calls, so a handler that hogs the
CPU cannot starve it for long: CPython switches threads every few milliseconds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

import redis

from jobs import conf
from jobs.broker.client import Broker
from jobs.broker.types import Outcome
from jobs.handlers.registry import get_handler
from workers import heartbeat_file
from workers.execution import failure
from workers.interrupt import interrupt_thread
from workers.running import RunningJob, RunningSet

logger = logging.getLogger("queuey.worker")

TICK_SECONDS = 0.1


class LeaseKeeper:
    def __init__(
        self,
        *,
        broker: Broker,
        running: RunningSet,
        worker_id: str,
        visibility_ms: int,
        report_timeout: Callable[[RunningJob, Outcome], None],
        info: dict,
    ) -> None:
        self.broker = broker
        self.running = running
        self.worker_id = worker_id
        self.visibility_ms = visibility_ms
        self.report_timeout = report_timeout  # called with (RunningJob, Outcome)
        self.info = info
        self.last_renewal = time.monotonic()
        self.stuck_threads = 0

    def run(self, stop: threading.Event) -> None:
        renew_every = self.visibility_ms / 1000 / 3
        beat_every = conf.get("HEARTBEAT_INTERVAL")
        next_renew = next_beat = 0.0
        while not stop.is_set():
            now = time.monotonic()
            self.enforce_timeouts(now)
            try:
                if now >= next_renew:
                    self.renew()
                    next_renew = now + renew_every
                if now >= next_beat:
                    self.heartbeat()
                    next_beat = now + beat_every
            except redis.RedisError as exc:
                logger.warning("queuey.lease_renewal_failed error=%s", exc)
                next_renew = now + min(renew_every, 1.0)
            stop.wait(TICK_SECONDS)

    def renew(self) -> None:
        live = [rj for rj in self.running.snapshot() if not rj.lease_lost]
        lost = self.broker.renew([(rj.job.id, rj.job.token) for rj in live], self.visibility_ms)
        for index in lost:
            rj = live[index]
            rj.lease_lost = True
            # The finish script revokes the token of an outcome it accepts, so an attempt
            # that ended between the snapshot above and this call looks lost here although
            # it is not (the false alarm of tests/integration/test_lease_keeper.py). That
            # is told apart without asking Redis: `finalized` is set before the outcome is
            # handed to the reporter, hence before Redis can have accepted it. For a
            # finalized attempt the ack decides and speaks (queuey.result_refused in the
            # worker); only a handler still running has really lost its lease.
            if not rj.finalized:
                logger.warning(
                    "queuey.lease_lost job=%s attempt=%d: it may run elsewhere; "
                    "its result will be refused",
                    rj.job.id,
                    rj.job.attempt,
                )
        self.last_renewal = time.monotonic()

    def enforce_timeouts(self, now: float) -> None:
        for rj in self.running.snapshot():
            if rj.deadline and now > rj.deadline and self.running.finalize(rj.job.id, rj.job.token):
                outcome = failure(
                    rj.job,
                    get_handler(rj.job.type),
                    rj.started_ms,
                    "timeout",
                    f"TimeoutError: exceeded its timeout of {rj.job.timeout:g}s",
                )
                self.report_timeout(rj, outcome)
                if rj.thread_id is not None:
                    interrupt_thread(rj.thread_id)
                logger.warning("queuey.job_timeout job=%s attempt=%d", rj.job.id, rj.job.attempt)

    def heartbeat(self) -> None:
        current = [
            {
                "id": rj.job.id,
                "type": rj.job.type,
                "attempt": rj.job.attempt,
                "started_ms": rj.started_ms,
            }
            for rj in self.running.snapshot()
        ]
        ttl_ms = int(conf.get("HEARTBEAT_INTERVAL") * 3000)
        self.broker.heartbeat(
            self.worker_id, {**self.info, "current_jobs": current, "busy": len(current)}, ttl_ms
        )
        heartbeat_file.touch()


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
