"""Queues: per queue, what waits (Redis), what runs and waits for later (the database),
the oldest waiting job's age, and attempts finished in the last minute and hour."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from dashboard.access import staff_required
from dashboard.responses import render_page
from jobs import conf, selectors
from jobs.errors import StoreUnavailable
from jobs.states import JobStatus


@staff_required
def queues(request: HttpRequest) -> HttpResponse:
    by_queue = selectors.job_counts()["by_queue"]
    throughput = selectors.throughput_by_queue()
    stats = _broker_stats()
    rows = [_row(q, by_queue.get(q, {}), throughput[q], stats) for q in conf.QUEUES]
    context = {"rows": rows, "redis_down": stats is None}
    return render_page(request, "dashboard/queues.html", "dashboard/_queues_table.html", context)


def _broker_stats() -> dict | None:
    try:
        return selectors.queue_stats()
    except StoreUnavailable:
        return None


def _row(queue: str, counts: dict, throughput: dict, stats: dict | None) -> dict:
    return {
        "name": queue,
        "depth": stats[queue] if stats else None,
        "oldest_age_seconds": stats["oldest_age_seconds"].get(queue) if stats else None,
        "running": counts.get(JobStatus.RUNNING, 0),
        "scheduled": counts.get(JobStatus.SCHEDULED, 0) + counts.get(JobStatus.RETRYING, 0),
        "per_minute": throughput["minute"],
        "per_hour": throughput["hour"],
    }
