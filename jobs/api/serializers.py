"""Input and output serializers, one pair per endpoint.

Inputs check shape and type (and document bounds for the schema); the service checks the
meaning (known type, storable payload, printable dedupe key) and stays the authority.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import TYPE_CHECKING, Any, Protocol, cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from jobs import conf, selectors
from jobs.api.fields import (
    AwareDateTimeField,
    JobTypeField,
    JSONObjectField,
    StrictCharField,
    StrictIntegerField,
    StrictNumberField,
)
from jobs.handlers.registry import get_handler
from jobs.models import Attempt, Job
from jobs.selectors import MAX_PAGE
from jobs.states import JobStatus
from jobs.submission import (
    MAX_ATTEMPTS_BOUND,
    MAX_DEDUPE_KEY_LENGTH,
    MAX_DELAY_SECONDS,
    MAX_TIMEOUT_SECONDS,
    JobRequest,
)
from jobs.timeutil import from_ms

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

_QUEUE_ERRORS: dict[str, StrOrPromise] = {
    "invalid_choice": f"unknown queue; valid queues: {', '.join(conf.QUEUES)}"
}
_STATUS_ERRORS: dict[str, StrOrPromise] = {
    "invalid_choice": f"unknown status; valid: {', '.join(JobStatus.values)}"
}


TYPE_MAX_LENGTH = 128


def _optional(**kwargs: Any) -> dict[str, Any]:
    return {"required": False, "allow_null": True, **kwargs}


class _Constructed(Protocol):
    """What Field.__new__ keeps of a field's constructor call (not in the DRF stubs)."""

    _args: tuple[Any, ...]
    _kwargs: dict[str, Any]


def _fresh(field: serializers.Field) -> serializers.Field:
    ctor = cast(_Constructed, field)
    if any(isinstance(v, serializers.Field) for v in ctor._kwargs.values()):
        return copy.deepcopy(field)
    return field.__class__(*ctor._args, **ctor._kwargs)


class StrictInput(serializers.Serializer):
    """Refuses fields and query parameters it does not know: a typo ("max_attempt",
    "?stauts=dead") must not pass silently."""

    def get_fields(self) -> dict[str, serializers.Field]:
        """Fresh fields from their constructor arguments. DRF deep-copies every declared
        field, arguments included, for every serializer instance: a fifth of a submit
        request's time. Arguments are never mutated by these fields, so sharing them is
        safe; a field holding another field (a list's child) is still deep-copied."""
        return {name: _fresh(field) for name, field in self._declared_fields.items()}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(k) for k in set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({unknown[0][:100]: ["unknown field"]})
        return super().to_internal_value(data)


# --- POST /v1/jobs, POST /v1/jobs/batch ------------------------------------------------
class JobSubmitIn(StrictInput):
    """One job to submit."""

    type = JobTypeField(max_length=TYPE_MAX_LENGTH, help_text="A registered job type.")
    payload = JSONObjectField(help_text="The handler's input: a JSON object.")
    queue = serializers.ChoiceField(
        choices=conf.QUEUES,
        error_messages=_QUEUE_ERRORS,
        help_text="Priority queue; the job type's default when left out.",
        **_optional(),
    )
    max_attempts = StrictIntegerField(min_value=1, max_value=MAX_ATTEMPTS_BOUND, **_optional())
    timeout_seconds = StrictNumberField(min_value=0.1, max_value=MAX_TIMEOUT_SECONDS, **_optional())
    run_at = AwareDateTimeField(
        help_text="Run at (ISO 8601 with offset); or delay_seconds.", **_optional()
    )
    delay_seconds = StrictNumberField(min_value=0, max_value=MAX_DELAY_SECONDS, **_optional())
    dedupe_key = StrictCharField(
        min_length=1,
        max_length=MAX_DEDUPE_KEY_LENGTH,
        **_optional(),
        help_text="Idempotency key: a resubmit within the window returns the first job.",
    )


def job_request(data: dict) -> JobRequest:
    return JobRequest(**{f.name: data.get(f.name) for f in dataclasses.fields(JobRequest)})


def plain_job(data: Any) -> dict | None:
    """The common shape, {"type": <registered type>, "payload": {...}} and nothing else,
    validated inline: exactly what JobSubmitIn would return for it, for a fraction of the
    cost (DRF runs eight fields per job; a 100-job batch spent a quarter of its time
    here). Anything else returns None and goes through the serializer."""
    if type(data) is not dict or len(data) != 2:
        return None
    kind, payload = data.get("type"), data.get("payload")
    if (
        type(kind) is not str
        or not 0 < len(kind) <= TYPE_MAX_LENGTH
        or type(payload) is not dict
        or get_handler(kind) is None
    ):
        return None
    return {"type": kind, "payload": payload}


class JobListField(serializers.ListField):
    def run_child_validation(self, data: list) -> list:
        plain = [plain_job(item) for item in data]
        if all(item is not None for item in plain):
            return plain
        return super().run_child_validation(data)


class JobSubmitOut(serializers.Serializer):
    job_id = serializers.UUIDField()
    created = serializers.BooleanField(help_text="false on a dedupe hit (status 200)")


class JobBatchIn(StrictInput):
    """A batch that breaks the schema (a missing field, a wrong type, an unknown job type)
    is refused whole, naming the item (jobs[3].type); items the service refuses (payload
    rules, dedupe conflicts) fail alone, in the item's result."""

    jobs = JobListField(
        child=JobSubmitIn(),
        allow_empty=False,
        help_text="1 to QUEUEY_API_BATCH_MAX (default 1000) jobs.",
    )

    def validate_jobs(self, jobs: list) -> list:
        limit = conf.get("API_BATCH_MAX")
        if len(jobs) > limit:
            raise serializers.ValidationError(f"at most {limit} jobs per batch")
        return jobs


class ErrorDetailOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    job_id = serializers.UUIDField(required=False, help_text="dedupe_conflict: the owner")


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()


class BatchItemOut(serializers.Serializer):
    job_id = serializers.UUIDField(allow_null=True)
    created = serializers.BooleanField()
    status = serializers.IntegerField(help_text="201 created, 200 dedupe hit, 4xx refused")
    error = ErrorDetailOut(allow_null=True)


class JobBatchOut(serializers.Serializer):
    results = BatchItemOut(many=True, help_text="One per submitted job, in order.")


# --- GET /v1/jobs/{id}, GET /v1/jobs ---------------------------------------------------
class AttemptOut(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["number", "run", "worker_id", "outcome", "error", "started_at", "finished_at"]


class RunOut(serializers.Serializer):
    run = serializers.IntegerField(help_text="1 is the submit; each replay or retry adds one")
    max_attempts = serializers.IntegerField(help_text="this run's attempt budget")
    attempts = serializers.ListField(
        child=serializers.IntegerField(), help_text="numbers of the attempts recorded in it"
    )


class JobSummaryOut(serializers.ModelSerializer):
    attempt_count = serializers.IntegerField(
        source="run_attempts",
        help_text="attempts started in the current run, lost ones included (at most "
        "max_attempts, plus any released by a stopping worker)",
    )
    run = serializers.IntegerField(help_text="the current run: 1, +1 per replay or retry")
    latest_attempt = serializers.IntegerField(
        source="attempts", help_text="the latest attempt's number; numbers run on across runs"
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "type",
            "queue",
            "status",
            "error",
            "attempt_count",
            "max_attempts",
            "run",
            "latest_attempt",
            "dedupe_key",
            "created_at",
            "scheduled_at",
            "started_at",
            "finished_at",
        ]


class JobOut(JobSummaryOut):
    attempts = AttemptOut(source="attempt_records", many=True)
    runs = serializers.SerializerMethodField()

    @extend_schema_field(RunOut(many=True))
    def get_runs(self, job: Job) -> list[dict]:
        return selectors.runs_of(job)

    class Meta(JobSummaryOut.Meta):
        fields = [
            *JobSummaryOut.Meta.fields,
            "payload",
            "result",
            "timeout_seconds",
            "updated_at",
            "attempts",
            "runs",
        ]


class JobListQuery(StrictInput):
    status = serializers.ChoiceField(
        choices=JobStatus.choices, required=False, error_messages=_STATUS_ERRORS
    )
    type = StrictCharField(max_length=128, required=False)
    queue = serializers.ChoiceField(
        choices=conf.QUEUES, required=False, error_messages=_QUEUE_ERRORS
    )
    dedupe_key = StrictCharField(max_length=MAX_DEDUPE_KEY_LENGTH, required=False)
    cursor = StrictCharField(
        max_length=64, required=False, help_text="next_cursor of the previous page"
    )
    limit = serializers.IntegerField(min_value=1, max_value=MAX_PAGE, default=50)


class JobListOut(serializers.Serializer):
    jobs = JobSummaryOut(many=True, help_text="Newest first.")
    next_cursor = serializers.CharField(allow_null=True)


# --- queues, workers, DLQ --------------------------------------------------------------
class QueueAgesOut(serializers.Serializer):
    high = serializers.FloatField(allow_null=True)
    default = serializers.FloatField(allow_null=True)
    low = serializers.FloatField(allow_null=True)


class QueueMetricsOut(serializers.Serializer):
    high = serializers.IntegerField()
    default = serializers.IntegerField()
    low = serializers.IntegerField()
    scheduled = serializers.IntegerField()
    running = serializers.IntegerField(help_text="leased by a worker")
    dlq = serializers.IntegerField()
    oldest_age_seconds = QueueAgesOut(help_text="Age of each queue's oldest waiting job.")


class ReplayQuery(StrictInput):
    limit = serializers.IntegerField(min_value=1, max_value=10_000, default=100)


class ReplayOut(serializers.Serializer):
    replayed = serializers.IntegerField()


class WorkerJobOut(serializers.Serializer):
    job_id = serializers.CharField()
    type = serializers.CharField()
    attempt = serializers.IntegerField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)


class WorkerOut(serializers.Serializer):
    id = serializers.CharField()
    host = serializers.CharField(allow_null=True)
    pid = serializers.IntegerField(allow_null=True)
    queues = serializers.ListField(child=serializers.CharField())
    concurrency = serializers.IntegerField(allow_null=True)
    busy = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    last_heartbeat_at = serializers.DateTimeField()
    current_jobs = WorkerJobOut(many=True)


class WorkersOut(serializers.Serializer):
    workers = WorkerOut(many=True)


def worker_from_heartbeat(info: dict) -> dict:
    """A worker's heartbeat record (millisecond clocks) in the API's terms."""
    jobs = info.get("current_jobs") or []
    return {
        "id": info["id"],
        "host": info.get("host"),
        "pid": info.get("pid"),
        "queues": info.get("queues") or [],
        "concurrency": info.get("concurrency"),
        "busy": info.get("busy", len(jobs)),
        "started_at": from_ms(info.get("started_ms")),
        "last_heartbeat_at": from_ms(info["last_heartbeat_ms"]),
        "current_jobs": [
            {
                "job_id": j.get("id"),
                "type": j.get("type"),
                "attempt": j.get("attempt"),
                "started_at": from_ms(j.get("started_ms")),
            }
            for j in jobs
        ],
    }
