"""Run one claimed attempt in the current thread and describe how it ended."""

from __future__ import annotations

import json
import traceback

from jobs import conf, tracing
from jobs.backoff import backoff_seconds
from jobs.broker.types import ClaimedJob, Outcome
from jobs.errors import QueueyError
from jobs.handlers.context import set_current
from jobs.handlers.registry import HandlerSpec, get_handler
from jobs.timeutil import wall_ms
from jobs.validation import encode_limited

MAX_ERROR_CHARS = 4000
MAX_TRACEBACK_CHARS = 32000


def run_attempt(job: ClaimedJob, started_ms: int) -> Outcome:
    if not tracing.enabled():
        return _run(job, started_ms)
    with tracing.attempt_span(job) as span:
        outcome = _run(job, started_ms)
        tracing.record_outcome(span, outcome.outcome)
        return outcome


def _run(job: ClaimedJob, started_ms: int) -> Outcome:
    spec = get_handler(job.type)
    set_current(job.id, job.attempt, job.token)
    try:
        if spec is None:
            raise LookupError(f"no handler is registered for job type {job.type!r} here")
        result = spec.func(json.loads(job.payload_json))
        detail = encode_limited(
            result,
            field="result",
            max_bytes=conf.get("MAX_RESULT_BYTES"),
            max_depth=conf.get("MAX_JSON_DEPTH"),
        )
    except Exception as exc:
        message = exc.message if isinstance(exc, QueueyError) else str(exc)
        return failure(
            job,
            spec,
            started_ms,
            "failed",
            f"{type(exc).__name__}: {message}",
            traceback.format_exc(),
        )
    return Outcome(
        id=job.id,
        token=job.token,
        outcome="succeeded",
        detail=detail,
        traceback="",
        started_ms=started_ms,
        finished_ms=wall_ms(),
        retry_delay_ms=0,
        attempt=job.attempt,
        run=job.run,
    )


def failure(
    job: ClaimedJob,
    spec: HandlerSpec | None,
    started_ms: int,
    outcome: str,
    error: str,
    tb: str = "",
) -> Outcome:
    return Outcome(
        id=job.id,
        token=job.token,
        outcome=outcome,
        detail=error[:MAX_ERROR_CHARS],
        traceback=tb[-MAX_TRACEBACK_CHARS:],
        started_ms=started_ms,
        finished_ms=wall_ms(),
        retry_delay_ms=retry_delay_ms(spec, job.attempt),
        attempt=job.attempt,
        run=job.run,
    )


def retry_delay_ms(spec: HandlerSpec | None, attempt: int) -> int:
    def pick(override: float | None, name: str) -> float:
        return override if override is not None else conf.get(name)

    seconds = backoff_seconds(
        attempt,
        base=pick(spec.backoff_base if spec else None, "BACKOFF_BASE"),
        factor=pick(spec.backoff_factor if spec else None, "BACKOFF_FACTOR"),
        cap=pick(spec.backoff_max if spec else None, "BACKOFF_MAX"),
    )
    return int(seconds * 1000)
