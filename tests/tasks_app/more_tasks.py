"""Tasks outside a `tasks` module: found through the backend's OPTIONS["MODULES"]."""

from __future__ import annotations

from jobs.tasks.compat import task


@task()
def ping() -> str:
    return "pong"
