"""Opt-in OpenTelemetry tracing: a job carries its submitter's trace context, and each
attempt runs in a span linked to the submitting request.

On when QUEUEY_TRACING is true and the OpenTelemetry API is installed; the process
configures the SDK itself (a TracerProvider and an exporter: `opentelemetry-instrument`,
or the OTEL_* environment). Off, capture() returns "" and attempt_span() does nothing,
so a job carries no context and the hot paths pay one flag check.

The context is the W3C trace-context carrier (`traceparent`, `tracestate`) as JSON, kept
in the job row and the job's Redis hash. A link rather than a parent: an attempt may
start minutes after the request ended, and a retried job has several attempts; each is
a trace of its own that points back at the request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jobs import conf

try:
    from opentelemetry import propagate, trace
except ImportError:  # the API is an optional dependency
    propagate = trace = None  # type: ignore[assignment]

MAX_CONTEXT_CHARS = 1024


def enabled() -> bool:
    return trace is not None and bool(conf.get("TRACING"))


def capture() -> str:
    """The current trace context as JSON ("" when off or outside any span)."""
    if not enabled():
        return ""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    text = json.dumps(carrier, separators=(",", ":")) if carrier else ""
    return text if len(text) <= MAX_CONTEXT_CHARS else ""


@contextmanager
def attempt_span(job: Any) -> Iterator[Any]:
    """A span around one attempt, linked to the context the job was submitted in."""
    if not enabled():
        yield None
        return
    tracer = trace.get_tracer("queuey")
    links = _links(getattr(job, "trace", ""))
    attributes = {
        "messaging.system": "queuey",
        "messaging.destination.name": job.queue,
        "messaging.message.id": job.id,
        "queuey.job.type": job.type,
        "queuey.job.attempt": job.attempt,
    }
    name = f"queuey.attempt {job.type}"
    kind = trace.SpanKind.CONSUMER
    with tracer.start_as_current_span(name, kind=kind, links=links, attributes=attributes) as span:
        yield span


def record_outcome(span: Any, outcome: str) -> None:
    if span is not None:
        span.set_attribute("queuey.attempt.outcome", outcome)
        if outcome != "succeeded":
            span.set_status(trace.Status(trace.StatusCode.ERROR, outcome))


def _links(stored: str) -> list[Any]:
    if not stored:
        return []
    try:
        carrier = json.loads(stored)
    except ValueError:
        return []
    context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
    return [trace.Link(context)] if context.is_valid else []
