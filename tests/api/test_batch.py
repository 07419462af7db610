"""POST /v1/jobs/batch: many jobs, one result each, in order."""

from __future__ import annotations

import pytest

from jobs.models import Job

pytestmark = pytest.mark.django_db


def item(text: str, **options) -> dict:
    return {"type": "text.reverse", "payload": {"text": text}, **options}


def test_a_batch_answers_one_result_per_job_in_order(api, submit_key, broker):
    jobs = [item("a"), item("b", queue="high"), item("c", delay_seconds=30)]
    response = api.post("/v1/jobs/batch", {"jobs": jobs}, submit_key)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 201, 201]
    texts = [Job.objects.get(pk=r["job_id"]).payload["text"] for r in results]
    assert texts == ["a", "b", "c"]
    lengths = broker.lengths()
    assert (lengths.default, lengths.high, lengths.scheduled) == (1, 1, 1)


def test_jobs_the_service_refuses_fail_alone_and_the_rest_is_stored(api, submit_key):
    jobs = [
        item("ok"),
        {"type": "text.reverse", "payload": {"txt": "no text"}},
        {"type": "text.reverse", "payload": {"text": "x" * 300_000}},
        item("x", dedupe_key="bad\nkey"),
        item("ok too"),
    ]
    results = api.post("/v1/jobs/batch", {"jobs": jobs}, submit_key).json()["results"]
    assert [r["status"] for r in results] == [201, 400, 413, 400, 201]
    assert [r["error"]["field"] for r in results[1:4]] == ["payload.text", "payload", "dedupe_key"]
    assert results[2]["error"]["code"] == "payload_too_large"
    assert all(r["job_id"] is None and r["created"] is False for r in results[1:4])
    assert Job.objects.count() == 2


def test_dedupe_works_within_a_batch_and_against_earlier_jobs(api, submit_key):
    earlier = api.post("/v1/jobs", item("a", dedupe_key="k0"), submit_key).json()["job_id"]
    jobs = [
        item("a", dedupe_key="k0"),
        item("b", dedupe_key="k1"),
        item("b", dedupe_key="k1"),
        item("other", dedupe_key="k1"),
    ]
    results = api.post("/v1/jobs/batch", {"jobs": jobs}, submit_key).json()["results"]
    assert [r["status"] for r in results] == [200, 201, 200, 409]
    assert results[0]["job_id"] == earlier
    assert results[2]["job_id"] == results[1]["job_id"]
    assert results[3]["error"]["job_id"] == results[1]["job_id"]
    assert Job.objects.count() == 2


def test_a_full_batch_of_1000_is_accepted(api, submit_key, broker):
    jobs = [item(str(i)) for i in range(1000)]
    results = api.post("/v1/jobs/batch", {"jobs": jobs}, submit_key).json()["results"]
    assert len(results) == 1000 and {r["status"] for r in results} == {201}
    assert Job.objects.count() == 1000
    assert broker.lengths().default == 1000


def test_a_read_key_may_not_submit_a_batch(api, read_key):
    response = api.post("/v1/jobs/batch", {"jobs": [item("a")]}, read_key)
    assert response.status_code == 403
    assert Job.objects.count() == 0
