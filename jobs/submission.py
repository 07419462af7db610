"""Validate a job request into an unsaved Job; shared by single and batch submission."""

from __future__ import annotations

import hashlib
import operator
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from django.utils import timezone

from jobs import conf, tracing
from jobs.errors import InvalidInput
from jobs.handlers.registry import PayloadError, get_handler, registered_types
from jobs.ids import new_job_id
from jobs.models import Job
from jobs.states import JobStatus
from jobs.validation import canonical_json, encode_limited

MAX_ATTEMPTS_BOUND = 100
MAX_TIMEOUT_SECONDS = 24 * 3600
MAX_DELAY_SECONDS = 366 * 24 * 3600
MAX_DEDUPE_KEY_LENGTH = 255


@dataclass(frozen=True)
class JobRequest:
    type: Any
    payload: Any
    queue: Any = None
    max_attempts: Any = None
    timeout_seconds: Any = None
    run_at: Any = None
    delay_seconds: Any = None
    dedupe_key: Any = None


@dataclass
class PreparedJob:
    job: NewJob
    payload_json: str
    dedupe_hash: str | None

    @property
    def row(self) -> list[Any]:
        return self.job.row(self.payload_json)

    @cached_property
    def fingerprint(self) -> str:
        """What a dedupe hit must match (only computed when a dedupe_key is given);
        payload_json is the canonical encoding already."""
        return hashlib.sha256(f"{self.job.type}\n{self.payload_json}".encode()).hexdigest()


@dataclass(frozen=True)
class Shared:
    """What every job of one call shares: the limits and defaults from settings and the
    caller's trace context. Read once per call: five settings lookups and a trace
    capture were a third of prepare() for a 100-job enqueue_many."""

    max_payload_bytes: int
    max_json_depth: int
    max_attempts: int
    default_timeout: float
    trace_context: str

    @classmethod
    def read(cls) -> Shared:
        return cls(
            max_payload_bytes=conf.get("MAX_PAYLOAD_BYTES"),
            max_json_depth=conf.get("MAX_JSON_DEPTH"),
            max_attempts=conf.get("MAX_ATTEMPTS"),
            default_timeout=conf.get("DEFAULT_TIMEOUT"),
            trace_context=tracing.capture(),
        )


def prepare(
    request: JobRequest, *, now: datetime | None = None, shared: Shared | None = None
) -> PreparedJob:
    """Check every field of the request; raise InvalidInput naming the first bad one.
    `shared`: Shared.read() of the call (read here when not given)."""
    now = now or timezone.now()
    shared = shared or Shared.read()
    spec = get_handler(request.type) if isinstance(request.type, str) else None
    if spec is None:
        raise InvalidInput(
            f"unknown job type; valid types: {', '.join(registered_types())}", field="type"
        )
    if not isinstance(request.payload, dict):
        raise InvalidInput("payload must be a JSON object", field="payload")
    payload_json = encode_limited(
        request.payload,
        field="payload",
        max_bytes=shared.max_payload_bytes,
        max_depth=shared.max_json_depth,
    )
    if spec.validate:
        try:
            spec.validate(request.payload)
        except PayloadError as exc:
            raise InvalidInput(str(exc), field=exc.field or "payload") from None
    queue = _queue(request.queue, spec.queue)
    max_attempts = _bounded_int(
        request.max_attempts,
        "max_attempts",
        1,
        MAX_ATTEMPTS_BOUND,
        spec.max_attempts or shared.max_attempts,
    )
    timeout = _bounded_number(
        request.timeout_seconds,
        "timeout_seconds",
        0.1,
        MAX_TIMEOUT_SECONDS,
        spec.timeout or shared.default_timeout,
    )
    scheduled_at = _scheduled_at(request, now)
    dedupe_key = _dedupe_key(request.dedupe_key)
    job = NewJob(
        id=new_job_id(),
        type=spec.name,
        queue=queue,
        payload=request.payload,
        status=JobStatus.SCHEDULED if scheduled_at else JobStatus.QUEUED,
        max_attempts=max_attempts,
        attempt_limit=max_attempts,
        timeout_seconds=timeout,
        dedupe_key=dedupe_key,
        created_at=now,
        updated_at=now,
        scheduled_at=scheduled_at,
        trace_context=shared.trace_context,
    )
    return PreparedJob(
        job=job,
        payload_json=payload_json,
        dedupe_hash=hash_dedupe_key(dedupe_key) if dedupe_key else None,
    )


