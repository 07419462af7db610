"""The /v1 endpoints: validate, call one service or selector, serialize. Nothing else."""

from __future__ import annotations

import functools
from typing import cast

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from jobs import audit, selectors, services
from jobs.api import serializers as s
from jobs.api.auth import ADMIN, READ, SUBMIT
from jobs.api.base import ApiView, json_response, query_params, validated
from jobs.api.docs import BODY_ERRORS, responses
from jobs.api.errors import domain_error
from jobs.models import ApiKey
from jobs.services import BatchItemResult

JOB_ID = OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
_ANY_ID = "00000000-0000-0000-0000-000000000000"


@functools.cache
def _job_url_template() -> str:
    return reverse("api_v1:job", kwargs={"job_id": _ANY_ID})


def _job_url(job_id: str) -> str:
    """The job's URL (reverse() once, not per request: a tenth of a submit's cost)."""
    return _job_url_template().replace(_ANY_ID, job_id)


def _audit(request: Request, action: str, count: int, target: str) -> None:
    """An admin action over /v1 in the audit log, under the key's name."""
    key = cast(ApiKey, request.auth)  # HasScope admits a request only with an ApiKey
    audit.record(actor=audit.key_actor(key), via="api", action=action, count=count, target=target)


class JobsView(ApiView):
    scopes = {"GET": READ, "POST": SUBMIT}

    @extend_schema(
        operation_id="submit_job",
        tags=["jobs"],
        request=s.JobSubmitIn,
        responses=responses({201: s.JobSubmitOut, 200: s.JobSubmitOut}, 403, 409, *BODY_ERRORS),
        description="201 with a new job's id; 200 with the first job's id on a dedupe hit; "
        "409 when the dedupe_key belongs to a job with another type or payload.",
    )
    def post(self, request: Request) -> HttpResponse:
        data = s.plain_job(request.data) or validated(s.JobSubmitIn, request.data).validated_data
        result = services.submit_job(s.job_request(data))
        return json_response(
            {"job_id": result.job_id, "created": result.created},  # as s.JobSubmitOut
            status=201 if result.created else 200,
            headers={"Location": _job_url(result.job_id)},
        )

    @extend_schema(
        operation_id="list_jobs",
        tags=["jobs"],
        parameters=[s.JobListQuery],
        responses=responses({200: s.JobListOut}, 400),
    )
    def get(self, request: Request) -> Response:
        query = validated(s.JobListQuery, query_params(request))
        page = selectors.list_jobs(**query.validated_data)
        return Response(s.JobListOut(page).data)


class JobBatchView(ApiView):
    scopes = {"POST": SUBMIT}

    @extend_schema(
        operation_id="submit_jobs_batch",
        tags=["jobs"],
        request=s.JobBatchIn,
        responses=responses({200: s.JobBatchOut}, 403, *BODY_ERRORS),
        description="One result per job, in order. A batch that breaks this schema is "
        "refused whole (400 naming e.g. jobs[3].type); a job the service refuses (payload "
        "rules, dedupe conflict) fails alone with its own status and error. Stored in one "
        "transaction and sent to Redis in one round trip.",
    )
    def post(self, request: Request) -> HttpResponse:
        jobs = validated(s.JobBatchIn, request.data).validated_data["jobs"]
        results = services.submit_batch([s.job_request(job) for job in jobs])
        # Built directly in s.JobBatchOut's shape: its serializer doubled the reply's cost.
        return json_response({"results": [_batch_result(r) for r in results]})


def _batch_result(result: BatchItemResult) -> dict:
    if result.error is not None:
        status, body = domain_error(result.error)
        return {"job_id": None, "created": False, "status": status, "error": body["error"]}
    return {
        "job_id": result.job_id,
        "created": result.created,
        "status": 201 if result.created else 200,
        "error": None,
    }


class JobDetailView(ApiView):
    scopes = {"GET": READ}

    @extend_schema(
        operation_id="get_job",
        tags=["jobs"],
        parameters=[JOB_ID],
        responses=responses({200: s.JobOut}, 404),
    )
    def get(self, request: Request, job_id: str) -> Response:
        return Response(s.JobOut(selectors.get_job(job_id=job_id)).data)


class JobCancelView(ApiView):
    scopes = {"POST": ADMIN}

    @extend_schema(
        operation_id="cancel_job",
        tags=["admin"],
        parameters=[JOB_ID],
        request=None,
        responses=responses({200: s.JobOut}, 403, 404, 409, 413),
    )
    def post(self, request: Request, job_id: str) -> Response:
        job = services.cancel_job(job_id=job_id)
        _audit(request, "job.cancel", 1, job_id)
        return Response(s.JobOut(job).data)


class JobRetryView(ApiView):
    scopes = {"POST": ADMIN}

    @extend_schema(
        operation_id="retry_job",
        tags=["admin"],
        parameters=[JOB_ID],
        request=None,
        responses=responses({200: s.JobOut}, 403, 404, 409, 413),
        description="Queue a dead, retrying or scheduled job now (a dead job gets a fresh "
        "attempt budget).",
    )
    def post(self, request: Request, job_id: str) -> Response:
        job = services.retry_job(job_id=job_id)
        _audit(request, "job.retry", 1, job_id)
        return Response(s.JobOut(job).data)


class QueueMetricsView(ApiView):
    scopes = {"GET": READ}

    @extend_schema(
        operation_id="queue_metrics", tags=["queues"], responses=responses({200: s.QueueMetricsOut})
    )
    def get(self, request: Request) -> Response:
        return Response(s.QueueMetricsOut(selectors.queue_stats()).data)


class ReplayDlqView(ApiView):
    scopes = {"POST": ADMIN}

    @extend_schema(
        operation_id="replay_dlq",
        tags=["admin"],
        parameters=[s.ReplayQuery],
        request=None,
        responses=responses({200: s.ReplayOut}, 400, 403, 413),
    )
    def post(self, request: Request) -> HttpResponse:
        query = validated(s.ReplayQuery, query_params(request))
        replayed = services.replay_dlq(limit=query.validated_data["limit"])
        _audit(request, "dlq.replay", replayed, "the DLQ, oldest first")
        return Response(s.ReplayOut({"replayed": replayed}).data)


class WorkersView(ApiView):
    scopes = {"GET": READ}

    @extend_schema(
        operation_id="list_workers", tags=["queues"], responses=responses({200: s.WorkersOut})
    )
    def get(self, request: Request) -> Response:
        workers = [s.worker_from_heartbeat(info) for info in selectors.list_workers()]
        return Response(s.WorkersOut({"workers": workers}).data)
