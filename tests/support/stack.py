"""Real worker and watchdog processes against the test's database and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this test runs against (pytest-django's test database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def migrate_database(url: str) -> None:
    """Create the schema in a database of the test's own, as a deployment would."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
    )


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


class Stack:
    def __init__(self, **env: object) -> None:
        self.logdir = Path(tempfile.mkdtemp(prefix="queuey-stack-"))
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("QUEUEY_")},
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "QUEUEY_KEY_PREFIX": settings.QUEUEY_KEY_PREFIX,
            "QUEUEY_VISIBILITY_TIMEOUT": "2",
            "QUEUEY_HEARTBEAT_INTERVAL": "0.5",
            "QUEUEY_WATCHDOG_INTERVAL": "0.2",
            "QUEUEY_OUTBOX_GRACE": "2",
            "QUEUEY_SHUTDOWN_GRACE": "10",
            "QUEUEY_WATCHDOG_METRICS_PORT": "0",
            "PYTHONUNBUFFERED": "1",
            **{k: str(v) for k, v in env.items()},
        }
        self.processes: list[subprocess.Popen] = []

    def _spawn(self, name: str, args: list[str], env: dict[str, object]) -> subprocess.Popen:
        log = open(self.logdir / f"{name}-{len(self.processes)}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env={**self.env, **{k: str(v) for k, v in env.items()}},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.processes.append(process)
        return process

    def worker(self, *args: str, **env: object) -> subprocess.Popen:
        return self._spawn("worker", ["runworker", "--concurrency", "4", *args], env)

    def watchdog(self, **env: object) -> subprocess.Popen:
        return self._spawn("watchdog", ["runwatchdog"], env)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.logdir.glob("*.log"))
        )

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
