"""Scheduled and retrying, Queues, Workers: what they show, run now, Redis down, empty
states, who may see and act."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.views import waiting as waiting_view
from jobs.broker.client import Broker
from jobs.models import AuditEntry, Job
from tests.dashboard.conftest import finish
from tests.support.factories import claim, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled_job(db) -> Job:
    return submit("demo.noop", {"later": True}, delay_seconds=3600)


def test_scheduled_lists_what_waits_and_when(viewer_client, scheduled_job):
    response = viewer_client.get("/dashboard/scheduled/")
    body = response.content.decode()
    assert response.status_code == 200
    assert f"/dashboard/jobs/{scheduled_job.id}/" in body and "in 59 min" in body
    assert "Run now" not in body  # a viewer cannot act


def test_scheduled_empty_state_and_fragment(viewer_client):
    assert b"Nothing is scheduled" in viewer_client.get("/dashboard/scheduled/").content
    fragment = viewer_client.get("/dashboard/scheduled/", HTTP_HX_REQUEST="true")
    assert fragment.content.lstrip().startswith(b'<section id="scheduled-table"')


def test_run_now_one_job_queues_it_and_audits(operator_client, scheduled_job):
    response = operator_client.post(
        f"/dashboard/jobs/{scheduled_job.id}/retry/", {"next": "/dashboard/scheduled/"}
    )
    assert response["Location"] == "/dashboard/scheduled/"
    scheduled_job.refresh_from_db()
    assert scheduled_job.status == "queued"
    assert AuditEntry.objects.get().action == "job.retry"


def test_run_all_now_after_a_preview(operator_client, scheduled_job):
    other = submit("demo.noop", {}, delay_seconds=60)
    preview = operator_client.get(
        "/dashboard/scheduled/bulk/", {"action": "run_now", "scope": "all"}
    )
    assert preview.context["preview"].count == 2
    operator_client.post(
        "/dashboard/scheduled/bulk/", {"action": "run_now", "scope": "all", "expected": "2"}
    )
    assert set(Job.objects.filter(status="queued").values_list("id", flat=True)) == {
        scheduled_job.id,
        other.id,
    }
    assert AuditEntry.objects.get().action == "job.run_now"


def test_run_now_refused_to_viewers(viewer_client, scheduled_job):
    data = {"action": "run_now", "scope": "all", "expected": "1"}
    assert viewer_client.post("/dashboard/scheduled/bulk/", data).status_code == 403
    scheduled_job.refresh_from_db()
    assert scheduled_job.status == "scheduled"


def test_scheduled_renders_from_the_database_with_redis_down(
    viewer_client, scheduled_job, redis_down
):
    response = viewer_client.get("/dashboard/scheduled/")
    assert response.status_code == 200 and b"Redis is unreachable" in response.content
    assert str(scheduled_job.id).encode() in response.content


def test_queues_show_depth_running_waiting_and_throughput(viewer_client, broker, scheduled_job):
    submit("demo.noop", {})
    submit("demo.noop", {}, queue="high")
    response = viewer_client.get("/dashboard/queues/")
    rows = {r["name"]: r for r in response.context["rows"]}
    assert rows["default"]["depth"] == 1 and rows["high"]["depth"] == 1
    assert rows["default"]["scheduled"] == 1
    assert rows["default"]["oldest_age_seconds"] is not None
    assert rows["low"]["oldest_age_seconds"] is None and b"none waiting" in response.content


def test_queues_throughput_counts_finished_attempts_per_queue(viewer_client, broker):
    submit("demo.noop", {}, queue="low")
    finish(broker, "succeeded")
    submit("demo.noop", {}, queue="low")
    [claimed] = claim(broker)
    Job.objects.filter(pk=claimed.id).update(status="running")
    rows = {r["name"]: r for r in viewer_client.get("/dashboard/queues/").context["rows"]}
    assert rows["low"]["per_minute"] == 1 and rows["low"]["per_hour"] == 1
    assert rows["low"]["running"] == 1 and rows["default"]["per_hour"] == 0


def test_queues_with_redis_down(viewer_client, queued_job, redis_down):
    response = viewer_client.get("/dashboard/queues/")
    assert response.status_code == 200 and b"Redis is unreachable" in response.content
    assert all(r["depth"] is None for r in response.context["rows"])


def beat(broker: Broker, worker_id: str, current: list[dict], ttl_ms: int = 60_000):
    info = {
        "host": "host-a",
        "pid": 42,
        "started_ms": broker.now_ms() - 5000,
        "concurrency": 4,
        "queues": ["high", "default"],
        "current_jobs": current,
        "busy": len(current),
    }
    broker.heartbeat(worker_id, info, ttl_ms)


def test_workers_show_heartbeats_and_current_jobs(viewer_client, broker, queued_job):
    current = [
        {"id": str(queued_job.id), "type": "demo.noop", "attempt": 1, "started_ms": broker.now_ms()}
    ]
    beat(broker, "host-a:42:beef", current)
    response = viewer_client.get("/dashboard/workers/")
    body = response.content.decode()
    assert "host-a:42:beef" in body and "1 of 4" in body and "alive" in body
    assert f'href="/dashboard/jobs/{queued_job.id}/"' in body


def test_a_worker_past_two_heartbeats_is_flagged_stale(
    viewer_client, broker, settings, monkeypatch
):
    beat(broker, "old:1:aa", [])
    real_now = Broker.now_ms
    monkeypatch.setattr(Broker, "now_ms", lambda self: real_now(self) + 3_600_000)
    [worker] = viewer_client.get("/dashboard/workers/").context["workers"]
    assert worker["stale"] is True


def test_workers_empty_and_redis_down(viewer_client, redis_down):
    response = viewer_client.get("/dashboard/workers/")
    assert response.status_code == 200
    assert b"Worker heartbeats live in Redis" in response.content


def test_workers_empty_state(viewer_client):
    assert b"No worker is online" in viewer_client.get("/dashboard/workers/").content


@pytest.mark.parametrize(
    "url",
    ["/dashboard/scheduled/", "/dashboard/queues/", "/dashboard/workers/", "/dashboard/audit/"],
)
def test_anonymous_and_non_staff_are_refused(anon_client, outsider_client, url):
    assert anon_client.get(url)["Location"].startswith("/dashboard/login/")
    assert outsider_client.get(url).status_code == 403


def test_scheduled_merges_both_states_soonest_due_first(viewer_client, monkeypatch):
    now = timezone.now()
    due = {"a": 50, "b": 10, "c": 30, "d": 20}
    made = {name: submit("demo.noop", {"n": name}, delay_seconds=60) for name in due}
    for name, minutes in due.items():
        status = "retrying" if name in ("b", "c") else "scheduled"
        Job.objects.filter(pk=made[name].pk).update(
            status=status, scheduled_at=now + timedelta(minutes=minutes)
        )
    monkeypatch.setattr(waiting_view, "SHOWN", 3)
    response = viewer_client.get("/dashboard/scheduled/")
    waiting = response.context["waiting"]
    assert [r["id"] for r in waiting["rows"]] == [made[n].id for n in ("b", "d", "c")]
    assert waiting["total"] == 4


def test_scheduled_pages_by_due_time_then_id(viewer_client, monkeypatch):
    now = timezone.now().replace(microsecond=0)
    # Five waiting jobs over both states, two of them due at the same instant.
    plan = [("scheduled", 30), ("retrying", 10), ("scheduled", 20), ("retrying", 20), ("x", 40)]
    made = []
    for status, minutes in plan:
        job = submit("demo.noop", {}, delay_seconds=60)
        Job.objects.filter(pk=job.pk).update(
            status="scheduled" if status == "x" else status,
            scheduled_at=now + timedelta(minutes=minutes),
        )
        made.append(job)
    tied = sorted([made[2], made[3]], key=lambda j: j.id)
    expected = [made[1].id, *(j.id for j in tied), made[0].id, made[4].id]
    monkeypatch.setattr(waiting_view, "SHOWN", 2)
    seen, url = [], "/dashboard/scheduled/"
    for _ in range(5):
        response = viewer_client.get(url)
        assert response.status_code == 200
        waiting = response.context["waiting"]
        seen += [r["id"] for r in waiting["rows"]]
        if not waiting["next_cursor"]:
            break
        assert f'href="?cursor={waiting["next_cursor"]}">Later' in response.content.decode()
        url = f"/dashboard/scheduled/?cursor={waiting['next_cursor']}"
    assert seen == expected
    assert b'href="/dashboard/scheduled/">Soonest<' in response.content
    assert waiting["total"] == 5


@pytest.mark.parametrize("cursor", ["x", "bm90IGEgY3Vyc29y", "MjAyNi0xMS0wMXxhYg"])
def test_scheduled_bad_cursor_is_a_400_page(viewer_client, cursor):
    response = viewer_client.get("/dashboard/scheduled/", {"cursor": cursor})
    assert response.status_code == 400
    assert b"Bad value for cursor:" in response.content
