"""Job detail and its actions: payload, result, attempts by run, the poll that stops at a
terminal job, retry and cancel for operators only, CSRF, and a missing job."""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from jobs.models import Attempt, Job
from tests.dashboard.conftest import WORKER, finish
from tests.support.factories import submit

pytestmark = pytest.mark.django_db

POLL = {"headers": {"HX-Request": "true"}}


def detail(job: Job) -> str:
    return f"/dashboard/jobs/{job.id}/"


def act(job: Job, action: str) -> str:
    return f"/dashboard/jobs/{job.id}/{action}/"


def test_shows_payload_dedupe_key_and_timestamps(viewer_client, queued_job):
    response = viewer_client.get(detail(queued_job))
    body = response.content.decode()
    assert response.status_code == 200
    assert "{\n  &quot;n&quot;: 1\n}" in body  # pretty JSON, escaped
    assert "order-17" in body
    assert re.search(r'<time datetime="[^"]+" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC">', body)
    assert "No result yet." in body


def test_shows_the_result_of_a_succeeded_job(viewer_client, succeeded_job):
    body = viewer_client.get(detail(succeeded_job)).content.decode()
    assert "&quot;answer&quot;: 42" in body
    assert "status-succeeded" in body


def test_attempts_grouped_by_run_with_worker_outcome_error_and_traceback(
    operator_client, dead_job, broker
):
    Attempt.objects.filter(job=dead_job).update(traceback="Traceback (most recent call last):")
    assert operator_client.post(act(dead_job, "retry")).status_code == 302
    finish(broker, "failed", detail="ValueError: again", worker="host-c:9:abc")
    response = operator_client.get(detail(dead_job))
    runs = response.context["runs"]
    assert [r["run"] for r in runs] == [2, 1]  # newest run first
    assert runs[0]["current"] and not runs[1]["current"]
    [first] = runs[1]["attempts"]
    assert (first["host"], first["pid"], first["worker_id"]) == ("host-a", "4242", WORKER)
    assert first["outcome"] == "failed" and "boom" in first["error"]
    assert first["duration_seconds"] is not None
    body = response.content.decode()
    assert '<summary>Traceback</summary><pre tabindex="0">Traceback (most recent' in body
    assert "host-c" in body and "(pid 9)" in body


def test_lost_attempts_show_their_reason(viewer_client, broker):
    job = submit("demo.noop", {}, max_attempts=3)
    finish(broker, "timeout", detail="hard timeout after 1s")
    body = viewer_client.get(detail(job)).content.decode()
    assert "status-timeout" in body and "hard timeout after 1s" in body


def test_large_payload_is_cut_with_a_link_to_all_of_it(viewer_client):
    job = submit("demo.noop", {"blob": "x" * 30_000, "tail": "THE-END"})
    cut = viewer_client.get(detail(job))
    assert cut.context["payload"]["truncated"]
    assert b"THE-END" not in cut.content
    assert f'href="/dashboard/jobs/{job.id}/?full=1"'.encode() in cut.content
    whole = viewer_client.get(detail(job), {"full": "1"})
    assert b"THE-END" in whole.content and not whole.context["payload"]["truncated"]


def test_missing_job_is_a_404_page(viewer_client):
    for job_id in (uuid.uuid4(), "not-a-uuid"):
        response = viewer_client.get(f"/dashboard/jobs/{job_id}/")
        assert response.status_code == 404
        assert b"There is no job with this id." in response.content
        assert b"<html" in response.content


def test_poll_of_a_live_job_is_the_fragment_and_keeps_polling(viewer_client, queued_job):
    full = viewer_client.get(detail(queued_job))
    assert b"<html" in full.content and b'hx-get="' + detail(queued_job).encode() in full.content
    response = viewer_client.get(detail(queued_job), **POLL)
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert response.content.lstrip().startswith(b'<section id="job-detail"')
    assert b"hx-trigger=" in response.content


def test_poll_of_a_terminal_job_stops_polling(viewer_client, succeeded_job, dead_job):
    for job in (succeeded_job, dead_job):
        response = viewer_client.get(detail(job), **POLL)
        assert response.status_code == 286
        assert b'<section id="job-detail"' in response.content  # the final state, swapped in
        assert b"hx-trigger=" not in response.content
    assert viewer_client.get(detail(dead_job)).status_code == 200  # the page itself is not 286


