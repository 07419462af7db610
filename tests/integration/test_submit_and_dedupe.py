from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from jobs.broker.connection import reset_redis
from jobs.errors import DedupeConflict, InvalidInput, PayloadTooLarge
from jobs.models import DedupeKey, Job
from jobs.services import submit_batch, submit_job
from jobs.submission import JobRequest

pytestmark = pytest.mark.django_db


def test_submit_stores_then_dispatches(broker):
    result = submit_job(JobRequest(type="text.reverse", payload={"text": "hi"}))
    job = Job.objects.get(pk=result.job_id)
    assert result.created and job.status == "queued" and job.attempt_limit == job.max_attempts
    assert broker.where_is(result.job_id) == ["default"]


def test_same_dedupe_key_returns_first_job(broker):
    first = submit_job(JobRequest(type="demo.noop", payload={"a": 1}, dedupe_key="k1"))
    again = submit_job(JobRequest(type="demo.noop", payload={"a": 1}, dedupe_key="k1"))
    assert (again.job_id, again.created) == (first.job_id, False)
    assert Job.objects.count() == 1 and broker.lengths().default == 1


def test_same_key_other_payload_is_a_conflict(broker):
    submit_job(JobRequest(type="demo.noop", payload={"a": 1}, dedupe_key="k1"))
    with pytest.raises(DedupeConflict):
        submit_job(JobRequest(type="demo.noop", payload={"a": 2}, dedupe_key="k1"))
    with pytest.raises(DedupeConflict):
        submit_job(JobRequest(type="text.reverse", payload={"text": "x"}, dedupe_key="k1"))
    assert Job.objects.count() == 1


def test_dedupe_key_is_free_again_after_the_window(broker, settings):
    settings.QUEUEY_DEDUPE_WINDOW = 0.0
    first = submit_job(JobRequest(type="demo.noop", payload={}, dedupe_key="k"))
    second = submit_job(JobRequest(type="demo.noop", payload={}, dedupe_key="k"))
    assert second.created and second.job_id != first.job_id
    assert DedupeKey.objects.get().job_id.hex == second.job_id.replace("-", "")


def test_dedupe_key_never_reaches_redis_as_text(broker, raw_redis):
    submit_job(JobRequest(type="demo.noop", payload={}, dedupe_key="secret-customer-42"))
    assert not [k for k in raw_redis.keys("*") if "secret-customer" in k]


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_submits_with_one_key_make_one_job(broker):
    def submit(_):
        try:
            return submit_job(JobRequest(type="demo.noop", payload={"n": 1}, dedupe_key="same"))
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(submit, range(50)))
    assert len({r.job_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert Job.objects.count() == 1 and broker.lengths().default == 1


@pytest.mark.parametrize(
    ("request_kwargs", "field"),
    [
        ({"type": "no.such"}, "type"),
        ({"type": 7}, "type"),
        ({"payload": []}, "payload"),
        ({"queue": "urgent"}, "queue"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"timeout_seconds": -1}, "timeout_seconds"),
        ({"delay_seconds": 10**9}, "delay_seconds"),
        ({"dedupe_key": "x" * 256}, "dedupe_key"),
        ({"dedupe_key": "tab\there"}, "dedupe_key"),
        ({"dedupe_key": ""}, "dedupe_key"),
        ({"payload": {"t": "\x00"}}, "payload"),
        ({"type": "text.reverse", "payload": {"text": 5}}, "payload.text"),
        ({"run_at": "tomorrow"}, "run_at"),
    ],
)
def test_bad_requests_are_refused_and_write_nothing(broker, request_kwargs, field):
    kwargs = {"type": "demo.noop", "payload": {}, **request_kwargs}
    with pytest.raises(InvalidInput) as err:
        submit_job(JobRequest(**kwargs))
    assert err.value.field == field
    assert Job.objects.count() == 0 and broker.lengths().default == 0


def test_oversized_payload_is_refused(broker, settings):
    settings.QUEUEY_MAX_PAYLOAD_BYTES = 100
    with pytest.raises(PayloadTooLarge):
        submit_job(JobRequest(type="demo.noop", payload={"x": "y" * 200}))
    assert Job.objects.count() == 0


def test_submit_while_redis_is_down_is_accepted_and_dispatched_later(settings, redis_server):
    from jobs.broker.client import Broker
    from workers.watchdog import Watchdog

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    reset_redis()
    result = submit_job(JobRequest(type="demo.noop", payload={}))
    assert Job.objects.get(pk=result.job_id).status == "queued"
    settings.REDIS_URL = redis_server.url
    reset_redis()
    broker = Broker()
    assert broker.where_is(result.job_id) == []
    Watchdog(broker).run_once()
    assert broker.where_is(result.job_id) == ["default"]


def test_batch_submits_in_order_with_per_item_dedupe_and_errors(broker):
    existing = submit_job(JobRequest(type="demo.noop", payload={}, dedupe_key="old"))
    results = submit_batch(
        [
            JobRequest(type="demo.noop", payload={"i": 1}),
            JobRequest(type="nope", payload={}),
            JobRequest(type="demo.noop", payload={}, dedupe_key="old"),
            JobRequest(type="demo.noop", payload={"i": 2}, dedupe_key="new"),
            JobRequest(type="demo.noop", payload={"i": 2}, dedupe_key="new"),
            JobRequest(type="demo.noop", payload={"i": 3}, dedupe_key="new"),
        ]
    )
    assert results[0].created and results[0].job_id
    assert results[1].error.field == "type"
    assert (results[2].job_id, results[2].created) == (existing.job_id, False)
    assert results[3].created and results[4].job_id == results[3].job_id
    assert isinstance(results[5].error, DedupeConflict)
    assert Job.objects.count() == 3 and broker.lengths().default == 3
