"""Test settings: production settings with a throwaway secret and plain-HTTP test client."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")

from queuey_site.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False
QUEUEY_WATCHDOG_METRICS_PORT = 0
QUEUEY_FAULT_HANDLERS = True  # demo.spin / demo.hang / demo.crash, and the ledger
# Crash points (tests/support/crash_points.py): a step at which a worker kills itself.
QUEUEY_CRASH_AT = os.environ.get("QUEUEY_CRASH_AT", "")
if QUEUEY_CRASH_AT:
    QUEUEY_WORKER_CLASS = "tests.support.crash_points.CrashingWorker"

# Each pytest process gets its own SQLite test file, so parallel runs never share one.
if DATABASES["default"]["ENGINE"] == "queuey_site.sqlite":  # noqa: F405
    DATABASES["default"]["TEST"]["NAME"] = str(  # noqa: F405
        BASE_DIR / "var" / f"test-queuey-{os.getpid()}.sqlite3"  # noqa: F405
    )

# The django.tasks backend and a small app of @task functions (tests/tasks_app); the
# backport's app ("django_tasks") only adds its checks and log receivers.
INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks", "jobs.tasks", "tests.tasks_app"]  # noqa: F405
_FAST_RETRY = {"backoff_base": 0.1, "backoff_max": 0.2}
TASKS = {
    "default": {
        "BACKEND": "jobs.tasks.backend.QueueyTaskBackend",
        "OPTIONS": {
            "QUEUE_MAP": {"emails": "low"},
            "MODULES": ["tests.tasks_app.more_tasks"],
            "TASK_OPTIONS": {
                "tests.tasks_app.tasks.explode": {"max_attempts": 2, **_FAST_RETRY},
                "tests.tasks_app.tasks.flaky": _FAST_RETRY,
                "tests.tasks_app.tasks.nap": {"max_attempts": 1, "timeout": 0.5},
            },
        },
    }
}
