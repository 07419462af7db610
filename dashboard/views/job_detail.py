"""Job detail: payload, result, timestamps and every attempt, grouped by run.

The fragment polls while the job can still change and answers 286 (stop polling) once a
poll finds it terminal.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseStopPolling

from dashboard.access import staff_required
from dashboard.responses import error_page, render_page
from jobs import selectors
from jobs.errors import JobNotFound
from jobs.models import Job
from jobs.states import JobStatus

# Past this many characters a JSON block is cut, with a link to the whole of it.
PREVIEW_CHARS = 10 * 1024
RETRYABLE = {JobStatus.DEAD, JobStatus.RETRYING, JobStatus.SCHEDULED}
# cancel_job accepts any job that has not succeeded or been cancelled (dead included).
CANCELLABLE = set(JobStatus) - {JobStatus.SUCCEEDED, JobStatus.CANCELLED}


@staff_required
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    try:
        job = selectors.get_job(job_id=job_id)
    except JobNotFound:
        return error_page(request, 404, "There is no job with this id.")
    return render_detail(request, job)


def render_detail(
    request: HttpRequest, job: Job, notice: tuple[str, str] | None = None
) -> HttpResponse:
    show_all = request.GET.get("full") == "1"
    context = {
        "job": job,
        "runs": selectors.attempt_timeline(job),
        "payload": json_block(job.payload, show_all),
        "result": json_block(job.result, show_all) if job.result is not None else None,
        "can_retry": job.status in RETRYABLE,
        "can_cancel": job.status in CANCELLABLE,
        "notice": notice,
        "redis_down": not selectors.broker_available(),
    }
    # Only a poll (a GET) stops polling; an action's answer keeps the fragment live.
    stop = request.htmx and request.method == "GET" and job.is_terminal  # type: ignore[attr-defined]
    response_class = HttpResponseStopPolling if stop else HttpResponse
    return render_page(
        request,
        "dashboard/job_detail.html",
        "dashboard/_job_detail.html",
        context,
        response_class=response_class,
    )


def json_block(value: object, show_all: bool) -> dict:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    truncated = not show_all and len(text) > PREVIEW_CHARS
    return {
        "text": text[:PREVIEW_CHARS] if truncated else text,
        "truncated": truncated,
        "chars": len(text),
    }
