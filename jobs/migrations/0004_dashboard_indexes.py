"""Indexes for the dashboard at 1,000,000 jobs and 3,000,000 attempts (issue #12), measured
by `python -m benchmarks.dashboard` (its table names the plan each page uses):

- job (status, queue, -id): the overview's counts per state and queue (capped, one range
  of this index each) and the jobs page filtered on both, newest first.
- job (created_at), job (finished_at): the time range filters.
- job (-id) WHERE error <> '': the error text filter reads only the jobs that have an
  error (a few percent of them), newest first.
- job (scheduled_at, id) WHERE status IN (scheduled, retrying): Scheduled, soonest due.
- attempt (finished_at, outcome): attempts finished in a window by outcome (the
  overview's chart, Queues' throughput) read from the index alone.
- PostgreSQL only: GIN (payload jsonb_path_ops), for the payload key = value filter
  (jobs.selectors adds the matching `payload @> {key: value}`); and, where the pg_trgm
  extension can be created (it ships with PostgreSQL and is trusted: a database owner may
  create it), a trigram GIN on UPPER(error) WHERE error <> '', which answers the error
  text filter (icontains: UPPER(error) LIKE UPPER('%text%')) without reading every job
  that has an error. Without pg_trgm that filter uses the partial index above. SQLite has
  neither: there the payload filter reads the table (benchmarks/dashboard.py shows the
  cost).

The plain CREATE INDEX takes a write lock for its build (seconds per index at a million
rows); a large PostgreSQL deployment may build them beforehand with CREATE INDEX
CONCURRENTLY under the same names, which this migration then finds and skips.
"""

import logging

from django.db import migrations, models, transaction
from django.db.utils import DatabaseError

GIN_NAME = "job_payload_gin"
TRGM_NAME = "job_error_trgm"
logger = logging.getLogger("queuey.migrations")


def gin_forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("jobs", "Job")._meta.db_table)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {GIN_NAME} ON {table} USING gin (payload jsonb_path_ops)"
    )
    try:
        with transaction.atomic(using=schema_editor.connection.alias):  # a savepoint
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:
        logger.warning(
            "pg_trgm cannot be created here (%s): the error text filter uses the partial "
            "index job_error_id instead of a trigram index", exc
        )
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRGM_NAME} ON {table} "
        "USING gin (UPPER(error) gin_trgm_ops) WHERE NOT (error = '')"
    )


def gin_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_NAME}")
        schema_editor.execute(f"DROP INDEX IF EXISTS {GIN_NAME}")


class IfMissingAddIndex(migrations.AddIndex):
    """AddIndex that leaves an index of the same name alone (built beforehand, e.g.
    CONCURRENTLY on a big PostgreSQL table)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        with schema_editor.connection.cursor() as cursor:
            existing = schema_editor.connection.introspection.get_constraints(
                cursor, model._meta.db_table
            )
        if self.index.name not in existing:
            super().database_forwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0003_audit_log"),
    ]

    operations = [
        IfMissingAddIndex(
            model_name="attempt",
            index=models.Index(fields=["finished_at", "outcome"], name="attempt_finished_outcome"),
        ),
        IfMissingAddIndex(
            model_name="job",
            index=models.Index(fields=["status", "queue", "-id"], name="job_status_queue_id"),
        ),
        IfMissingAddIndex(
            model_name="job",
            index=models.Index(fields=["created_at"], name="job_created_at"),
        ),
        IfMissingAddIndex(
            model_name="job",
            index=models.Index(fields=["finished_at"], name="job_finished_at"),
        ),
        IfMissingAddIndex(
            model_name="job",
            index=models.Index(fields=["-id"], condition=~models.Q(error=""), name="job_error_id"),
        ),
        IfMissingAddIndex(
            model_name="job",
            index=models.Index(
                fields=["scheduled_at", "id"],
                condition=models.Q(status__in=["scheduled", "retrying"]),
                name="job_waiting_due",
            ),
        ),
        migrations.RunPython(gin_forward, gin_backward, elidable=False),
    ]
