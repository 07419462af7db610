"""Bulk actions on the jobs page: a preview (count and sample) that changes nothing, a
confirmation that changes at most that many, in chunks, audit-logged; every refusal."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs import bulk_actions
from jobs.broker.client import Broker
from jobs.models import Attempt, AuditEntry, Job
from tests.dashboard.conftest import kill
from tests.support.factories import claim, submit

pytestmark = pytest.mark.django_db

URL = "/dashboard/jobs/bulk/"


def statuses() -> dict[str, int]:
    return {
        s: Job.objects.filter(status=s).count()
        for s in Job.objects.values_list("status", flat=True)
    }


def test_preview_counts_and_samples_and_changes_nothing(operator_client, broker):
    kill(broker, 3)
    submit("demo.noop", {})
    response = operator_client.get(URL, {"action": "retry", "scope": "all", "status": "dead"})
    assert response.status_code == 200
    assert response.context["preview"].count == 3
    assert len(response.context["preview"].sample) == 3
    assert b"This will retry <strong>3</strong> jobs" in response.content
    assert b'name="expected" value="3"' in response.content
    assert statuses() == {"dead": 3, "queued": 1}
    assert not AuditEntry.objects.exists()


def test_confirm_retries_what_the_filter_matches_and_audits(operator_client, operator, broker):
    kill(broker, 3)
    data = {"action": "retry", "scope": "all", "status": "dead", "expected": "3"}
    response = operator_client.post(URL, data, follow=True)
    assert b"3 jobs retried." in response.content
    assert response.redirect_chain[-1][0] == "/dashboard/jobs/?status=dead"
    assert statuses() == {"queued": 3}
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.count, entry.via) == ("job.retry", 3, "dashboard")
    assert (entry.actor_name, entry.actor_user_id) == ("olga", operator.pk)
    assert entry.params["status"] == "dead" and entry.params["expected"] == 3


def test_selection_acts_on_the_selected_rows_only(operator_client, broker):
    dead = kill(broker, 3)
    chosen = [str(dead[0].id), str(dead[2].id)]
    preview = operator_client.get(URL, {"action": "retry", "scope": "selected", "ids": chosen})
    assert preview.context["preview"].count == 2
    operator_client.post(
        URL, {"action": "retry", "scope": "selected", "ids": chosen, "expected": "2"}
    )
    assert set(Job.objects.filter(status="queued").values_list("id", flat=True)) == {
        dead[0].id,
        dead[2].id,
    }


def test_never_more_than_the_preview_said(operator_client, broker):
    kill(broker, 4)
    operator_client.post(URL, {"action": "retry", "scope": "all", "expected": "2"})
    assert statuses() == {"dead": 2, "queued": 2}
    assert AuditEntry.objects.get().count == 2


def test_runs_in_chunks(operator_client, broker, monkeypatch):
    kill(broker, 5)
    sizes: list[int] = []
    real = Broker.move_to_queue

    def spy(self, job_ids):
        sizes.append(len(job_ids))
        return real(self, job_ids)

    monkeypatch.setattr(Broker, "move_to_queue", spy)
    monkeypatch.setattr(bulk_actions, "CHUNK", 2)
    monkeypatch.setattr(bulk_actions, "PAUSE_SECONDS", 0)
    operator_client.post(URL, {"action": "retry", "scope": "all", "expected": "5"})
    assert sizes == [2, 2, 1]
    assert statuses() == {"queued": 5}


def test_cancel_all_matching(operator_client, broker):
    kill(broker, 1, type="text.reverse")
    for _ in range(3):
        submit("demo.noop", {})
    response = operator_client.post(
        URL, {"action": "cancel", "scope": "all", "type": "demo.noop", "expected": "3"}, follow=True
    )
    assert b"3 jobs cancelled." in response.content
    assert statuses() == {"cancelled": 3, "dead": 1}


def test_delete_removes_rows_attempts_and_redis_state(operator_client, broker, raw_redis):
    dead = kill(broker, 2)
    queued = submit("demo.noop", {"q": 1})
    operator_client.post(URL, {"action": "delete", "scope": "all", "expected": "3"})
    assert not Job.objects.exists() and not Attempt.objects.exists()
    assert broker.lengths().dlq == 0
    for job in [*dead, queued]:
        assert (
            broker.job_state(str(job.id)) == {"state": "deleted", "ver": "2"}
            or broker.job_state(str(job.id))["state"] == "deleted"
        )
    # The queued job's id left in its list is dropped by the next claim.
    assert claim(broker) == []
    assert AuditEntry.objects.get().action == "job.delete"


def test_delete_refuses_a_running_job_and_says_so(operator_client, broker):
    submit("demo.noop", {})
    [running] = claim(broker)
    Job.objects.filter(pk=running.id).update(status="running")  # as the worker reports it
    submit("demo.noop", {})
    preview = operator_client.get(URL, {"action": "delete", "scope": "all"})
    assert preview.context["preview"].count == 1 and preview.context["preview"].running == 1
    assert b"1 running job matches and will not be deleted" in preview.content
    operator_client.post(URL, {"action": "delete", "scope": "all", "expected": "1"})
    assert str(Job.objects.get().id) == running.id
    assert broker.job_state(running.id)["state"] == "running"


def test_delete_refuses_a_job_claimed_after_the_preview(broker):
    job = submit("demo.noop", {})
    claim(broker)  # the database row still says queued: the worker's claim is in Redis
    Job.objects.filter(pk=job.pk).update(status="queued")
    done = bulk_actions.run(
        action="delete",
        target=bulk_actions.Target(),
        expected=1,
        actor=bulk_actions.audit.Actor(name="t"),
        via="dashboard",
    )
    assert (done.changed, done.skipped) == (0, 1)
    assert Job.objects.filter(pk=job.pk).exists()


def test_empty_preview_offers_no_confirmation(operator_client):
    submit("demo.noop", {})
    response = operator_client.get(URL, {"action": "retry", "scope": "all"})
    assert response.status_code == 200
    assert (
        b"nothing would change" in response.content and b'name="expected"' not in response.content
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"action": "retry", "scope": "selected"}, "ids"),
        ({"action": "retry", "scope": "selected", "ids": "nope"}, "ids"),
        ({"action": "retry"}, "scope"),
        ({"action": "explode", "scope": "all"}, "action"),
        ({"action": "retry", "scope": "all", "status": "bogus"}, "status"),
        ({"action": "retry", "scope": "all", "created_from": "yesterday"}, "created_from"),
    ],
)
def test_bad_values_are_a_400_naming_the_field(operator_client, broker, params, field):
    kill(broker, 1)
    for method in (operator_client.get, operator_client.post):
        response = method(URL, {**params, "expected": "1"})
        assert response.status_code == 400
        assert f"Bad value for {field}".encode() in response.content
    assert statuses() == {"dead": 1} and not AuditEntry.objects.exists()


@pytest.mark.parametrize("expected", ["", "0", "-1", "many"])
def test_bad_expected_count_is_a_400(operator_client, broker, expected):
    kill(broker, 1)
    response = operator_client.post(URL, {"action": "retry", "scope": "all", "expected": expected})
    assert response.status_code == 400 and b"Bad value for expected" in response.content
    assert statuses() == {"dead": 1}


def test_viewer_anonymous_and_csrf_are_refused(viewer_client, anon_client, operator, broker):
    kill(broker, 1)
    data = {"action": "retry", "scope": "all", "expected": "1"}
    assert viewer_client.get(URL, data).status_code == 403
    assert viewer_client.post(URL, data).status_code == 403
    assert anon_client.post(URL, data)["Location"].startswith("/dashboard/login/")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(operator)
    assert strict.post(URL, data).status_code == 403
    assert statuses() == {"dead": 1} and not AuditEntry.objects.exists()


def test_jobs_page_offers_bulk_actions_to_operators_only(operator_client, viewer_client, broker):
    kill(broker, 1)
    body = operator_client.get("/dashboard/jobs/", {"status": "dead"}).content
    assert b'action="/dashboard/jobs/bulk/"' in body and b'name="ids"' in body
    assert b'<input type="hidden" name="status" value="dead">' in body
    assert b"/dashboard/jobs/bulk/" not in viewer_client.get("/dashboard/jobs/").content


def test_redis_down_stops_with_a_message_and_audits_what_was_done(
    operator_client, broker, redis_down
):
    submit("demo.noop", {})
    response = operator_client.post(
        URL, {"action": "delete", "scope": "all", "expected": "1"}, follow=True
    )
    assert b"Stopped: the queue broker is unavailable" in response.content
    assert Job.objects.count() == 1
    assert AuditEntry.objects.get().count == 0
