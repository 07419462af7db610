"""Job ids: UUIDv7, so ids sort by creation time (cursor pagination relies on it)."""

from __future__ import annotations

import uuid

import uuid6


def new_job_id() -> uuid.UUID:
    return uuid.UUID(int=uuid6.uuid7().int)


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
