"""Gunicorn settings for the Queuey API, all overridable from the environment.

    GUNICORN_BIND     default 127.0.0.1:$PORT (PORT defaults to 8000); the image sets 0.0.0.0:8000
    GUNICORN_WORKERS  default 2      GUNICORN_THREADS  default 4 (gthread)
    GUNICORN_TIMEOUT  default 30     GUNICORN_GRACEFUL_TIMEOUT  default 25
    GUNICORN_CONTROL_SOCKET  path of gunicornc's control socket (default: disabled)
    GUNICORN_WORKER_CLASS  default queuey_site.gunicorn_worker.HeadFirstWorker (gthread that
                      reads each request head off-thread, so slow clients hold no thread,
                      and answers gunicorn's own refusals in the API's JSON error shape)
    GUNICORN_HEADER_TIMEOUT  default 10 s: a request head not complete by then is answered 408

With PROMETHEUS_MULTIPROC_DIR set, the metrics of every worker process are aggregated by
prometheus_client's multiprocess mode: the directory is emptied when the master starts and
each dead worker's live gauges are removed in child_exit.
"""

from __future__ import annotations

import os
from pathlib import Path


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = [os.environ.get("GUNICORN_BIND") or f"127.0.0.1:{os.environ.get('PORT') or '8000'}"]
workers = _int("GUNICORN_WORKERS", 2)
worker_class = os.environ.get(
    "GUNICORN_WORKER_CLASS", "queuey_site.gunicorn_worker.HeadFirstWorker"
)
threads = _int("GUNICORN_THREADS", 4)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0)
wsgi_app = "queuey_site.wsgi:application"
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# gunicorn >= 25 opens a control socket under $HOME/.gunicorn by default: two instances on
# one host would share it and the image's user cannot write $HOME. Opt in with a path.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
# Stay out of /tmp on hosts where it is a small or noexec mount (containers).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108


def _multiproc_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def on_starting(server):
    """Start every run with an empty metrics directory (stale files would add up)."""
    path = _multiproc_dir()
    if not path:
        return
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)


def child_exit(server, worker):
    if _multiproc_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
