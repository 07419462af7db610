"""POST /v1/jobs: created, deduplicated, scheduled; who may submit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from jobs.models import Job

pytestmark = pytest.mark.django_db

SEED = {"type": "text.reverse", "payload": {"text": "hello"}, "dedupe_key": "file123:200x200"}


def test_submit_answers_201_with_the_job_id_and_queues_it(api, submit_key, broker):
    response = api.post("/v1/jobs", SEED, submit_key)
    assert response.status_code == 201
    job_id = response.json()["job_id"]
    assert response.json() == {"job_id": job_id, "created": True}
    assert response["Location"] == f"/v1/jobs/{job_id}"
    job = Job.objects.get(pk=job_id)
    assert (job.type, job.payload, job.status, job.queue) == (
        "text.reverse",
        {"text": "hello"},
        "queued",
        "default",
    )
    assert broker.where_is(job_id) == ["default"]


def test_resubmitting_the_same_dedupe_key_answers_200_with_the_first_id(api, submit_key):
    first = api.post("/v1/jobs", SEED, submit_key).json()["job_id"]
    again = api.post("/v1/jobs", SEED, submit_key)
    assert again.status_code == 200
    assert again.json() == {"job_id": first, "created": False}
    assert Job.objects.count() == 1


def test_submit_honours_queue_attempts_and_timeout(api, submit_key, broker):
    body = {
        "type": "demo.noop",
        "payload": {},
        "queue": "high",
        "max_attempts": 7,
        "timeout_seconds": 2.5,
    }
    job_id = api.post("/v1/jobs", body, submit_key).json()["job_id"]
    job = Job.objects.get(pk=job_id)
    assert (job.queue, job.max_attempts, job.timeout_seconds) == ("high", 7, 2.5)
    assert broker.lengths().high == 1


def test_null_options_mean_the_defaults(api, submit_key):
    body = {
        "type": "demo.noop",
        "payload": {},
        "queue": None,
        "max_attempts": None,
        "run_at": None,
        "delay_seconds": None,
        "dedupe_key": None,
    }
    assert api.post("/v1/jobs", body, submit_key).status_code == 201


def test_delay_seconds_schedules_the_job(api, submit_key, broker):
    body = {"type": "demo.noop", "payload": {}, "delay_seconds": 60}
    job_id = api.post("/v1/jobs", body, submit_key).json()["job_id"]
    assert Job.objects.get(pk=job_id).status == "scheduled"
    assert broker.where_is(job_id) == ["scheduled"]


def test_run_at_with_an_offset_schedules_the_job(api, submit_key):
    when = (timezone.now() + timedelta(hours=1)).astimezone(timezone.get_fixed_timezone(120))
    body = {"type": "demo.noop", "payload": {}, "run_at": when.isoformat()}
    job_id = api.post("/v1/jobs", body, submit_key).json()["job_id"]
    job = Job.objects.get(pk=job_id)
    assert job.status == "scheduled"
    assert abs((job.scheduled_at - when).total_seconds()) < 0.001


def test_unicode_payloads_round_trip(api, submit_key):
    body = {"type": "text.reverse", "payload": {"text": "héllo ✓ 𝄞"}}
    job_id = api.post("/v1/jobs", body, submit_key).json()["job_id"]
    assert api.get(f"/v1/jobs/{job_id}", submit_key).json()["payload"] == body["payload"]


@pytest.mark.parametrize("persona", ["admin_key", "submit_key"])
def test_admin_and_submit_keys_may_submit(api, request, persona):
    key = request.getfixturevalue(persona)
    assert api.post("/v1/jobs", {"type": "demo.noop", "payload": {}}, key).status_code == 201


def test_a_session_cookie_is_not_an_api_key(api, db):
    """A logged-in dashboard user's browser cannot call the API (no CSRF hole)."""
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456")
    api.client.force_login(user)
    response = api.post("/v1/jobs", {"type": "demo.noop", "payload": {}})
    assert response.status_code == 401
    assert Job.objects.count() == 0
