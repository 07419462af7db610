"""A django.tasks backend: `@task` functions enqueue into Queuey and run on its workers.

Add "jobs.tasks" to INSTALLED_APPS (it finds the `tasks` modules of installed apps when a
worker starts, so their tasks are handlers there) and point TASKS at
"jobs.tasks.backend.QueueyTaskBackend". README "Enqueue from Django code" has the rest.
Nothing here is imported before the app registry is ready.
"""
