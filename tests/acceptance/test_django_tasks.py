"""django.tasks through Queuey: @task functions (tests/tasks_app) enqueued through the
backend, run by real worker processes, their results read back through the backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.broker.client import Broker
from jobs.models import Job
from jobs.tasks.compat import TaskResultStatus, default_task_backend
from jobs.tasks.results import TaskTimedOut
from tests.support.stack import wait_for
from tests.tasks_app import tasks

pytestmark = pytest.mark.acceptance


def finished(result, timeout: float = 30.0):
    def done():
        result.refresh()
        return result.is_finished

    wait_for(done, timeout=timeout, what=f"{result.task.module_path} to finish")
    return result


def test_a_task_runs_on_a_worker_and_its_result_reads_back(stack):
    stack.worker()
    result = tasks.add.enqueue(2, b=3)
    assert result.status == TaskResultStatus.READY and result.backend == "default"
    job = Job.objects.get(pk=result.id)
    assert (job.type, job.queue) == ("tests.tasks_app.tasks.add", "default")
    assert job.payload == {"args": [2], "kwargs": {"b": 3}}
    finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 5
    assert result.attempts == 1 and result.errors == [] and result.worker_ids[0]
    assert result.enqueued_at <= result.started_at <= result.finished_at
    again = tasks.add.get_result(result.id)  # from the database, as any process would
    assert (again.return_value, again.args, again.kwargs) == (5, [2], {"b": 3})


def test_an_async_task_on_the_high_queue(stack):
    stack.worker()
    result = tasks.shout.enqueue("hi")
    assert Job.objects.get(pk=result.id).queue == "high"
    assert finished(result).return_value == "HI"


def test_a_task_that_fails_then_succeeds_reports_each_attempt(stack):
    stack.watchdog()
    stack.worker()
    result = finished(tasks.flaky.enqueue(fail_times=2))
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"attempt": 3, "job": result.id}  # its TaskContext
    assert result.attempts == 3 and len(result.errors) == 2
    assert result.errors[0].exception_class is RuntimeError
    assert "failing attempt 1 on purpose" in result.errors[0].traceback


def test_a_task_out_of_attempts_ends_in_the_dlq_as_failed(stack):
    stack.watchdog()
    stack.worker()
    result = finished(tasks.explode.enqueue("kaboom"))
    assert result.status == TaskResultStatus.FAILED and result.attempts == 2
    assert [e.exception_class for e in result.errors] == [tasks.Boom, tasks.Boom]
    assert "kaboom" in result.errors[-1].traceback
    with pytest.raises(ValueError, match="failed"):
        result.return_value  # noqa: B018
    assert Job.objects.get(pk=result.id).status == "dead" and Broker().lengths().dlq == 1


def test_a_deferred_task_waits_for_run_after(stack):
    stack.watchdog()
    stack.worker()
    run_after = timezone.now() + timedelta(seconds=2)
    result = tasks.remind.using(run_after=run_after).enqueue("later")
    job = Job.objects.get(pk=result.id)
    assert (job.status, job.queue, job.scheduled_at) == ("scheduled", "low", run_after)
    assert default_task_backend.get_result(result.id).status == TaskResultStatus.READY
    finished(result)
    assert result.return_value == "reminded: later" and result.started_at >= run_after


def test_a_task_past_its_timeout_fails_with_task_timed_out(stack):
    stack.worker()
    result = finished(tasks.nap.enqueue(2))
    assert result.status == TaskResultStatus.FAILED and result.attempts == 1
    assert [e.exception_class for e in result.errors] == [TaskTimedOut]
