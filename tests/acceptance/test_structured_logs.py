"""QUEUEY_LOG_FORMAT=json: every line of the API, worker and watchdog parses as JSON,
every line about a job names it (event, job_id, attempt, queue, type, worker), and no
payload, result, error text, dedupe key or API key reaches the log."""

from __future__ import annotations

import io
import json
import logging
import uuid

import pytest

from jobs.apikeys import create_api_key
from jobs.models import Job
from queuey_site.log_format import make_formatter
from tests.api.conftest import Api, ApiClient
from tests.support.stack import wait_for

JOB_FIELDS = {"event", "job_id", "attempt", "queue", "type", "worker"}


@pytest.fixture
def api_log():
    """The in-process API's records, formatted as a JSON deployment would write them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter("json"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_logs_name_every_job_and_leak_nothing(stack, api_log):
    secret = f"secret-{uuid.uuid4().hex}"
    _, key = create_api_key(name="log-test", scope="submit")
    api = Api(ApiClient())
    stack.worker(QUEUEY_LOG_FORMAT="json")
    stack.watchdog(QUEUEY_LOG_FORMAT="json")
    submits = [
        {"type": "text.reverse", "payload": {"text": secret}, "dedupe_key": f"dk-{secret}"},
        {"type": "text.reverse", "payload": {"text": secret}, "dedupe_key": f"dk-{secret}"},
        {"type": "demo.fail", "payload": {"message": secret}, "max_attempts": 2},
    ]
    answers = [api.post("/v1/jobs", body, key) for body in submits]
    assert [a.status_code for a in answers] == [201, 200, 201], answers[0].content
    ids = [a.json()["job_id"] for a in answers]
    assert ids[0] == ids[1]  # the second submit was deduplicated
    wait_for(
        lambda: (
            set(Job.objects.filter(pk__in=ids).values_list("status", flat=True))
            == {"succeeded", "dead"}
        ),
        timeout=30,
        what="the reverse to succeed and the failing job to die",
    )
    stack.stop()  # flushes the processes' last lines (worker_stopped)

    texts = [p.read_text() for p in stack.logdir.glob("*.log")] + [api_log.getvalue()]
    records = [r for text in texts for r in _lines(text)]  # each line parses
    by_event = {}
    for r in records:
        by_event.setdefault(r.get("event"), []).append(r)
        if "job_id" in r:
            assert r.keys() >= JOB_FIELDS, r
    for event in (
        "job_enqueued",
        "job_deduplicated",
        "attempt_started",
        "attempt_finished",
        "retry_scheduled",
        "dead_lettered",
        "worker_started",
        "worker_stopped",
    ):
        assert event in by_event, f"no {event} record"
    dead = by_event["dead_lettered"][0]
    assert (dead["job_id"], dead["attempt"], dead["type"]) == (ids[2], 2, "demo.fail")
    assert dead["worker"]
    everything = "\n".join(texts)
    for leak in (secret, secret[::-1], key):
        assert leak not in everything
