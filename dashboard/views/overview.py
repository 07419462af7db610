"""Overview: the database's counts and chart always; the broker's numbers when Redis
answers, "unavailable" and the banner when it does not."""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

from dashboard.access import staff_required
from dashboard.chart import minute_columns
from dashboard.responses import render_page
from jobs import conf, selectors
from jobs.errors import StoreUnavailable


@staff_required
def overview(request: HttpRequest) -> HttpResponse:
    outcomes = selectors.outcomes_per_minute(minutes=60)
    context = {
        "counts": selectors.job_counts(),
        "outcomes": outcomes,
        "chart": minute_columns(outcomes),
        "queues": conf.QUEUES,
        **_broker_view(),
    }
    return render_page(
        request, "dashboard/overview.html", "dashboard/_overview_stats.html", context
    )


def _broker_view() -> dict:
    # Workers are asked only when the queue stats answered: with Redis down a second
    # round of connection retries would only delay the page.
    try:
        stats = selectors.queue_stats()
        workers = selectors.list_workers()
    except StoreUnavailable:
        return {"redis_down": True, "stats": None, "workers": None}
    return {"redis_down": False, "stats": stats, "workers": [_worker(w) for w in workers]}


def _worker(info: dict) -> dict:
    """Heartbeat and start times (milliseconds in the broker) as datetimes to show."""
    return {
        **info,
        "last_heartbeat": _moment(info.get("last_heartbeat_ms")),
        "started": _moment(info.get("started_ms")),
    }


def _moment(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None
