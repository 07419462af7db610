"""What a running handler may ask about its own attempt (thread-local)."""

from __future__ import annotations

import threading

_local = threading.local()


def set_current(job_id: str, attempt: int) -> None:
    _local.job_id = job_id
    _local.attempt = attempt


def current_attempt() -> int:
    return getattr(_local, "attempt", 0)


def current_job_id() -> str:
    return getattr(_local, "job_id", "")
