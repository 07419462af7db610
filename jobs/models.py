"""Durable job records. The database is the record; Redis is the dispatcher."""

from __future__ import annotations

from django.db import models

from jobs.ids import new_job_id
from jobs.states import TERMINAL_STATUSES, AttemptOutcome, JobStatus


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=new_job_id, editable=False)
    type = models.CharField(max_length=128)
    queue = models.CharField(max_length=16)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    # The number of the latest attempt (lost ones included; numbers run on across runs),
    # and the attempt number after which the job is dead.
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField()
    attempt_limit = models.PositiveIntegerField()
    # A run is the submit, or a replay / manual retry, each with a fresh budget of
    # max_attempts: `run` is the current one, `run_base` the last attempt number before
    # it began (so the current run has started `attempts - run_base` attempts).
    run = models.PositiveIntegerField(default=1, db_default=1)
    run_base = models.PositiveIntegerField(default=0, db_default=0)
    timeout_seconds = models.FloatField()
    dedupe_key = models.CharField(max_length=255, null=True, blank=True)
    created_at = models.DateTimeField()
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The Redis-side transition counter this row reflects; an older outbox entry arriving
    # late never overwrites a newer state.
    version = models.PositiveBigIntegerField(default=0)
    # The submitter's W3C trace context as JSON, when tracing is on (jobs/tracing.py).
    trace_context = models.TextField(blank=True, default="", db_default="")

    class Meta:
        indexes = [
            models.Index(fields=["status", "-id"], name="job_status_id"),
            models.Index(fields=["type", "-id"], name="job_type_id"),
            models.Index(fields=["queue", "-id"], name="job_queue_id"),
            models.Index(fields=["dedupe_key"], name="job_dedupe_key"),
            # The dashboard at scale (migration 0004, benchmarks/dashboard.py): the
            # overview's capped counts per state and queue and the two filters together;
            # the created and finished time filters; the error-text filter over the jobs
            # that have one. PostgreSQL also has a GIN index on payload (jsonb_path_ops)
            # for the payload filter, made in 0004 only.
            models.Index(fields=["status", "queue", "-id"], name="job_status_queue_id"),
            models.Index(fields=["created_at"], name="job_created_at"),
            models.Index(fields=["finished_at"], name="job_finished_at"),
            models.Index(fields=["-id"], condition=~models.Q(error=""), name="job_error_id"),
            # Scheduled's soonest-due order, a range per state (migration 0006).
            models.Index(fields=["status", "scheduled_at", "id"], name="job_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def run_attempts(self) -> int:
        """Attempts started in the current run (what max_attempts budgets)."""
        return max(0, self.attempts - self.run_base)


class Attempt(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempt_records")
    number = models.PositiveIntegerField()
    run = models.PositiveIntegerField(default=1, db_default=1)
    worker_id = models.CharField(max_length=128, blank=True, default="")
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    error = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="attempt_job_number_unique"),
        ]
        # Attempts finished in a time window, by outcome (the overview's chart, Queues'
        # throughput): a range of this index, never a scan of every attempt.
        indexes = [models.Index(fields=["finished_at", "outcome"], name="attempt_finished_outcome")]
        ordering = ["job", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.job_id}: {self.outcome}"


class DedupeKey(models.Model):
    """The authority on idempotent submission, so it holds while Redis is down or empty."""

    key_hash = models.CharField(max_length=64, primary_key=True)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)


class ApiKeyScope(models.TextChoices):
    SUBMIT = "submit", "submit"
    READ = "read", "read"
    ADMIN = "admin", "admin"


class ApiKey(models.Model):
    """An API key, stored as its SHA-256 digest; the key itself is shown once."""

    name = models.CharField(max_length=100)
    key_digest = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=16, choices=ApiKeyScope.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Written when an API process loads the key from the database (at most once per
    # API_KEY_CACHE_SECONDS per process), so it is accurate to about that long.
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.scope})"


class AuditVia(models.TextChoices):
    DASHBOARD = "dashboard", "dashboard"
    API = "api", "api"
    COMMAND = "command", "command"  # a management command (createapikey, revokeapikey)


class AuditEntry(models.Model):
    """One admin action (replay, retry, cancel, delete, key created or revoked): who,
    through what, on what, how many. Append-only; listed newest first by id."""

    # A dashboard user's id and username, or (actor_user_id null) an API key's name;
    # the name is copied so the entry outlives a deleted user or key.
    actor_user_id = models.PositiveBigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150)
    via = models.CharField(max_length=16, choices=AuditVia.choices)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=255, blank=True, default="")
    count = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["action", "-id"], name="audit_action_id"),
            models.Index(fields=["actor_name", "-id"], name="audit_actor_id"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} x{self.count} via {self.via}"
