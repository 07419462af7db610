from __future__ import annotations

from django.apps import AppConfig


class QueueyTasksConfig(AppConfig):
    name = "jobs.tasks"
    label = "queuey_tasks"  # "tasks" is a label a project may well use itself
    verbose_name = "Queuey django.tasks backend"

    def ready(self) -> None:
        from jobs.tasks.runner import discover

        discover()
