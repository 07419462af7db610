"""Book-keeping for the attempts a worker process is running right now."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from jobs.broker.types import ClaimedJob


@dataclass
class RunningJob:
    job: ClaimedJob
    started_ms: int = 0
    deadline: float = 0.0  # monotonic
    thread_id: int | None = None
    # Set once, by whoever reports the attempt's end first: the handler thread (result or
    # error), the timeout check, or shutdown. Later reports are dropped.
    finalized: bool = False
    lease_lost: bool = False


@dataclass
class RunningSet:
    """Thread-safe map of (job id, fencing token) -> RunningJob, with a condition to wait
    for free slots.

    Keyed by the token, not by the job id alone: the same worker may claim a job again
    while its earlier, superseded attempt still runs (the lease was lost while the process
    was stalled or cut off, or Redis lost its data and the job was re-dispatched). Keyed by
    id, the new claim overwrote the old entry, the old attempt's end then finalized the
    new one, whose own end was dropped while its lease was renewed forever (found by
    tests/chaos/test_store_faults.py::test_redis_loses_all_data). Both attempts occupy a
    handler thread, so both count against the capacity.
    """

    capacity: int
    _jobs: dict[tuple[str, str], RunningJob] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def add(self, job: ClaimedJob) -> RunningJob:
        with self._cond:
            rj = self._jobs[(job.id, job.token)] = RunningJob(job=job)
            return rj

    def get(self, job_id: str, token: str) -> RunningJob | None:
        with self._cond:
            return self._jobs.get((job_id, token))

    def free_slots(self) -> int:
        with self._cond:
            return self.capacity - len(self._jobs)

    def finalize(self, job_id: str, token: str) -> RunningJob | None:
        """Mark the attempt ended; None if someone already did. The slot stays taken
        (and the lease renewed) until Redis has the outcome: see release()."""
        with self._cond:
            rj = self._jobs.get((job_id, token))
            if rj is None or rj.finalized:
                return None
            rj.finalized = True
            return rj

    def release(self, job_id: str, token: str) -> RunningJob | None:
        """Free the slot once Redis accepted (or refused) the outcome. Holding it until
        then bounds the outcomes waiting to be reported: if the reporter falls behind,
        claiming slows down instead of leases expiring on finished jobs. Returns what
        ran there (None if it was released already)."""
        with self._cond:
            rj = self._jobs.pop((job_id, token), None)
            if rj is not None:
                self._cond.notify_all()
            return rj

    def snapshot(self) -> list[RunningJob]:
        with self._cond:
            return list(self._jobs.values())

    def wait_for_slot(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self._jobs) < self.capacity, timeout)

    def wait_until_empty(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._jobs, max(0.0, deadline - time.monotonic())
            )

    def __len__(self) -> int:
        with self._cond:
            return len(self._jobs)
