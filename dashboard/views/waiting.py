"""Scheduled and retrying: what waits for a later time, soonest due first, from the
database (so it shows while Redis is down), keyset-paginated by due time; run one now, or
all of them after a preview."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from dashboard.access import staff_required
from dashboard.responses import error_page, render_page
from jobs import selectors
from jobs.errors import InvalidInput

SHOWN = 100


@staff_required
def waiting(request: HttpRequest) -> HttpResponse:
    try:
        waiting = selectors.waiting_jobs(limit=SHOWN, cursor=request.GET.get("cursor") or None)
    except InvalidInput as exc:
        return error_page(request, 400, f"Bad value for {exc.field}: {exc.message}.")
    context = {
        "waiting": waiting,
        "redis_down": not selectors.broker_available(),
    }
    return render_page(
        request, "dashboard/scheduled.html", "dashboard/_scheduled_table.html", context
    )
