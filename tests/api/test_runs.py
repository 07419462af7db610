"""A job's attempts grouped by run: the submit is run 1, each DLQ replay or manual retry
starts the next with a fresh budget, and attempt_count counts the current run only."""

from __future__ import annotations

import pytest

from jobs import outbox
from tests.support.factories import claim, outcome

pytestmark = pytest.mark.django_db


def _fail(broker, delay_ms: int = 60_000) -> str:
    [c] = claim(broker)
    [r] = broker.finish([outcome(c, "failed", "boom", retry_delay_ms=delay_ms)])
    outbox.apply_and_settle(broker, [r.entry])
    return r.state


def test_three_replays_show_three_fresh_budgets_not_nine_attempts(api, admin_key, broker):
    job_id = api.post(
        "/v1/jobs", {"type": "demo.noop", "payload": {}, "max_attempts": 1}, admin_key
    ).json()["job_id"]
    assert _fail(broker) == "dead"
    for _ in range(3):
        assert api.post("/v1/replay-dlq?limit=10", key=admin_key).json()["replayed"] == 1
        assert _fail(broker) == "dead"

    body = api.get(f"/v1/jobs/{job_id}", admin_key).json()
    assert (body["status"], body["run"], body["latest_attempt"]) == ("dead", 4, 4)
    assert (body["attempt_count"], body["max_attempts"]) == (1, 1)
    assert body["runs"] == [{"run": n, "max_attempts": 1, "attempts": [n]} for n in range(1, 5)]
    assert [(a["number"], a["run"]) for a in body["attempts"]] == [(n, n) for n in range(1, 5)]
    [summary] = api.get("/v1/jobs", admin_key).json()["jobs"]
    assert (summary["attempt_count"], summary["run"], summary["latest_attempt"]) == (1, 4, 4)


def test_a_manual_retry_of_a_retrying_job_starts_a_run(api, admin_key, broker):
    job_id = api.post(
        "/v1/jobs", {"type": "demo.noop", "payload": {}, "max_attempts": 2}, admin_key
    ).json()["job_id"]
    assert _fail(broker) == "retrying"
    body = api.post(f"/v1/jobs/{job_id}/retry", key=admin_key).json()
    assert (body["status"], body["run"], body["attempt_count"]) == ("queued", 2, 0)
    assert body["runs"] == [
        {"run": 1, "max_attempts": 2, "attempts": [1]},
        {"run": 2, "max_attempts": 2, "attempts": []},
    ]
    assert _fail(broker) == "retrying"  # attempt 1 of this run's 2
    broker.redis.zadd(broker.keys.scheduled, {job_id: 0})  # its backoff has passed
    outbox.apply_and_settle(broker, broker.promote_due()[0])
    assert _fail(broker) == "dead"  # attempt 2 of 2
    body = api.get(f"/v1/jobs/{job_id}", admin_key).json()
    assert (body["attempt_count"], body["latest_attempt"]) == (2, 3)
    assert body["runs"][1] == {"run": 2, "max_attempts": 2, "attempts": [2, 3]}
