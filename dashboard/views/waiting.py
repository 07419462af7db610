"""Scheduled and retrying: what waits for a later time, soonest due first, from the
database (so it shows while Redis is down); run one now, or all of them after a preview."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from dashboard.access import staff_required
from dashboard.responses import render_page
from jobs import selectors

SHOWN = 100


@staff_required
def waiting(request: HttpRequest) -> HttpResponse:
    context = {
        "waiting": selectors.waiting_jobs(limit=SHOWN),
        "redis_down": not selectors.broker_available(),
    }
    return render_page(
        request, "dashboard/scheduled.html", "dashboard/_scheduled_table.html", context
    )
