"""Queuey's record of a job, read as a django.tasks TaskResult.

Status: queued, scheduled and retrying are READY (waiting to run, or to run again),
running is RUNNING, succeeded SUCCESSFUL, dead and cancelled FAILED. Attempts, errors
and worker ids cover the job's current run (a replay from the DLQ starts a new one).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

from jobs.errors import JobNotFound
from jobs.models import Attempt, Job
from jobs.selectors import get_job
from jobs.states import AttemptOutcome, JobStatus
from jobs.tasks.compat import (
    Task,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

STATUS = {
    JobStatus.QUEUED: TaskResultStatus.READY,
    JobStatus.SCHEDULED: TaskResultStatus.READY,
    JobStatus.RETRYING: TaskResultStatus.READY,
    JobStatus.RUNNING: TaskResultStatus.RUNNING,
    JobStatus.SUCCEEDED: TaskResultStatus.SUCCESSFUL,
    JobStatus.DEAD: TaskResultStatus.FAILED,
    JobStatus.CANCELLED: TaskResultStatus.FAILED,
}


class TaskTimedOut(TimeoutError):
    """The attempt ran past its timeout_seconds (Queuey's hard timeout ended it)."""


class TaskAttemptLost(Exception):
    """The attempt's worker died, hung, or lost its lease; the task did not raise."""


class TaskCancelled(Exception):
    """An admin cancelled the job while this attempt ran."""


_NOT_RAISED = {
    AttemptOutcome.TIMEOUT: TaskTimedOut,
    AttemptOutcome.LEASE_EXPIRED: TaskAttemptLost,
    AttemptOutcome.INTERRUPTED: TaskAttemptLost,
    AttemptOutcome.CANCELLED: TaskCancelled,
}


def get_task_result(job_id: str, backend_alias: str) -> TaskResult:
    try:
        job = get_job(job_id=job_id)
    except JobNotFound:
        raise TaskResultDoesNotExist(job_id) from None
    task = task_of(job)
    if task is None:
        raise TaskResultDoesNotExist(f"job {job_id} is not a task")
    return result_of(job, task.using(backend=backend_alias), list(job.attempt_records.all()))


def task_of(job: Job) -> Task | None:
    """The task a job runs: its type is the task's dotted path."""
    try:
        task = import_string(job.type)
    except ImportError:
        return None
    if not isinstance(task, Task):
        return None
    payload = job.payload if isinstance(job.payload, dict) else {}
    return task.using(queue_name=payload.get("queue_name"), priority=payload.get("priority"))


def result_of(job: Job, task: Task, attempts: Sequence[Attempt], running: int = 0) -> TaskResult:
    """`running`: the number, within the run, of an attempt running in this thread."""
    mine = sorted((a for a in attempts if a.run == job.run), key=lambda a: a.number)
    worker_ids = [a.worker_id for a in mine]
    # A running attempt has no row yet: its worker is not recorded until it ends.
    worker_ids += [""] * (max(job.run_attempts, running) - len(worker_ids))
    payload = job.payload if isinstance(job.payload, dict) else {}
    status = STATUS[JobStatus(job.status)]
    result: TaskResult[Any] = TaskResult(
        task=task,
        id=str(job.id),
        status=TaskResultStatus.RUNNING if running else status,
        enqueued_at=job.created_at,
        started_at=mine[0].started_at if mine else job.started_at,
        finished_at=job.finished_at if job.status in _FINISHED else None,
        last_attempted_at=mine[-1].started_at if mine else job.started_at,
        args=payload.get("args", []),
        kwargs=payload.get("kwargs", {}),
        backend=task.backend,
        errors=[_error(a) for a in mine if a.outcome != AttemptOutcome.SUCCEEDED],
        worker_ids=worker_ids,
    )
    if status == TaskResultStatus.SUCCESSFUL and not running:
        object.__setattr__(result, "_return_value", job.result)
    return result


_FINISHED = {JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELLED}


def result_of_running(task: Task, job_id: str, attempt: int) -> TaskResult:
    """For TaskContext: the job's row may not show this attempt yet (the worker writes
    it asynchronously), so the attempt number comes from the worker."""
    job = get_job(job_id=job_id)
    return result_of(job, task, list(job.attempt_records.all()), max(1, attempt - job.run_base))


def _error(attempt: Attempt) -> TaskError:
    return TaskError(
        exception_class_path=exception_path(attempt.outcome, attempt.error, attempt.traceback),
        traceback=attempt.traceback or attempt.error,
    )


def exception_path(outcome: str, error: str, tb: str) -> str:
    """The raised exception's dotted class path. The worker records "Name: message" and
    the traceback, whose last exception line names the class as Python prints it:
    `pkg.module.Name: message`, or the bare name for builtins."""
    if outcome in _NOT_RAISED:
        cls = _NOT_RAISED[AttemptOutcome(outcome)]
        return f"{cls.__module__}.{cls.__qualname__}"
    name = error.split(":", 1)[0].strip()
    if not re.fullmatch(r"[A-Za-z_][\w.]*", name):
        return "builtins.Exception"
    line = re.compile(rf"^((?:[A-Za-z_]\w*\.)*){re.escape(name)}(?::|$)")
    for text in reversed(tb.splitlines()):
        found = line.match(text)
        if found:
            return f"{found.group(1) or 'builtins.'}{name}"
    return f"builtins.{name}"
