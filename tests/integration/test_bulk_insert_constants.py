"""Bulk insert of new jobs whose columns are partly the same in every row: on PostgreSQL
those go as one scalar each (bulk_insert.arrays_with_constants), the rest as arrays; on
SQLite as VALUES. Either way the ORM reads back what was written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.bulk_insert import ARRAY_MIN_ROWS, insert_rows
from jobs.models import Job
from jobs.submission import JOB_COLUMNS, JobRequest, prepare

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = ARRAY_MIN_ROWS + 4


def _jobs(**varying):
    now = timezone.now()
    return [
        prepare(
            JobRequest(type="demo.noop", payload={"i": i}, **{k: f(i) for k, f in varying.items()}),
            now=now,
        )
        for i in range(ROWS)
    ]


@pytest.mark.parametrize(
    "varying",
    [
        {},  # only the id and the payload differ
        {"max_attempts": lambda i: 1 + i % 3, "queue": lambda i: ("high", "low")[i % 2]},
        {"delay_seconds": lambda i: 60 if i % 2 else None},  # a time that is NULL in some rows
    ],
)
def test_rows_with_constant_and_varying_columns_read_back_as_written(varying):
    prepared = _jobs(**varying)
    assert insert_rows(Job, JOB_COLUMNS, [p.row for p in prepared]) == ROWS
    stored = {job.id: job for job in Job.objects.all()}
    for p in prepared:
        job = stored[p.job.id]
        for column in ("type", "queue", "status", "payload", "max_attempts", "attempts"):
            assert getattr(job, column) == getattr(p.job, column), column
        assert job.created_at == p.job.created_at and job.result is None and job.error == ""
        assert job.scheduled_at == p.job.scheduled_at


def test_rows_equal_in_every_column_but_the_id_still_insert_each():
    prepared = _jobs()
    for p in prepared:
        p.payload_json = "{}"
        p.job.payload = {}
    assert insert_rows(Job, JOB_COLUMNS, [p.row for p in prepared]) == ROWS
    assert Job.objects.filter(payload={}).count() == ROWS
    assert Job.objects.filter(created_at__gt=timezone.now() - timedelta(minutes=1)).count() == ROWS
