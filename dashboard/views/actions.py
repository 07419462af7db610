"""Operator actions on one job, through jobs.services only.

A plain form POST answers with a redirect to the job (its message in the session); an
htmx POST with the job's fragment and the message in it. A refused action (a job that
cannot be retried, Redis down) is a message, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dashboard.access import operator_required
from dashboard.responses import error_page
from dashboard.views.job_detail import render_detail
from jobs import audit, selectors, services
from jobs.errors import JobNotFound, QueueyError
from jobs.models import AuditVia, Job

ACTIONS: dict[str, tuple[Callable[..., Job], str]] = {
    "retry": (services.retry_job, "Job queued again."),
    "cancel": (services.cancel_job, "Job cancelled."),
}


@require_POST
@operator_required
def job_action(request: HttpRequest, job_id: str, action: str) -> HttpResponse:
    if action not in ACTIONS:
        return error_page(request, 404, "There is no such action.")
    run, done = ACTIONS[action]
    try:
        run(job_id=job_id)
        notice = ("success", done)
        _audit(request, action, job_id)
    except JobNotFound:
        return error_page(request, 404, "There is no job with this id.")
    except QueueyError as exc:
        notice = ("error", f"Could not {action} the job: {exc.message}.")
    if request.htmx:  # type: ignore[attr-defined]
        return render_detail(request, selectors.get_job(job_id=job_id), notice)
    getattr(messages, notice[0])(request, notice[1])
    back = _back_to(request)
    return redirect(back) if back else redirect("dashboard:job_detail", job_id=job_id)


def _audit(request: HttpRequest, action: str, job_id: str) -> None:
    actor = audit.user_actor(request.user)
    audit.record(
        actor=actor, via=AuditVia.DASHBOARD, action=f"job.{action}", count=1, target=job_id
    )


def _back_to(request: HttpRequest) -> str | None:
    """A form may ask to come back to its page (Dead letters); only to this site."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    return target if target and safe else None
