"""Dead letters in bulk: replay or delete a group (type + error class) or the selected
dead jobs, after a dry run showing the count and a sample; audit-logged."""

from __future__ import annotations

import pytest

from jobs import bulk_actions
from jobs.models import AuditEntry, Job
from tests.dashboard.conftest import kill

pytestmark = pytest.mark.django_db

URL = "/dashboard/dead/bulk/"


@pytest.fixture
def groups(broker) -> dict[str, list[Job]]:
    return {
        "value": kill(broker, 12, error="ValueError: bad"),
        "key": kill(broker, 2, error="KeyError: text"),
        "other_type": kill(broker, 1, type="text.reverse", error="ValueError: bad"),
    }


def test_group_dry_run_shows_count_and_a_sample_of_ten(operator_client, groups):
    params = {"action": "replay", "scope": "all", "type": "demo.noop", "error_class": "ValueError"}
    response = operator_client.get(URL, params)
    preview = response.context["preview"]
    assert preview.count == 12 and len(preview.sample) == 10
    assert {str(r["id"]) for r in preview.sample} <= {str(j.id) for j in groups["value"]}
    assert b"The newest 10" in response.content
    assert Job.objects.filter(status="dead").count() == 15


def test_group_replay_moves_that_group_only_in_chunks(operator_client, groups, monkeypatch):
    monkeypatch.setattr(bulk_actions, "CHUNK", 5)
    monkeypatch.setattr(bulk_actions, "PAUSE_SECONDS", 0)
    params = {"action": "replay", "scope": "all", "type": "demo.noop", "error_class": "ValueError"}
    response = operator_client.post(URL, {**params, "expected": "12"}, follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/dead/"
    assert b"12 jobs replayed." in response.content
    queued = set(Job.objects.filter(status="queued").values_list("id", flat=True))
    assert queued == {j.id for j in groups["value"]}
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.count) == ("dlq.replay", 12)
    assert entry.params["error_class"] == "ValueError" and entry.params["seen"] == 12


def test_error_class_matches_the_class_not_any_mention(operator_client, broker):
    kill(broker, 1, error="KeyError: ValueError")
    response = operator_client.get(
        URL, {"action": "replay", "scope": "all", "error_class": "ValueError"}
    )
    assert response.context["preview"].count == 0


def test_selected_dead_jobs_delete_after_confirmation(operator_client, groups, broker):
    chosen = [str(j.id) for j in groups["key"]]
    preview = operator_client.get(URL, {"action": "delete", "scope": "selected", "ids": chosen})
    assert preview.context["preview"].count == 2
    assert Job.objects.count() == 15  # nothing deleted by the preview
    operator_client.post(
        URL, {"action": "delete", "scope": "selected", "ids": chosen, "expected": "2"}
    )
    assert Job.objects.count() == 13 and broker.lengths().dlq == 13
    assert AuditEntry.objects.get().action == "dlq.delete"


def test_only_dead_jobs_are_touched(operator_client, groups, queued_job):
    operator_client.post(
        URL, {"action": "delete", "scope": "selected", "ids": [str(queued_job.id)], "expected": "1"}
    )
    assert Job.objects.filter(pk=queued_job.pk).exists()


def test_page_links_each_group_to_its_dry_run(operator_client, viewer_client, groups):
    body = operator_client.get("/dashboard/dead/").content.decode()
    assert (
        "/dashboard/dead/bulk/?action=replay&amp;scope=all&amp;type=demo.noop&amp;error_class=ValueError"
        in body
    )
    assert 'form="dead-bulk-form"' in body
    assert "/dashboard/dead/bulk/" not in viewer_client.get("/dashboard/dead/").content.decode()


def test_bad_values_and_refusals(operator_client, viewer_client, groups):
    assert operator_client.get(URL, {"action": "retry", "scope": "all"}).status_code == 400
    bad = operator_client.get(URL, {"action": "replay", "scope": "all", "type": "x" * 129})
    assert bad.status_code == 400 and b"Bad value for type" in bad.content
    assert viewer_client.get(URL, {"action": "replay", "scope": "all"}).status_code == 403
    assert (
        viewer_client.post(URL, {"action": "replay", "scope": "all", "expected": "1"}).status_code
        == 403
    )
    assert Job.objects.filter(status="dead").count() == 15
