"""Overview: counts from the database, queue numbers and workers from the broker, the
per-minute chart, the live fragment, and Redis down."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import selectors
from jobs.models import Attempt
from tests.dashboard.conftest import finish
from tests.support.factories import submit

pytestmark = pytest.mark.django_db


def test_counts_jobs_by_state_and_queue(viewer_client, broker):
    submit("demo.noop", {}, queue="high")
    submit("demo.noop", {})
    submit("demo.noop", {})
    finish(broker, "succeeded")  # the high one goes first
    response = viewer_client.get("/dashboard/")
    counts = response.context["counts"]
    assert counts["total"] == 3
    assert counts["by_status"]["queued"] == 2 and counts["by_status"]["succeeded"] == 1
    assert counts["by_queue"]["high"]["succeeded"] == 1
    assert counts["by_queue"]["default"]["queued"] == 2
    assert b'href="/dashboard/jobs/?status=queued&amp;queue=default">2<' in response.content


def test_counts_are_one_group_by(viewer, django_assert_num_queries):
    submit("demo.noop", {})
    with django_assert_num_queries(1) as captured:
        selectors.job_counts()
    assert "GROUP BY" in captured.captured_queries[0]["sql"].upper()


def test_broker_numbers_and_workers(viewer_client, broker):
    submit("demo.noop", {})
    submit("demo.noop", {}, queue="low")
    submit("demo.noop", {}, delay_seconds=600)
    broker.heartbeat("host-b:77:beef", {"host": "host-b", "pid": 77, "concurrency": 4}, 30_000)
    response = viewer_client.get("/dashboard/")
    stats = response.context["stats"]
    assert (stats["default"], stats["low"], stats["scheduled"]) == (1, 1, 1)
    assert stats["oldest_age_seconds"]["default"] is not None
    assert [w["id"] for w in response.context["workers"]] == ["host-b:77:beef"]
    assert b"host-b:77:beef" in response.content
    assert response.context["redis_down"] is False
    assert b"Redis is unreachable" not in response.content


def test_chart_and_failure_rate_come_from_finished_attempts(viewer_client, broker):
    submit("demo.noop", {}, max_attempts=1)
    submit("demo.noop", {})
    submit("demo.noop", {})
    finish(broker, "failed", detail="nope")
    finish(broker, "succeeded")
    finish(broker, "succeeded")
    response = viewer_client.get("/dashboard/")
    outcomes = response.context["outcomes"]
    assert (outcomes["total_succeeded"], outcomes["total_failed"]) == (2, 1)
    # This minute (or the one before, if the test ran across a minute's end).
    assert sum(outcomes["succeeded"][-2:]) == 2 and sum(outcomes["failed"][-2:]) == 1
    assert outcomes["failure_rate"] == pytest.approx(1 / 3)
    assert b"33.3 %" in response.content
    assert b'<svg class="chart"' in response.content
    assert response.content.count(b'class="bar-failed"') == 1  # one minute with data


def test_chart_places_old_attempts_in_their_minute_and_drops_older(broker):
    submit("demo.noop", {})
    finish(broker, "succeeded")
    now = timezone.now()
    Attempt.objects.update(finished_at=now - timedelta(minutes=10))
    outcomes = selectors.outcomes_per_minute(minutes=60, now=now)
    assert outcomes["succeeded"][-11] == 1 and sum(outcomes["succeeded"]) == 1
    Attempt.objects.update(finished_at=now - timedelta(minutes=90))
    assert selectors.outcomes_per_minute(minutes=60, now=now)["total_succeeded"] == 0


def test_empty_database_renders_with_no_failure_rate(viewer_client):
    response = viewer_client.get("/dashboard/")
    assert response.status_code == 200
    assert response.context["outcomes"]["failure_rate"] is None
    assert b"No worker is online." in response.content


def test_htmx_request_gets_the_live_fragment(viewer_client):
    full = viewer_client.get("/dashboard/")
    assert b"<html" in full.content
    assert b"hx-trigger=\"every 2s [document.visibilityState === 'visible']\"" in full.content
    fragment = viewer_client.get("/dashboard/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert b"<html" not in fragment.content and b"<nav" not in fragment.content
    assert fragment.content.lstrip().startswith(b'<div id="overview-stats"')
    assert "HX-Request" in fragment["Vary"]


def test_redis_down_renders_the_database_parts_with_the_banner(viewer_client, redis_down):
    submit("demo.noop", {})  # accepted while Redis is down: the row is the record
    response = viewer_client.get("/dashboard/")
    assert response.status_code == 200
    assert response.context["counts"]["by_status"]["queued"] == 1
    assert b"Redis is unreachable" in response.content
    assert b"Queue lengths unavailable" in response.content
    assert b"Workers unavailable" in response.content
    fragment = viewer_client.get("/dashboard/", headers={"HX-Request": "true"})
    assert b"Redis is unreachable" in fragment.content  # the banner refreshes with it
