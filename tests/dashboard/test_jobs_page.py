"""Jobs page: each filter, keyset pages with no OFFSET, a capped count, bad filters as a
400 page naming the field, and the live table fragment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.views import jobs as jobs_view
from jobs import selectors
from jobs.models import Job
from tests.dashboard.conftest import finish
from tests.support.factories import submit

pytestmark = pytest.mark.django_db


def listed(client, **params) -> list[str]:
    response = client.get("/dashboard/jobs/", params)
    assert response.status_code == 200, response.content[:500]
    return [str(row["id"]) for row in response.context["page"].rows]


@pytest.fixture
def mixed(broker):
    """Five jobs: two types, three queues, one succeeded, one with a known error."""
    jobs = {
        "mail": submit("text.reverse", {"text": "a"}, dedupe_key="mail-a"),
        "mail_low": submit("text.reverse", {"text": "b"}, queue="low"),
        "report": submit("demo.sleep", {"seconds": 0}, queue="high"),
        "noop": submit("demo.noop", {}),
        "broken": submit("demo.noop", {"x": 1}),
    }
    finish(broker, "succeeded")  # the high one: report
    Job.objects.filter(pk=jobs["broken"].pk).update(error="KeyError: 'customer_id' missing")
    # created_at exactly the time each id carries (ids are UUIDv7, made at submit), as
    # the created-time filter relies on ids matching it (selectors._id_range).
    for job in jobs.values():
        Job.objects.filter(pk=job.pk).update(created_at=selectors.id_time(job.id))
    return {name: str(job.id) for name, job in jobs.items()}


def moment(job_id: str, offset: str = "") -> str:
    """The creation time a job id carries, as the filter form sends it (to the ms)."""
    return selectors.id_time(uuid.UUID(job_id)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + offset


def test_unfiltered_lists_newest_first_with_links(viewer_client, mixed):
    response = viewer_client.get("/dashboard/jobs/")
    ids = [str(r["id"]) for r in response.context["page"].rows]
    assert ids == [mixed[n] for n in ("broken", "noop", "report", "mail_low", "mail")]
    assert f'href="/dashboard/jobs/{mixed["report"]}/"'.encode() in response.content
    assert b"5 matching jobs" in response.content


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "succeeded"}, ["report"]),
        ({"status": "queued", "type": "text.reverse"}, ["mail_low", "mail"]),
        ({"type": "demo.noop"}, ["broken", "noop"]),
        ({"queue": "low"}, ["mail_low"]),
        ({"dedupe_key": "mail-a"}, ["mail"]),
        ({"error": "customer_ID"}, ["broken"]),  # contains, any case
        ({"status": "", "type": "", "queue": ""}, ["broken", "noop", "report", "mail_low", "mail"]),
    ],
)
def test_each_filter(viewer_client, mixed, params, expected):
    assert listed(viewer_client, **params) == [mixed[n] for n in expected]


def test_created_time_window(viewer_client, mixed):
    window = {"created_from": moment(mixed["mail_low"]), "created_to": moment(mixed["noop"])}
    assert listed(viewer_client, **window) == [mixed["report"], mixed["mail_low"]]
    since = {"created_from": moment(mixed["broken"], "+00:00")}
    assert listed(viewer_client, **since) == [mixed["broken"]]
    before = {"created_to": moment(mixed["mail_low"])}
    assert listed(viewer_client, **before) == [mixed["mail"]]


def test_exact_id_filter(viewer_client, mixed):
    assert listed(viewer_client, id=mixed["noop"]) == [mixed["noop"]]


def test_the_form_shows_the_filter_it_applied(viewer_client, mixed):
    response = viewer_client.get("/dashboard/jobs/", {"status": "queued", "type": "text.reverse"})
    assert b'<option value="queued" selected>' in response.content
    assert b'name="type" value="text.reverse"' in response.content


def test_keyset_pages_without_offset(viewer_client, monkeypatch):
    monkeypatch.setattr(jobs_view, "PAGE_SIZE", 2)
    made = [str(submit("demo.noop", {"i": i}).id) for i in range(5)][::-1]  # newest first
    seen = []
    url, params = "/dashboard/jobs/", {"type": "demo.noop"}
    with CaptureQueriesContext(connection) as queries:
        while True:
            response = viewer_client.get(url, params)
            page = response.context["page"]
            seen += [str(r["id"]) for r in page.rows]
            if not page.next_cursor:
                break
            assert f"type=demo.noop&amp;cursor={page.next_cursor}".encode() in response.content
            params = {"type": "demo.noop", "cursor": page.next_cursor}
    assert seen == made
    assert b">Newest<" in response.content  # a way back to the first page
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert "OFFSET" not in sql


def test_count_is_capped(viewer_client, monkeypatch):
    monkeypatch.setattr(jobs_view, "COUNT_CAP", 2)
    for _ in range(3):
        submit("demo.noop", {})
    response = viewer_client.get("/dashboard/jobs/")
    assert b"2+ matching jobs" in response.content
    assert len(response.context["page"].rows) == 3


def test_empty_state(viewer_client):
    response = viewer_client.get("/dashboard/jobs/", {"type": "nothing.here"})
    assert b"No job matches this filter." in response.content


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "exploded"}, "status"),
        ({"queue": "urgent"}, "queue"),
        ({"id": "not-a-uuid"}, "id"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"created_to": "2026-13-40T99:00"}, "created_to"),
        ({"created_from": "2026-11-05T00:00", "created_to": "2026-11-01T00:00"}, "created_to"),
        ({"cursor": "!!!"}, "cursor"),
        ({"type": "t" * 129}, "type"),
        ({"dedupe_key": "k" * 256}, "dedupe_key"),
        ({"error": "e" * 201}, "error"),
        ({"type": "tab\there"}, "type"),
    ],
)
def test_bad_filter_is_a_400_page_naming_the_field(viewer_client, params, field):
    response = viewer_client.get("/dashboard/jobs/", params)
    assert response.status_code == 400
    assert f"Bad filter value for {field}:".encode() in response.content
    assert b"<html" in response.content  # a page in the layout, not a traceback


def test_htmx_poll_gets_the_table_fragment_with_the_same_filter(viewer_client, mixed):
    response = viewer_client.get(
        "/dashboard/jobs/", {"type": "text.reverse"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "<form" not in body
    assert body.lstrip().startswith('<section id="jobs-table"')
    assert 'hx-get="/dashboard/jobs/?type=text.reverse"' in body
    assert mixed["mail_low"] in body and mixed["report"] not in body
    assert "HX-Request" in response["Vary"]


def test_rows_refresh_shows_the_new_state(viewer_client, broker, queued_job):
    poll = {"headers": {"HX-Request": "true"}}
    assert b"status-queued" in viewer_client.get("/dashboard/jobs/", **poll).content
    finish(broker, "succeeded")
    assert b"status-succeeded" in viewer_client.get("/dashboard/jobs/", **poll).content


def test_jobs_page_with_redis_down_renders_from_the_database(viewer_client, redis_down):
    submit("demo.noop", {})
    response = viewer_client.get("/dashboard/jobs/")
    assert response.status_code == 200
    assert len(response.context["page"].rows) == 1
    assert b"Redis is unreachable" in response.content


@pytest.fixture
def payloads(broker):
    jobs = {
        "n42": submit("demo.noop", {"customer_id": 42, "plan": "pro"}),
        "s42": submit("demo.noop", {"customer_id": "42", "plan": "free"}),
        "flag": submit("demo.noop", {"vip": True, "odd key.with dots": "x"}),
        "nested": submit("demo.noop", {"customer": {"id": 42}}),
    }
    return {name: str(job.id) for name, job in jobs.items()}


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("customer_id", "42", ["n42"]),  # a JSON number
        ("customer_id", '"42"', ["s42"]),  # a JSON string, quoted
        ("plan", "pro", ["n42"]),  # plain text
        ("vip", "true", ["flag"]),
        ("odd key.with dots", "x", ["flag"]),  # one key, never a path
        ("customer__id", "42", []),  # not split into a nested lookup
        ("missing", "1", []),
    ],
)
def test_payload_field_equals_a_value(viewer_client, payloads, key, value, expected):
    found = listed(viewer_client, payload_key=key, payload_value=value)
    assert found == [payloads[n] for n in expected]


def test_finished_time_range(viewer_client, broker):
    early, late, unfinished = (submit("demo.noop", {"i": i}) for i in range(3))
    finish(broker)
    finish(broker)
    # Finished after they were created, as any job is (the filter relies on it).
    now = datetime.now(tz=UTC)
    Job.objects.filter(pk=early.pk).update(finished_at=now + timedelta(minutes=1))
    Job.objects.filter(pk=late.pk).update(finished_at=now + timedelta(days=2))
    middle = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert listed(viewer_client, finished_from=middle) == [str(late.id)]
    assert listed(viewer_client, finished_to=middle) == [str(early.id)]
    assert str(unfinished.id) not in listed(viewer_client, finished_from="2000-01-01T00:00")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"finished_from": "soon"}, "finished_from"),
        ({"finished_from": "2026-11-05T00:00", "finished_to": "2026-11-01T00:00"}, "finished_to"),
        ({"payload_value": "1"}, "payload_key"),
        ({"payload_key": "n"}, "payload_value"),
        ({"payload_key": "n", "payload_value": '{"a": 1}'}, "payload_value"),
        ({"payload_key": "n", "payload_value": "NaN"}, "payload_value"),
        ({"payload_key": "n", "payload_value": "1e400"}, "payload_value"),
        ({"payload_key": "n", "payload_value": '"\\u0000"'}, "payload_value"),
        ({"payload_key": "n", "payload_value": '"\\ud800"'}, "payload_value"),
        ({"payload_key": "k" * 101, "payload_value": "1"}, "payload_key"),
    ],
)
def test_bad_new_filters_are_400s_naming_the_field(viewer_client, params, field):
    response = viewer_client.get("/dashboard/jobs/", params)
    assert response.status_code == 400
    assert f"Bad filter value for {field}:".encode() in response.content


def test_the_attempts_column_counts_the_current_run_like_the_api(viewer_client):
    job = submit()
    Job.objects.filter(pk=job.pk).update(attempts=7, run=3, run_base=6)  # two replays in
    row = viewer_client.get("/dashboard/jobs/").content.decode()
    assert '<td class="num" title="in the current run">1</td>' in row
