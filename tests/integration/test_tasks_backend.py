"""The django.tasks backend without workers: queues, refusals, transactions, errors.
(tests/acceptance/test_django_tasks.py runs the tasks on real workers.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.db import transaction

from jobs.errors import InvalidInput
from jobs.models import Job
from jobs.services import submit_job
from jobs.submission import JobRequest
from jobs.tasks.compat import InvalidTask, TaskResultDoesNotExist, default_task_backend
from jobs.tasks.results import exception_path
from tests.support.stack import ROOT
from tests.tasks_app import tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("queue_name", "priority", "queue"),
    [
        ("default", 0, "default"),
        ("default", 1, "high"),
        ("default", -1, "low"),
        ("high", -100, "high"),
        ("low", 100, "low"),
        ("emails", 50, "low"),  # QUEUE_MAP in tests/settings.py: emails -> low
    ],
)
def test_queue_name_and_priority_map_onto_queueys_queues(broker, queue_name, priority, queue):
    task = tasks.add.using(queue_name=queue_name, priority=priority)
    assert default_task_backend.queue_for(task) == queue
    result = task.enqueue(1, 2)
    assert broker.where_is(result.id) == [queue]
    again = tasks.add.get_result(result.id)
    assert (again.task.queue_name, again.task.priority) == (queue_name, priority)


def test_the_backend_declares_what_it_supports():
    backend = default_task_backend
    assert backend.supports_defer and backend.supports_async_task
    assert backend.supports_get_result and backend.supports_priority


def test_a_task_is_a_handler_under_its_dotted_path(broker):
    result = tasks.add.enqueue(1, 2)
    assert Job.objects.get(pk=result.id).type == "tests.tasks_app.tasks.add"
    # ... so the API can enqueue it too, and refuses a payload that is no argument list.
    with pytest.raises(InvalidInput) as err:
        submit_job(JobRequest(type="tests.tasks_app.tasks.add", payload={"args": "x"}))
    assert err.value.field == "payload.args"


def test_a_fresh_process_knows_every_task_without_importing_it():
    """What a worker relies on: the jobs.tasks app imports the task modules at start."""
    code = (
        "import django; django.setup(); from jobs.handlers.registry import registered_types;"
        "print(*[t for t in registered_types() if t.startswith('tests.tasks_app')])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    names = {
        f"tests.tasks_app.tasks.{n}" for n in ("add", "explode", "flaky", "nap", "remind", "shout")
    }
    assert set(out.stdout.split()) == names | {"tests.tasks_app.more_tasks.ping"}


def test_in_a_transaction_the_task_is_dispatched_after_the_commit(broker):
    with transaction.atomic():
        result = tasks.add.enqueue(1, 1)
        assert broker.where_is(result.id) == []
    assert broker.where_is(result.id) == ["default"]


def test_a_task_enqueued_in_a_rolled_back_transaction_does_not_exist(broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        result = tasks.add.enqueue(1, 1)
        raise RuntimeError("roll back")
    with pytest.raises(TaskResultDoesNotExist):
        tasks.add.get_result(result.id)
    assert Job.objects.count() == 0 and broker.lengths().default == 0


def test_what_the_backend_refuses(broker):
    with pytest.raises(InvalidTask):
        tasks.add.using(queue_name="nowhere")
    with pytest.raises(TypeError):
        tasks.add.enqueue(object(), 1)  # arguments must be JSON
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result("not-a-job-id")
    plain = submit_job(JobRequest(type="text.reverse", payload={"text": "x"})).job_id
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(plain)  # a job, but no task's
    assert Job.objects.count() == 1


@pytest.mark.parametrize(
    ("outcome", "error", "tb", "path"),
    [
        (
            "failed",
            "Boom: x",
            "Traceback ...\ntests.tasks_app.tasks.Boom: x",
            "tests.tasks_app.tasks.Boom",
        ),
        ("failed", "RuntimeError: x", "Traceback ...\nRuntimeError: x", "builtins.RuntimeError"),
        ("failed", "KeyError: 'k'", "", "builtins.KeyError"),
        ("failed", "Boom: two\nlines", "a.Boom: two\nlines", "a.Boom"),
        ("timeout", "timed out", "", "jobs.tasks.results.TaskTimedOut"),
        ("lease_expired", "lease expired", "", "jobs.tasks.results.TaskAttemptLost"),
        ("failed", "", "", "builtins.Exception"),
    ],
)
def test_the_exception_class_path_of_an_attempt(outcome, error, tb, path):
    assert exception_path(outcome, error, tb) == path
