"""Opt-in tracing (jobs/tracing.py), with the real OpenTelemetry SDK and an in-memory
exporter: the submit's trace context is stored with the job, and each attempt runs in a
span linked to the submitting request."""

from __future__ import annotations

import time

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from jobs.models import Job
from tests.api.conftest import Api, ApiClient
from tests.support.factories import claim, submit
from workers.execution import run_attempt

EXPORTER = InMemorySpanExporter()
_PROVIDER = TracerProvider()
_PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
trace.set_tracer_provider(_PROVIDER)  # once per process, as an application does


@pytest.fixture
def tracing_on(settings):
    settings.QUEUEY_TRACING = True
    EXPORTER.clear()
    yield
    EXPORTER.clear()


def _run(broker) -> None:
    [job] = claim(broker)
    run_attempt(job, int(time.time() * 1000))


def _attempt_spans():
    return [s for s in EXPORTER.get_finished_spans() if s.name.startswith("queuey.attempt")]


def test_attempt_span_links_to_the_submitting_span(db, broker, tracing_on):
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("POST /orders") as request_span:
        job = submit("demo.noop", {})
    request = request_span.get_span_context()
    assert f"{request.trace_id:032x}" in job.trace_context
    _run(broker)
    [span] = _attempt_spans()
    assert span.name == "queuey.attempt demo.noop"
    assert span.kind == trace.SpanKind.CONSUMER
    [link] = span.links
    assert (link.context.trace_id, link.context.span_id) == (request.trace_id, request.span_id)
    assert span.context.trace_id != request.trace_id  # a trace of its own, linked
    assert span.attributes["messaging.message.id"] == str(job.id)
    assert span.attributes["queuey.job.attempt"] == 1
    assert span.attributes["queuey.attempt.outcome"] == "succeeded"


def test_a_submit_through_the_api_carries_its_context(db, broker, tracing_on, settings):
    from jobs.apikeys import create_api_key

    key = create_api_key(name="tracing", scope="submit")[1]
    with trace.get_tracer("test").start_as_current_span("client") as client_span:
        answer = Api(ApiClient()).post("/v1/jobs", {"type": "demo.noop", "payload": {}}, key)
    assert answer.status_code == 201
    job = Job.objects.get(pk=answer.json()["job_id"])
    assert f"{client_span.get_span_context().trace_id:032x}" in job.trace_context
    assert broker.job_state(str(job.id))["trace"] == job.trace_context


def test_a_failed_attempt_marks_its_span_as_an_error(db, broker, tracing_on):
    with trace.get_tracer("test").start_as_current_span("request"):
        submit("demo.fail", {})
    _run(broker)
    [span] = _attempt_spans()
    assert span.status.status_code == trace.StatusCode.ERROR
    assert span.attributes["queuey.attempt.outcome"] == "failed"


def test_outside_any_span_an_attempt_has_no_link(db, broker, tracing_on):
    job = submit("demo.noop", {})
    assert job.trace_context == ""
    _run(broker)
    [span] = _attempt_spans()
    assert list(span.links) == []


def test_off_by_default_nothing_is_captured_or_traced(db, broker):
    EXPORTER.clear()
    with trace.get_tracer("test").start_as_current_span("request"):
        job = submit("demo.noop", {})
    assert job.trace_context == ""
    assert "trace" not in broker.job_state(str(job.id))
    _run(broker)
    assert _attempt_spans() == []
