"""The hot-path multi-row INSERT stores what the ORM would, in as many statements as the
database's parameter limit needs."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from jobs import bulk_insert
from jobs.models import Attempt, Job
from jobs.submission import new_job

pytestmark = pytest.mark.django_db


def _jobs(count: int) -> list[Job]:
    now = timezone.now()
    return [
        new_job(
            id=uuid.uuid4(),
            type="demo.noop",
            queue="default",
            payload={"i": i, "text": "é\\u0000 not a NUL"},
            status="queued",
            max_attempts=3,
            attempt_limit=3,
            timeout_seconds=1.5,
            created_at=now,
            updated_at=now,
        )
        for i in range(count)
    ]


# 40 parameters: two jobs per statement. 20 rows: PostgreSQL's array form, 5: its VALUES.
@pytest.mark.parametrize(("max_params", "count"), [(30000, 5), (30000, 20), (40, 5)])
def test_instances_round_trip_through_the_orm(max_params, count, monkeypatch):
    monkeypatch.setattr(bulk_insert, "_max_params", lambda: max_params)
    bulk_insert._statement.cache_clear()
    jobs = _jobs(count)
    try:
        assert bulk_insert.insert_instances(jobs) == count
    finally:
        bulk_insert._statement.cache_clear()
    stored = {j.id: j for j in Job.objects.all()}
    assert set(stored) == {j.id for j in jobs}
    for job in jobs:
        row = stored[job.id]
        assert row.payload == job.payload and row.result is None
        assert (row.status, row.attempts, row.timeout_seconds) == ("queued", 0, 1.5)
        assert row.created_at == job.created_at and row.scheduled_at is None


def test_conflicting_rows_are_skipped_only_when_asked():
    from django.db import IntegrityError, transaction

    [job] = _jobs(1)
    bulk_insert.insert_instances([job])
    columns = ["job_id", "number", "worker_id", "outcome", "error", "traceback", "started_at"]
    row = [job.id, 1, "w1", "succeeded", "", "", None]
    assert bulk_insert.insert_rows(Attempt, columns, [row], ignore_conflicts=True) == 1
    late = [job.id, 1, "", "lease_expired", "lost", "", timezone.now()]
    assert bulk_insert.insert_rows(Attempt, columns, [late], ignore_conflicts=True) == 0
    assert Attempt.objects.get(job=job).outcome == "succeeded"
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert.insert_rows(Attempt, columns, [late])
    # Only uniqueness conflicts are skipped: a row missing a required value is an error.
    incomplete = [job.id, 2, "succeeded"]
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert.insert_rows(
            Attempt, ["job_id", "number", "outcome"], [incomplete], ignore_conflicts=True
        )


def test_the_array_form_maps_errors_and_stores_nulls():
    """PostgreSQL binds this form in binary, outside Django's cursor: its errors must
    still be Django's, and NULL elements stay NULL (SQLite takes the VALUES form)."""
    from django.db import IntegrityError, transaction

    [job] = _jobs(1)
    bulk_insert.insert_instances([job])
    columns = ["job_id", "number", "worker_id", "outcome", "error", "traceback", "started_at"]
    count = bulk_insert.ARRAY_MIN_ROWS + 2
    rows = [[job.id, n, "w1", "failed", 'say "hi" \\ ', "", None] for n in range(1, count + 1)]
    assert bulk_insert.insert_rows(Attempt, columns, rows, ignore_conflicts=True) == count
    stored = Attempt.objects.filter(job=job)
    assert {(a.error, a.started_at) for a in stored} == {('say "hi" \\ ', None)}
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert.insert_rows(Attempt, columns, rows)
    assert stored.count() == count
