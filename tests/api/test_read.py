"""GET endpoints: a job with its attempts, the job list, queue metrics, workers."""

from __future__ import annotations

import pytest

from jobs.models import Job
from tests.support.factories import submit

pytestmark = pytest.mark.django_db


def test_a_job_shows_status_payload_attempts_and_times(api, read_key, dead_job):
    response = api.get(f"/v1/jobs/{dead_job.id}", read_key)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(dead_job.id)
    assert (body["type"], body["status"], body["payload"]) == ("demo.noop", "dead", {})
    assert (body["attempt_count"], body["max_attempts"]) == (1, 1)
    [attempt] = body["attempts"]
    assert (attempt["number"], attempt["worker_id"], attempt["outcome"]) == (1, "w1", "failed")
    assert attempt["started_at"] and attempt["finished_at"]
    assert body["created_at"] and body["finished_at"] and "result" in body


def test_a_fresh_job_has_no_attempts(api, read_key):
    job = submit("text.reverse", {"text": "hi"})
    body = api.get(f"/v1/jobs/{job.id}", read_key).json()
    assert (body["status"], body["attempts"], body["result"]) == ("queued", [], None)


def test_the_list_pages_newest_first_with_a_cursor(api, read_key):
    ids = [str(submit().id) for _ in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/jobs", read_key, **params).json()
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]


def test_the_list_filters_by_status_type_queue_and_dedupe_key(api, read_key):
    high = submit("demo.noop", queue="high")
    reverse = submit("text.reverse", {"text": "x"}, dedupe_key="report-7")
    scheduled = submit("demo.noop", delay_seconds=60)

    def ids(**filters):
        return [j["id"] for j in api.get("/v1/jobs", read_key, **filters).json()["jobs"]]

    assert ids(queue="high") == [str(high.id)]
    assert ids(type="text.reverse") == [str(reverse.id)]
    assert ids(dedupe_key="report-7") == [str(reverse.id)]
    assert ids(status="scheduled") == [str(scheduled.id)]
    assert ids(status="queued", type="demo.noop") == [str(high.id)]


def test_an_empty_list_has_no_cursor(api, read_key):
    assert api.get("/v1/jobs", read_key).json() == {"jobs": [], "next_cursor": None}


def test_queue_metrics_count_every_place_and_the_oldest_age(api, read_key, dead_job):
    submit(queue="high")
    submit()
    submit()
    submit(delay_seconds=60)
    body = api.get("/v1/queues/metrics", read_key).json()
    assert {k: body[k] for k in ("high", "default", "low", "scheduled", "running", "dlq")} == {
        "high": 1,
        "default": 2,
        "low": 0,
        "scheduled": 1,
        "running": 0,
        "dlq": 1,
    }
    ages = body["oldest_age_seconds"]
    assert ages["low"] is None and ages["high"] >= 0 and ages["default"] >= 0


def test_workers_show_their_current_jobs_and_last_heartbeat(api, read_key, broker):
    info = {
        "host": "box",
        "pid": 42,
        "started_ms": 1_700_000_000_000,
        "concurrency": 4,
        "queues": ["high", "default"],
        "busy": 1,
        "current_jobs": [
            {"id": "j-1", "type": "demo.sleep", "attempt": 2, "started_ms": 1_700_000_001_000}
        ],
    }
    broker.heartbeat("box:42:abc", info, ttl_ms=15_000)
    [worker] = api.get("/v1/workers", read_key).json()["workers"]
    assert (worker["id"], worker["host"], worker["pid"], worker["busy"]) == (
        "box:42:abc",
        "box",
        42,
        1,
    )
    assert worker["current_jobs"] == [
        {"job_id": "j-1", "type": "demo.sleep", "attempt": 2, "started_at": "2023-11-14T22:13:21Z"}
    ]
    assert worker["last_heartbeat_at"] and worker["started_at"] == "2023-11-14T22:13:20Z"


@pytest.mark.parametrize("persona", ["read_key", "submit_key", "admin_key"])
@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/queues/metrics", "/v1/workers"])
def test_every_scope_may_read(api, request, persona, path):
    assert api.get(path, request.getfixturevalue(persona)).status_code == 200


def test_a_revoked_key_may_not_read(api, revoked_key):
    job = submit()
    assert api.get(f"/v1/jobs/{job.id}", revoked_key).status_code == 401
    assert Job.objects.count() == 1
