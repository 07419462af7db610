"""Dead letters: grouped by type and error class, replay one back to this page, replay
all after a preview that says how many, operators only."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs import selectors
from jobs.models import Job
from tests.dashboard.conftest import finish
from tests.support.factories import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_dead(broker) -> list[Job]:
    jobs = [submit("demo.noop", {"i": i}, max_attempts=1) for i in range(2)]
    jobs.append(submit("text.reverse", {"text": "x"}, max_attempts=1))
    finish(broker, "failed", detail="ValueError: bad input 1")
    finish(broker, "failed", detail="ValueError: bad input 2")
    finish(broker, "failed", detail="KeyError: text")
    for job in jobs:
        job.refresh_from_db()
        assert job.status == "dead"
    return jobs


def test_groups_by_type_and_error_class(three_dead):
    groups = selectors.dead_letter_groups()
    assert [(g["type"], g["error_class"], g["count"]) for g in groups] == [
        ("demo.noop", "ValueError", 2),
        ("text.reverse", "KeyError", 1),
    ]
    assert all(g["last_died"] is not None for g in groups)


def test_error_without_a_class_is_its_own_group(broker):
    submit("demo.noop", {}, max_attempts=1)
    finish(broker, "failed", detail="something odd happened")
    [group] = selectors.dead_letter_groups()
    assert group["error_class"] == "something odd happened"


def test_page_lists_groups_with_links_and_latest_dead(viewer_client, three_dead):
    response = viewer_client.get("/dashboard/dead/")
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["dead_total"] == 3 and response.context["dlq"] == 3
    assert "/dashboard/jobs/?status=dead&amp;type=demo.noop&amp;error=ValueError" in body
    assert all(f"/dashboard/jobs/{job.id}/" in body for job in three_dead)
    assert "Replay all" not in body and "/retry/" not in body  # a viewer cannot act


def test_listed_group_link_finds_its_jobs(viewer_client, three_dead):
    response = viewer_client.get(
        "/dashboard/jobs/", {"status": "dead", "type": "demo.noop", "error": "ValueError"}
    )
    assert {str(r["id"]) for r in response.context["page"].rows} == {
        str(j.id) for j in three_dead[:2]
    }


def test_empty_state(viewer_client):
    assert b"No dead jobs. Nothing has run out" in viewer_client.get("/dashboard/dead/").content


def test_operator_replays_one_and_comes_back(operator_client, three_dead):
    job = three_dead[0]
    response = operator_client.post(
        f"/dashboard/jobs/{job.id}/retry/", {"next": "/dashboard/dead/"}
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/dead/"
    job.refresh_from_db()
    assert job.status == "queued"


def test_replay_one_never_redirects_off_site(operator_client, three_dead):
    job = three_dead[0]
    response = operator_client.post(
        f"/dashboard/jobs/{job.id}/retry/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == f"/dashboard/jobs/{job.id}/"


def test_preview_says_how_many_then_replay_moves_that_many(operator_client, three_dead):
    preview = operator_client.get("/dashboard/dead/replay/")
    assert preview.status_code == 200
    assert b"This moves <strong>3</strong> dead jobs" in preview.content
    assert Job.objects.filter(status="dead").count() == 3  # a preview moves nothing
    response = operator_client.post("/dashboard/dead/replay/", {"count": "3"}, follow=True)
    assert b"Replayed 3 dead jobs." in response.content
    assert Job.objects.filter(status="queued").count() == 3


def test_replay_moves_no_more_than_the_preview_said(operator_client, three_dead):
    operator_client.post("/dashboard/dead/replay/", {"count": "1"})
    assert Job.objects.filter(status="queued").count() == 1
    assert Job.objects.filter(status="dead").count() == 2


@pytest.mark.parametrize("count", ["", "zero", "0", "10001", "-3"])
def test_bad_replay_count_is_a_400_naming_it(operator_client, three_dead, count):
    response = operator_client.post("/dashboard/dead/replay/", {"count": count})
    assert response.status_code == 400
    assert b"Bad value for count" in response.content
    assert Job.objects.filter(status="dead").count() == 3


def test_empty_dlq_preview_offers_nothing(operator_client):
    body = operator_client.get("/dashboard/dead/replay/").content
    assert b"nothing to replay" in body and b'name="count"' not in body


def test_viewer_and_anonymous_cannot_replay(viewer_client, anon_client, three_dead):
    assert viewer_client.get("/dashboard/dead/replay/").status_code == 403
    assert viewer_client.post("/dashboard/dead/replay/", {"count": "3"}).status_code == 403
    response = anon_client.post("/dashboard/dead/replay/", {"count": "3"})
    assert response.status_code == 302 and "/dashboard/login/" in response["Location"]
    anon = anon_client.get("/dashboard/dead/")
    assert anon.status_code == 302
    assert Job.objects.filter(status="dead").count() == 3


def test_non_staff_is_refused(outsider_client):
    assert outsider_client.get("/dashboard/dead/").status_code == 403


def test_replay_without_csrf_is_refused(operator, three_dead):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post("/dashboard/dead/replay/", {"count": "3"}).status_code == 403
    assert Job.objects.filter(status="dead").count() == 3


def test_redis_down_page_renders_and_replay_is_refused_with_a_message(
    operator_client, three_dead, redis_down
):
    page = operator_client.get("/dashboard/dead/")
    assert page.status_code == 200 and page.context["dead_total"] == 3
    assert b"Redis is unreachable" in page.content
    preview = operator_client.get("/dashboard/dead/replay/")
    assert b"Nothing can be replayed" in preview.content
    response = operator_client.post("/dashboard/dead/replay/", {"count": "3"}, follow=True)
    assert b"Could not replay: the queue broker is unavailable" in response.content
    assert Job.objects.filter(status="dead").count() == 3


def test_groups_cover_the_newest_dead_jobs_only_and_the_page_says_so(
    viewer_client, three_dead, monkeypatch
):
    monkeypatch.setattr(selectors, "DEAD_SAMPLE", 2)
    groups = selectors.dead_letter_groups()
    # The newest two: the KeyError one (died last) and the second ValueError one.
    assert [(g["type"], g["error_class"], g["count"]) for g in groups] == [
        ("demo.noop", "ValueError", 1),
        ("text.reverse", "KeyError", 1),
    ]
    response = viewer_client.get("/dashboard/dead/")
    assert response.context["dead_total"] == 3  # counted apart, not the groups' sum
    assert b"Grouped over the newest 2 dead jobs of 3;" in response.content
    monkeypatch.setattr(selectors, "DEAD_SAMPLE", 3)
    assert b"Grouped over" not in viewer_client.get("/dashboard/dead/").content


def test_dead_total_is_capped(viewer_client, three_dead, monkeypatch):
    monkeypatch.setattr(selectors, "DEAD_COUNT_CAP", 2)
    assert selectors.dead_job_count() == (2, True)
    response = viewer_client.get("/dashboard/dead/")
    assert b'<span class="value">2+</span>' in response.content
    assert b"Grouped over the newest 1,000 dead jobs of 2+;" in response.content
