"""Job ids: UUIDv7, so ids sort by creation time (cursor pagination, the dashboard's time
windows and the reconciler's recent reads rely on it)."""

from __future__ import annotations

import secrets
import threading
import time
import uuid

_VERSION_AND_VARIANT = (0x7 << 76) | (0b10 << 62)
_COUNTER_MAX = 0xFFF  # rand_a, 12 bits

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_job_id() -> uuid.UUID:
    """A UUIDv7 above every one this process made before: the Unix millisecond, then a
    12-bit counter within it (RFC 9562's method 1, started at a random point in its lower
    half), then 62 random bits. uuid6.uuid7 kept order by moving the millisecond on by
    one for every further id in the same millisecond, so under a burst of 20,000 submits
    a second the ids' time ran minutes ahead of the clock; here the time moves on only
    past 4,096 ids in one millisecond."""
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms, _counter = now_ms, secrets.randbits(11)
        elif _counter < _COUNTER_MAX:
            _counter += 1  # the same millisecond, or the clock stepped back
        else:
            _last_ms, _counter = _last_ms + 1, 0
        ms, counter = _last_ms, _counter
    value = (ms & 0xFFFFFFFFFFFF) << 80 | counter << 64 | secrets.randbits(62)
    return uuid.UUID(int=value | _VERSION_AND_VARIANT)


def parse_job_id(value: object) -> uuid.UUID | None:
    """The id as a UUID, or None for anything that is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def first_id_at(ms: int) -> uuid.UUID:
    """The smallest UUIDv7 of Unix millisecond `ms`: every id created from then on sorts
    at or above it (clamped to the 48 bits a UUIDv7 time has)."""
    return uuid.UUID(int=min(max(ms, 0), (1 << 48) - 1) << 80)
