"""The django.tasks backend: TASKS = {"default": {"BACKEND":
"jobs.tasks.backend.QueueyTaskBackend"}}.

Queues and priority (Queuey has three queues, strict priority, FIFO within each):
- `queue_name` names a Queuey queue: "high", "default" or "low" (the valid names unless
  OPTIONS["QUEUE_MAP"] maps more, e.g. {"emails": "low"}; QUEUES narrows them).
- `priority` (-100..100) moves a task whose queue is Queuey's "default": above 0 to
  "high", below 0 to "low". A task on "high" or "low" stays there whatever its priority.
  So priority has three levels; tasks of one level run in the order they were enqueued.

`run_after` becomes the job's run_at (at most a year ahead, as for the API). A task's
arguments and return value must be JSON (django.tasks requires it too). Retries, backoff
and timeouts are Queuey's: settings, or per task in OPTIONS["TASK_OPTIONS"]
({"myapp.tasks.send": {"max_attempts": 5, "timeout": 30, "backoff_base": 2}}).

Enqueueing inside transaction.atomic() writes the job in that transaction and
dispatches it after the commit (jobs.enqueue), so a rolled-back transaction runs no task.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.apps import apps
from django.core import checks
from django.utils import timezone

from jobs import conf
from jobs.enqueue import enqueue
from jobs.models import Job
from jobs.tasks import runner
from jobs.tasks.compat import (
    BaseTaskBackend,
    InvalidTask,
    Task,
    TaskResult,
    TaskResultStatus,
    normalize_json,
    task_enqueued,
)
from jobs.tasks.results import get_task_result

MAX_PATH = cast(int, Job._meta.get_field("type").max_length)  # a CharField: never None


class QueueyTaskBackend(BaseTaskBackend):
    supports_defer = True  # run_after: the job waits in Redis's scheduled set
    supports_async_task = True  # a coroutine function runs under asyncio.run on the worker
    supports_get_result = True  # from the job's row, in any process
    supports_priority = True  # three levels (see the module's docstring)

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        self.queue_map = {q: q for q in conf.QUEUES} | dict(self.options.get("QUEUE_MAP", {}))
        if "QUEUES" not in params:
            self.queues = set(self.queue_map)
        self.task_options = dict(self.options.get("TASK_OPTIONS", {}))

    def validate_task(self, task: Task) -> None:
        super().validate_task(task)
        path = task.module_path
        if task.func.__module__ == "__main__":
            raise InvalidTask("a task's module must be importable by workers, not __main__")
        if len(path) > MAX_PATH:
            raise InvalidTask(f"a task's dotted path is at most {MAX_PATH} characters")
        if task.queue_name not in self.queue_map:
            raise InvalidTask(f"queue {task.queue_name!r} maps to no Queuey queue (QUEUE_MAP)")
        runner.register(task, self.task_options.get(path, {}))

    def queue_for(self, task: Task) -> str:
        queue = self.queue_map[task.queue_name]
        if queue == "default" and task.priority > 0:
            return "high"
        if queue == "default" and task.priority < 0:
            return "low"
        return queue

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        self.validate_task(task)
        args, kwargs = normalize_json(list(args)), normalize_json(dict(kwargs))
        payload = {"args": args, "kwargs": kwargs}
        if task.queue_name != "default":
            payload["queue_name"] = task.queue_name
        if task.priority:
            payload["priority"] = task.priority
        job_id = enqueue(
            task.module_path, payload, queue=self.queue_for(task), run_at=task.run_after
        )
        result: TaskResult[Any] = TaskResult(
            task=task,
            id=job_id,
            status=TaskResultStatus.READY,
            enqueued_at=timezone.now(),
            started_at=None,
            finished_at=None,
            last_attempted_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        return get_task_result(result_id, self.alias)

    def check(self, **kwargs: Any) -> Iterable[checks.CheckMessage]:
        if not apps.is_installed("jobs.tasks"):
            yield checks.Error(
                "QueueyTaskBackend needs 'jobs.tasks' in INSTALLED_APPS: it imports the "
                "tasks modules in workers, which cannot run a task they never imported.",
                id="queuey_tasks.E001",
            )
        for name in sorted(set(self.queues) - set(self.queue_map)):
            yield checks.Error(
                f"TASKS[{self.alias!r}]: queue {name!r} maps to no Queuey queue",
                hint=f"Queuey's queues are {', '.join(conf.QUEUES)}; map others in QUEUE_MAP.",
                id="queuey_tasks.E002",
            )
        for name, queue in sorted(self.queue_map.items()):
            if queue not in conf.QUEUES:
                yield checks.Error(
                    f"TASKS[{self.alias!r}]: QUEUE_MAP[{name!r}] = {queue!r} is no Queuey queue",
                    id="queuey_tasks.E003",
                )