JOB_COLUMNS = tuple(f.attname for f in Job._meta.concrete_fields)
_COLUMN_SET = frozenset(JOB_COLUMNS)
# The columns NewJob may leave out, with their defaults; a callable default (the id) is
# a new value each time, so the caller gives it.
_DEFAULTS = {
    f.attname: f.get_default()
    for f in Job._meta.concrete_fields
    if not (f.has_default() and callable(f.default))
}
_IN_ORDER = operator.itemgetter(*JOB_COLUMNS)


class NewJob:
    """A job's column values before it is stored: the row the INSERT writes and what
    the dispatch sends. Lighter than an unsaved Job: Model.__init__ and its pre/post_init
    signals were a sixth of a batch request's time. The values live in the instance's
    __dict__, filled by two dict updates: a setattr per column (with __slots__) was a
    third of prepare()."""

    # Job's columns, for the type checker (tests/unit/test_new_job.py keeps
    # them in step with the model).
    id: uuid.UUID
    type: str
    queue: str
    payload: Any
    status: str
    result: Any
    error: str
    traceback: str
    attempts: int
    max_attempts: int
    attempt_limit: int
    run: int
    run_base: int
    timeout_seconds: float
    dedupe_key: str | None
    created_at: datetime
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime
    version: int
    trace_context: str

    def __init__(self, **values: Any) -> None:
        if not _COLUMN_SET.issuperset(values):
            raise TypeError(f"not Job columns: {sorted(set(values) - _COLUMN_SET)}")
        columns = self.__dict__
        columns.update(_DEFAULTS)
        columns.update(values)
        if len(columns) != len(JOB_COLUMNS):
            raise TypeError(f"Job columns missing: {sorted(_COLUMN_SET - set(columns))}")

    def row(self, payload_json: str) -> list[Any]:
        """Values in JOB_COLUMNS order, JSON columns as JSON text (bulk_insert.insert_rows)."""
        values = list(_IN_ORDER(self.__dict__))
        values[_PAYLOAD] = payload_json
        if values[_RESULT] is not None:
            values[_RESULT] = canonical_json(values[_RESULT])
        return values

    def to_model(self) -> Job:
        return Job(*_IN_ORDER(self.__dict__))  # positional: Model.__init__'s fast path


_PAYLOAD = JOB_COLUMNS.index("payload")
_RESULT = JOB_COLUMNS.index("result")


def new_job(**values: Any) -> Job:
    """An unsaved Job model instance."""
    return NewJob(**values).to_model()


def hash_dedupe_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _queue(value: Any, default: str) -> str:
    if value is None:
        return default
    if value not in conf.QUEUES:
        raise InvalidInput(f"unknown queue; valid queues: {', '.join(conf.QUEUES)}", field="queue")
    return value


def _bounded_int(value: Any, field: str, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"{field} must be an integer from {low} to {high}", field=field)
    return value


def _bounded_number(value: Any, field: str, low: float, high: float, default: float) -> float:
    if value is None:
        return float(default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a number from {low:g} to {high:g}", field=field)
    return float(value)


def _scheduled_at(request: JobRequest, now: datetime) -> datetime | None:
    if request.run_at is not None and request.delay_seconds is not None:
        raise InvalidInput("give run_at or delay_seconds, not both", field="run_at")
    if request.delay_seconds is not None:
        delay = _bounded_number(request.delay_seconds, "delay_seconds", 0, MAX_DELAY_SECONDS, 0)
        return now + timedelta(seconds=delay) if delay > 0 else None
    if request.run_at is None:
        return None
    if not isinstance(request.run_at, datetime) or timezone.is_naive(request.run_at):
        raise InvalidInput("run_at must be an ISO 8601 time with a UTC offset", field="run_at")
    if request.run_at > now + timedelta(seconds=MAX_DELAY_SECONDS):
        raise InvalidInput("run_at is too far in the future (at most a year)", field="run_at")
    return request.run_at if request.run_at > now else None


def _dedupe_key(value: Any) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_DEDUPE_KEY_LENGTH
        or not value.isprintable()
    ):
        raise InvalidInput(
            f"dedupe_key must be 1 to {MAX_DEDUPE_KEY_LENGTH} printable characters",
            field="dedupe_key",
        )
    return value
