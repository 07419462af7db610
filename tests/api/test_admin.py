"""Cancel, retry and DLQ replay: admin keys only."""

from __future__ import annotations

import pytest

from jobs.models import Job
from tests.api.support import assert_rejected
from tests.support.factories import submit

pytestmark = pytest.mark.django_db


def test_cancel_cancels_a_queued_job(api, admin_key, broker):
    job = submit()
    response = api.post(f"/v1/jobs/{job.id}/cancel", None, admin_key)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert broker.where_is(str(job.id)) == []


def test_cancelling_twice_is_a_conflict(api, admin_key):
    job = submit()
    api.post(f"/v1/jobs/{job.id}/cancel", None, admin_key)
    assert_rejected(
        lambda: api.post(f"/v1/jobs/{job.id}/cancel", None, admin_key),
        409,
        "status",
        "invalid_state",
    )


def test_retry_queues_a_dead_job_with_a_fresh_budget(api, admin_key, broker, dead_job):
    response = api.post(f"/v1/jobs/{dead_job.id}/retry", None, admin_key)
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    assert broker.where_is(str(dead_job.id)) == ["default"]


def test_retrying_a_queued_job_is_a_conflict(api, admin_key):
    job = submit()
    assert_rejected(
        lambda: api.post(f"/v1/jobs/{job.id}/retry", None, admin_key),
        409,
        "status",
        "invalid_state",
    )


def test_replay_dlq_moves_dead_jobs_back(api, admin_key, broker, dead_job):
    response = api.post("/v1/replay-dlq?limit=100", None, admin_key)
    assert (response.status_code, response.json()) == (200, {"replayed": 1})
    assert Job.objects.get(pk=dead_job.pk).status == "queued"
    assert broker.lengths().dlq == 0
    assert api.post("/v1/replay-dlq", None, admin_key).json() == {"replayed": 0}


@pytest.mark.parametrize("persona", ["read_key", "submit_key"])
@pytest.mark.parametrize("action", ["cancel", "retry"])
def test_only_admin_keys_may_cancel_or_retry(api, request, dead_job, persona, action):
    key = request.getfixturevalue(persona)
    assert_rejected(
        lambda: api.post(f"/v1/jobs/{dead_job.id}/{action}", None, key),
        403,
        "x-api-key",
        "forbidden",
    )
    assert Job.objects.get(pk=dead_job.pk).status == "dead"


@pytest.mark.parametrize("persona", ["read_key", "submit_key"])
def test_only_admin_keys_may_replay(api, request, dead_job, persona):
    key = request.getfixturevalue(persona)
    assert_rejected(lambda: api.post("/v1/replay-dlq?limit=5", None, key), 403, "x-api-key")
