"""Dead letters: why jobs died (by type and error class), the latest of them, and replay:
one job (services.retry_job, through the job action) or the whole DLQ after a preview
(services.replay_dlq)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from dashboard.access import operator_required, staff_required
from dashboard.responses import error_page
from jobs import audit, selectors, services
from jobs.errors import QueueyError, StoreUnavailable
from jobs.models import AuditVia
from jobs.selectors import JobSearch

RECENT = 20
# services.replay_dlq's own bound on one call.
MAX_REPLAY = 10_000


@staff_required
def dead_letters(request: HttpRequest) -> HttpResponse:
    groups = selectors.dead_letter_groups(limit=100)
    dead_total, dead_capped = selectors.dead_job_count()
    context = {
        "groups": groups,
        "dead_total": dead_total,
        "dead_capped": dead_capped,
        # The groups cover only the newest DEAD_SAMPLE dead jobs: say so when that is
        # not all of them.
        "sample": selectors.DEAD_SAMPLE,
        "sampled": dead_capped or dead_total > selectors.DEAD_SAMPLE,
        "recent": selectors.search_jobs(search=JobSearch(status="dead"), limit=RECENT).rows,
        **_dlq_size(),
    }
    return render(request, "dashboard/dead_letters.html", context)


@require_http_methods(["GET", "POST"])
@operator_required
def replay_all(request: HttpRequest) -> HttpResponse:
    """GET: the preview (how many would move). POST: move at most the previewed number."""
    if request.method != "POST":
        return render(request, "dashboard/replay_preview.html", _dlq_size())
    try:
        count = int(request.POST.get("count", ""))
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_REPLAY:
        return error_page(request, 400, f"Bad value for count: from 1 to {MAX_REPLAY}.")
    try:
        moved = services.replay_dlq(limit=count)
        audit.record(
            actor=audit.user_actor(request.user),
            via=AuditVia.DASHBOARD,
            action="dlq.replay",
            count=moved,
            target="the DLQ, oldest first",
            params={"limit": count},
        )
        messages.success(request, f"Replayed {moved:,} dead job{'s' if moved != 1 else ''}.")
    except QueueyError as exc:
        messages.error(request, f"Could not replay: {exc.message}.")
    return redirect("dashboard:dead_letters")


def _dlq_size() -> dict:
    # What a replay moves is what the broker's DLQ holds, so the preview counts there.
    try:
        dlq = selectors.queue_stats()["dlq"]
    except StoreUnavailable:
        return {"redis_down": True, "dlq": None, "replay_count": 0, "max_replay": MAX_REPLAY}
    return {
        "redis_down": False,
        "dlq": dlq,
        "replay_count": min(dlq, MAX_REPLAY),
        "max_replay": MAX_REPLAY,
    }
