"""Workers: each worker's heartbeat (host, pid, start, concurrency, busy slots, the jobs
it runs), stale ones flagged. The heartbeats live in Redis only: with Redis down the page
says so instead of showing an empty list."""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

from dashboard.access import staff_required
from dashboard.responses import render_page
from jobs import selectors
from jobs.errors import StoreUnavailable


@staff_required
def workers(request: HttpRequest) -> HttpResponse:
    try:
        rows = [_worker(w) for w in selectors.worker_rows()]
    except StoreUnavailable:
        rows = None
    context = {"workers": rows, "redis_down": rows is None}
    return render_page(request, "dashboard/workers.html", "dashboard/_workers_table.html", context)


def _worker(info: dict) -> dict:
    current = [
        {**job, "started": _moment(job.get("started_ms"))} for job in info.get("current_jobs", [])
    ]
    return {
        **info,
        "current_jobs": current,
        "busy": info.get("busy", len(current)),
        "last_heartbeat": _moment(info.get("last_heartbeat_ms")),
        "started": _moment(info.get("started_ms")),
    }


def _moment(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None
