"""Domain errors raised by the services; the API maps each to one HTTP answer."""

from __future__ import annotations


class QueueyError(Exception):
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(QueueyError):
    code = "invalid"


class PayloadTooLarge(QueueyError):
    code = "payload_too_large"


class JobNotFound(QueueyError):
    code = "not_found"


class DedupeConflict(QueueyError):
    code = "dedupe_conflict"

    def __init__(self, message: str, *, job_id: str) -> None:
        super().__init__(message, field="dedupe_key")
        self.job_id = job_id


class InvalidTransition(QueueyError):
    code = "invalid_state"


class StoreUnavailable(QueueyError):
    """The database (or, for admin actions, Redis) cannot be reached right now."""

    code = "unavailable"
