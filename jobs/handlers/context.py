"""What a running handler may ask about its own attempt (thread-local)."""

from __future__ import annotations

import threading

_local = threading.local()


def set_current(
    job_id: str,
    attempt: int,
    token: str = "",  # a fencing token, not a password  # nosec B107
) -> None:
    _local.job_id = job_id
    _local.attempt = attempt
    _local.token = token


def current_attempt() -> int:
    return getattr(_local, "attempt", 0)


def current_job_id() -> str:
    return getattr(_local, "job_id", "")


def current_token() -> str:
    """The fencing token of the running attempt (the chaos ledger records it)."""
    return getattr(_local, "token", "")