def test_operator_retries_a_dead_job(operator_client, dead_job):
    response = operator_client.post(act(dead_job, "retry"), follow=True)
    dead_job.refresh_from_db()
    assert dead_job.status == "queued" and dead_job.run == 2
    assert b"Job queued again." in response.content


def test_operator_cancels_a_queued_job(operator_client, queued_job):
    response = operator_client.post(act(queued_job, "cancel"))
    assert response.status_code == 302 and response["Location"] == detail(queued_job)
    queued_job.refresh_from_db()
    assert queued_job.status == "cancelled"


def test_refused_action_is_a_message_not_a_500(operator_client, succeeded_job):
    response = operator_client.post(act(succeeded_job, "retry"), follow=True)
    assert response.status_code == 200
    assert b"Could not retry the job: a succeeded job cannot be retried." in response.content
    succeeded_job.refresh_from_db()
    assert succeeded_job.status == "succeeded"


def test_action_with_redis_down_is_a_message(operator_client, queued_job, redis_down):
    response = operator_client.post(act(queued_job, "cancel"), follow=True)
    assert response.status_code == 200
    assert b"the queue broker is unavailable" in response.content
    queued_job.refresh_from_db()
    assert queued_job.status == "queued"


def test_htmx_action_answers_with_the_fragment(operator_client, dead_job):
    response = operator_client.post(act(dead_job, "retry"), **POLL)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="job-detail"')
    assert "Job queued again." in body
    # The job is live again, so the fragment polls the detail page (not the action URL).
    assert f'hx-get="{detail(dead_job)}"' in body


def test_buttons_only_for_operators_and_only_when_they_apply(
    operator_client, viewer_client, dead_job, succeeded_job
):
    as_operator = operator_client.get(detail(dead_job)).content
    assert act(dead_job, "retry").encode() in as_operator
    assert act(dead_job, "cancel").encode() in as_operator
    assert b"/retry/" not in viewer_client.get(detail(dead_job)).content
    assert b"/cancel/" not in operator_client.get(detail(succeeded_job)).content


def test_viewer_cannot_act(viewer_client, dead_job, queued_job):
    for job, action in ((dead_job, "retry"), (queued_job, "cancel")):
        response = viewer_client.post(act(job, action))
        assert response.status_code == 403
        assert b"Only operators can act" in response.content
    assert Job.objects.get(pk=dead_job.pk).status == "dead"
    assert Job.objects.get(pk=queued_job.pk).status == "queued"


def test_anonymous_and_non_staff_cannot_act(anon_client, outsider_client, queued_job):
    response = anon_client.post(act(queued_job, "cancel"))
    assert response.status_code == 302 and "/dashboard/login/" in response["Location"]
    assert outsider_client.post(act(queued_job, "cancel")).status_code == 403
    assert Job.objects.get(pk=queued_job.pk).status == "queued"


def test_action_needs_post_and_a_known_action(operator_client, queued_job):
    assert operator_client.get(act(queued_job, "cancel")).status_code == 405
    assert operator_client.post(act(queued_job, "explode")).status_code == 404
    missing = f"/dashboard/jobs/{uuid.uuid4()}/cancel/"
    assert operator_client.post(missing).status_code == 404
    assert Job.objects.get(pk=queued_job.pk).status == "queued"


def test_post_without_csrf_token_is_refused(operator, queued_job):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(act(queued_job, "cancel")).status_code == 403
    assert client.post(act(queued_job, "cancel"), **POLL).status_code == 403
    assert Job.objects.get(pk=queued_job.pk).status == "queued"


def test_htmx_post_with_the_body_csrf_header_is_accepted(operator, queued_job):
    # What htmx 2 sends: the X-CSRFToken header inherited from <body hx-headers=...>.
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    page = client.get(detail(queued_job)).content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = client.post(
        act(queued_job, "cancel"), headers={"HX-Request": "true", "X-CSRFToken": token}
    )
    assert response.status_code == 200
    assert Job.objects.get(pk=queued_job.pk).status == "cancelled"
