"""The reads that keep the dashboard fast at a million jobs (benchmarks/dashboard.py): the
overview's counts capped per state and queue, the error filter over the jobs that have
an error, the payload filter's containment on PostgreSQL, the id range a time window
implies, and migrations 0004 and 0006's indexes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from jobs import selectors
from jobs.models import Job
from jobs.selectors import JobSearch
from tests.support.factories import submit

pytestmark = pytest.mark.django_db


def test_counts_stop_at_the_cap_per_state_and_queue_and_say_so():
    for _ in range(3):
        submit("demo.noop", {})
    submit("demo.noop", {}, queue="high")
    counts = selectors.job_counts(cap=2)
    assert counts["by_queue"]["default"]["queued"] == 2
    assert counts["capped_queue"]["default"]["queued"] is True
    assert counts["by_queue"]["high"]["queued"] == 1
    assert counts["capped_queue"]["high"]["queued"] is False
    assert counts["by_status"]["queued"] == 3 and counts["capped_status"]["queued"] is True
    assert counts["capped_status"]["succeeded"] is False
    assert (counts["total"], counts["capped"], counts["cap"]) == (3, True, 2)
    exact = selectors.job_counts()
    assert exact["by_status"]["queued"] == 4 and exact["capped"] is False


def test_the_overview_marks_capped_counts(viewer_client, monkeypatch):
    for _ in range(3):
        submit("demo.noop", {})
    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    response = viewer_client.get("/dashboard/")
    assert b'href="/dashboard/jobs/?status=queued&amp;queue=default">2+<' in response.content
    assert b"counted up to 2 jobs per queue" in response.content
    monkeypatch.setattr(selectors, "COUNT_CAP", 10)
    response = viewer_client.get("/dashboard/")
    assert b'href="/dashboard/jobs/?status=queued&amp;queue=default">3<' in response.content
    assert b"counted up to" not in response.content


def test_the_error_filter_reads_only_jobs_with_an_error():
    failed = submit("demo.noop", {"n": 1})
    clean = submit("demo.noop", {"n": 2})
    Job.objects.filter(pk=failed.pk).update(error="TimeoutError: upstream")
    sql = str(selectors.jobs_matching(JobSearch(error_contains="timeout")).query)
    assert 'NOT ("jobs_job"."error" = ' in sql  # the partial index's condition
    page = selectors.search_jobs(search=JobSearch(error_contains="timeout"))
    assert [r["id"] for r in page.rows] == [failed.id]
    page = selectors.search_jobs(search=JobSearch(error_contains=""))
    assert {r["id"] for r in page.rows} == {failed.id, clean.id}  # no text: no condition


def test_the_payload_filter_is_a_containment_on_postgresql_only():
    sql = str(selectors.jobs_matching(JobSearch(payload_key="k", payload_value=42)).query)
    assert ("@>" in sql) is (connection.vendor == "postgresql")
    sql = str(selectors.jobs_matching(JobSearch(payload_key="k", payload_value=None)).query)
    assert "@>" not in sql  # null is not a containment: the key may be missing


def test_migrations_0004_and_0006_made_the_indexes():
    with connection.cursor() as cursor:
        jobs = connection.introspection.get_constraints(cursor, "jobs_job")
        attempts = connection.introspection.get_constraints(cursor, "jobs_attempt")
    for name in (
        "job_status_queue_id",
        "job_created_at",
        "job_finished_at",
        "job_error_id",
        "job_status_due",
    ):
        assert jobs[name]["index"], name
    assert jobs["job_status_due"]["columns"] == ["status", "scheduled_at", "id"]
    assert "job_waiting_due" not in jobs  # replaced by job_status_due (0006)
    assert attempts["attempt_finished_outcome"]["columns"] == ["finished_at", "outcome"]
    on_postgresql = connection.vendor == "postgresql"
    assert ("job_payload_gin" in jobs) is on_postgresql
    # pg_trgm is trusted and ships with PostgreSQL: the suite's server can create it.
    assert ("job_error_trgm" in jobs) is on_postgresql


def test_a_time_window_also_bounds_the_ids():
    """The id range a created or finished window implies (selectors._id_range), so the
    newest-first walk of the primary key starts at the window, not at the newest job."""
    moment = datetime(2026, 11, 3, tzinfo=UTC)
    first = selectors._first_id_at(moment, -selectors.ID_CLOCK_MARGIN)
    last = selectors._first_id_at(moment + timedelta(days=1), selectors.ID_CLOCK_MARGIN)
    assert selectors.id_time(first) == moment - selectors.ID_CLOCK_MARGIN
    for search in (
        JobSearch(created_from=moment, created_to=moment + timedelta(days=1)),
        JobSearch(created_from=moment, finished_to=moment + timedelta(days=1)),
        JobSearch(
            created_from=moment,
            created_to=moment + timedelta(days=9),
            finished_to=moment + timedelta(days=1),
        ),
    ):
        where = selectors.jobs_matching(search).query.where
        bounds = {(c.lookup_name, c.rhs) for c in where.children if c.lhs.target.name == "id"}
        assert bounds == {("gte", first), ("lt", last)}, search
    assert (
        selectors._first_id_at(datetime(1, 1, 1, tzinfo=UTC), -selectors.ID_CLOCK_MARGIN).int == 0
    )


def test_a_job_created_in_the_window_is_found_at_the_margin(viewer_client):
    job = submit("demo.noop", {})
    at = selectors.id_time(job.id)
    # created_at a little off the time its id carries (another host's clock, a burst
    # of submits), within the margin: still found.
    Job.objects.filter(pk=job.pk).update(created_at=at + timedelta(minutes=30))
    window = {
        "created_from": (at + timedelta(minutes=29)).isoformat(),
        "created_to": (at + timedelta(minutes=31)).isoformat(),
    }
    response = viewer_client.get("/dashboard/jobs/", window)
    assert [r["id"] for r in response.context["page"].rows] == [job.id]


def test_id_time_reads_a_uuid7_and_survives_any_other_id():
    job = submit("demo.noop", {})
    assert abs(selectors.id_time(job.id) - job.created_at) < timedelta(seconds=5)
    assert selectors.id_time(uuid.UUID(int=(1 << 128) - 1)) == datetime.max.replace(tzinfo=UTC)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL walks the key itself")
def test_on_sqlite_a_finish_window_page_walks_the_primary_key():
    """Offered the finished_at index, SQLite read a whole wide window through it and
    sorted it by id (1.6 s for 24 days at 1M jobs); the page's query keeps the finish
    times off every index, so it walks the key from the id bound (selectors._walked)."""
    now = datetime.now(tz=UTC)
    search = JobSearch(finished_from=now - timedelta(days=24), finished_to=now + timedelta(days=1))

    def plan(queryset) -> str:
        sql, params = queryset.values("id")[:51].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            return " ".join(str(row[-1]) for row in cursor.fetchall())

    assert "job_finished_at" in plan(selectors.jobs_matching(search))  # what it would do
    assert "job_finished_at" not in plan(selectors._searched(search, walk=True))
    job = submit("demo.noop", {})
    Job.objects.filter(pk=job.pk).update(finished_at=now + timedelta(minutes=1))
    found = selectors.search_jobs(search=search).rows
    assert [r["id"] for r in found] == [job.id]
