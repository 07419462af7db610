"""The reads that keep the dashboard fast at a million jobs (benchmarks/dashboard.py): the
overview's counts capped per state and queue, the error filter over the jobs that have
an error, the payload filter's containment on PostgreSQL, and migration 0004's indexes."""

from __future__ import annotations

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


def test_migration_0004_made_the_indexes():
    with connection.cursor() as cursor:
        jobs = connection.introspection.get_constraints(cursor, "jobs_job")
        attempts = connection.introspection.get_constraints(cursor, "jobs_attempt")
    for name in (
        "job_status_queue_id",
        "job_created_at",
        "job_finished_at",
        "job_error_id",
        "job_waiting_due",
    ):
        assert jobs[name]["index"], name
    assert attempts["attempt_finished_outcome"]["columns"] == ["finished_at", "outcome"]
    on_postgresql = connection.vendor == "postgresql"
    assert ("job_payload_gin" in jobs) is on_postgresql
    # pg_trgm is trusted and ships with PostgreSQL: the suite's server can create it.
    assert ("job_error_trgm" in jobs) is on_postgresql
