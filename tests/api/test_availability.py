"""With the database down: 503 + Retry-After. With Redis down: submits still succeed."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.db import connection

from jobs.broker.client import Broker
from jobs.broker.connection import reset_redis
from jobs.models import Job
from tests.support.redis_server import free_port
from workers.reconcile import reconcile

JOB = {"type": "text.reverse", "payload": {"text": "hello"}}


@contextmanager
def database_down():
    """Point the connection at a database that cannot be reached, then restore it."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/queuey.sqlite3"
    else:
        connection.settings_dict["PORT"] = str(free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@contextmanager
def redis_down(settings):
    saved_url, saved_caches = settings.REDIS_URL, settings.CACHES
    closed = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = closed
    settings.CACHES = {"default": {**saved_caches["default"], "LOCATION": closed}}
    reset_redis()
    try:
        yield
    finally:
        settings.REDIS_URL, settings.CACHES = saved_url, saved_caches
        reset_redis()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v1/jobs"),
        ("get", "/v1/jobs"),
        ("get", "/v1/jobs/0190b7d0-0000-7000-8000-000000000000"),
    ],
)
def test_database_down_answers_503_with_retry_after(api, submit_key, method, path):
    with database_down():
        call = getattr(api, method)
        response = call(path, JOB, submit_key) if method == "post" else call(path, submit_key)
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "unavailable"
    assert Job.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_submit_succeeds_with_redis_down_and_is_dispatched_when_it_is_back(
    api, submit_key, settings
):
    with redis_down(settings):
        response = api.post("/v1/jobs", JOB, submit_key)
        assert response.status_code == 201
        job_id = response.json()["job_id"]
        # Reads that need only the database keep answering...
        assert api.get(f"/v1/jobs/{job_id}", submit_key).json()["status"] == "queued"
        assert api.get("/v1/jobs", submit_key).status_code == 200
        # ...and reads of Redis say it is unavailable.
        metrics = api.get("/v1/queues/metrics", submit_key)
        assert metrics.status_code == 503 and int(metrics["Retry-After"]) > 0
    broker = Broker()
    assert broker.where_is(job_id) == []
    assert reconcile(broker) == 1  # the watchdog's reconciler, as it runs every few seconds
    assert broker.where_is(job_id) == ["default"]


@pytest.mark.django_db(transaction=True)
def test_admin_actions_answer_503_with_redis_down(api, admin_key, settings):
    job_id = api.post("/v1/jobs", JOB, admin_key).json()["job_id"]
    with redis_down(settings):
        for path in [f"/v1/jobs/{job_id}/cancel", "/v1/replay-dlq?limit=1"]:
            response = api.post(path, None, admin_key)
            assert response.status_code == 503, path
            assert response.json()["error"]["code"] == "unavailable"
    assert Job.objects.get(pk=job_id).status == "queued"
