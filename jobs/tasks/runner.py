"""Tasks as Queuey handlers: each task is registered under its dotted path (its module
path, `myapp.tasks.send_receipt`), so it shows in the dashboard and the metrics under
that name, and runs on a worker like any handler.

A worker knows a task once the task's module is imported: creating the Task (the
`@task` decorator) asks the backend to validate it, and the backend registers it here.
The `jobs.tasks` app imports the `tasks` module of every installed app when the process
starts (and the backend's OPTIONS["MODULES"], for tasks defined elsewhere), so a worker
started with the project's settings has every task its producers can enqueue.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.db import close_old_connections
from django.utils.module_loading import autodiscover_modules

from jobs.handlers.context import current_attempt, current_job_id
from jobs.handlers.registry import PayloadError, get_handler, handler
from jobs.tasks.compat import InvalidTask, TaskContext, normalize_json, task_backends

if TYPE_CHECKING:
    from jobs.tasks.compat import Task, TaskResult

# What a registered task's handler may take from the backend's OPTIONS["TASK_OPTIONS"].
HANDLER_OPTIONS = ("max_attempts", "timeout", "backoff_base", "backoff_factor", "backoff_max")

_tasks: dict[str, Task] = {}  # dotted path -> the latest definition (a reload replaces it)
_runners: dict[str, Callable[[dict[str, Any]], Any]] = {}


def discover() -> None:
    """Import every module that defines tasks (at process start: QueueyTasksConfig.ready)."""
    autodiscover_modules("tasks")
    for alias in task_backends.settings:
        params = task_backends.settings[alias]
        for module in params.get("OPTIONS", {}).get("MODULES", []):
            import_module(module)


def register(task: Task, options: dict[str, Any]) -> None:
    """Make the task a handler named by its dotted path (once per path)."""
    path = task.module_path
    _tasks[path] = task
    existing = get_handler(path)
    if existing is not None:
        if existing.func is not _runners.get(path):
            raise InvalidTask(f"{path!r} is already a Queuey handler of another function")
        return
    unknown = set(options) - set(HANDLER_OPTIONS)
    if unknown:
        raise InvalidTask(f"TASK_OPTIONS[{path!r}]: unknown {sorted(unknown)}")
    _runners[path] = _runner(path)
    handler(path, validate=validate_payload, **options)(_runners[path])


def validate_payload(payload: dict[str, Any]) -> None:
    """A task's payload is its arguments (also when submitted over POST /v1/jobs)."""
    if not isinstance(payload.get("args", []), list):
        raise PayloadError("payload.args must be a list", field="payload.args")
    if not isinstance(payload.get("kwargs", {}), dict):
        raise PayloadError("payload.kwargs must be an object", field="payload.kwargs")


def _runner(path: str) -> Callable[[dict[str, Any]], Any]:
    def run_task(payload: dict[str, Any]) -> Any:
        # Tasks are Django code and use the ORM: like a request, each run starts and
        # ends with the connection checked (a database restart must not leave this
        # handler thread holding a dead connection for good).
        close_old_connections()
        try:
            return normalize_json(_call(_tasks[path], payload))
        finally:
            close_old_connections()

    run_task.__qualname__ = run_task.__name__ = f"run_task[{path}]"
    return run_task


def _call(task: Task, payload: dict[str, Any]) -> Any:
    args = list(payload.get("args", []))
    if task.takes_context:
        args.insert(0, TaskContext(task_result=_running_result(task)))
    if inspect.iscoroutinefunction(task.func):
        # In the worker's own thread (no loop runs there), so the worker's timeout and
        # shutdown interrupts reach the coroutine as they reach a plain function.
        return asyncio.run(task.func(*args, **payload.get("kwargs", {})))
    return task.func(*args, **payload.get("kwargs", {}))


def _running_result(task: Task) -> TaskResult[Any]:
    """The TaskResult a task that takes_context sees: this attempt counts already."""
    from jobs.tasks.results import result_of_running

    return result_of_running(task, current_job_id(), current_attempt())
