"""Tasks enqueued through the django.tasks backend (tests/acceptance/test_django_tasks.py).

TASK_OPTIONS in tests/settings.py give the failing ones a short backoff and budget.
"""

from __future__ import annotations

import asyncio
import time

from jobs.tasks.compat import TaskContext, task


class Boom(Exception):
    pass


@task()
def add(a: int, b: int) -> int:
    return a + b


@task(queue_name="high")
async def shout(text: str) -> str:
    await asyncio.sleep(0)
    return text.upper()


@task(takes_context=True)
def flaky(context: TaskContext, fail_times: int) -> dict:
    if context.attempt <= fail_times:
        raise RuntimeError(f"failing attempt {context.attempt} on purpose")
    return {"attempt": context.attempt, "job": context.task_result.id}


@task()
def explode(message: str) -> None:
    raise Boom(message)


@task(priority=-5)
def remind(note: str) -> str:
    return f"reminded: {note}"


@task()
def nap(seconds: float) -> None:
    time.sleep(seconds)  # longer than its timeout (TASK_OPTIONS)
