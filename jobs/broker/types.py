"""Plain values that cross the broker's boundary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dispatch:
    """What Redis needs to know to run a job; built from its database row."""

    id: str
    type: str
    queue: str
    payload_json: str
    attempt: int
    limit: int
    max_attempts: int
    timeout: float
    created_ms: int
    due_ms: int
    state: str  # queued | scheduled | retrying | dead
    version: int
    run: int = 1
    trace: str = ""  # the submitter's trace context (jobs/tracing.py), "" when off


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    token: str
    attempt: int
    version: int
    type: str
    payload_json: str
    timeout: float
    queue: str
    created_ms: int
    claimed_ms: int
    run: int = 1
    trace: str = ""


@dataclass(frozen=True)
class Outcome:
    """The end of one attempt, as the worker reports it."""

    id: str
    token: str
    outcome: str  # succeeded | failed | timeout | interrupted
    detail: str  # result JSON when succeeded, else the error message
    traceback: str
    started_ms: int
    finished_ms: int
    retry_delay_ms: int
    # The attempt's number and run, as claimed: a refused result is recorded under them.
    attempt: int = 0
    run: int = 1


@dataclass(frozen=True)
class Finished:
    job_id: str
    # The new state; "stale" when the token no longer held the lease; "accepted" when
    # this very outcome was taken by an earlier call whose reply was lost.
    state: str
    entry: str  # outbox entry; when stale, the job's "state attempt" in Redis now; else ""

    @property
    def stale(self) -> bool:
        return self.state == "stale"

    def leaves_number_to(self, attempt: int) -> bool:
        """Refused: is attempt number `attempt` still the refused run's own? Not when
        the job was dispatched again below it (a rebuild that could not know the run)
        or another run holds that very number: recording the refused run under it would
        take the row that run's outcome needs."""
        state, _, now = self.entry.partition(" ")
        current = int(now or 0)
        if state == "missing":
            return True  # the coming rebuild keeps the number (workers/reconcile.py)
        return current > attempt or (current == attempt and state != "running")
