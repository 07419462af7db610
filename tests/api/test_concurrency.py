"""Idempotency under concurrency, through the whole HTTP stack."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from jobs.broker.client import Broker
from jobs.models import Job

CLIENTS = 50


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_with_one_dedupe_key_create_one_job(submit_key):
    body = {"type": "text.reverse", "payload": {"text": "hello"}, "dedupe_key": "file123:200x200"}
    start = threading.Barrier(CLIENTS)

    def submit_once(_: int) -> tuple[int, str]:
        try:
            start.wait(timeout=30)
            response = Client().post(
                "/v1/jobs", body, content_type="application/json", headers={"x-api-key": submit_key}
            )
            return response.status_code, response.json()["job_id"]
        finally:
            connection.close()  # each thread opened its own

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(submit_once, range(CLIENTS)))

    assert sorted(status for status, _ in results) == [200] * (CLIENTS - 1) + [201]
    assert len({job_id for _, job_id in results}) == 1
    assert Job.objects.count() == 1
    assert Broker().lengths().default == 1
