"""Jobs: every job, filtered by the query string, newest first, keyset-paginated."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from dashboard.access import staff_required
from dashboard.filters import FILTER_FIELDS, cursor_of, job_search, query_without_cursor
from dashboard.responses import error_page, render_page
from jobs import conf, selectors
from jobs.errors import InvalidInput
from jobs.states import JobStatus

PAGE_SIZE = 50
COUNT_CAP = 1000


@staff_required
def job_list(request: HttpRequest) -> HttpResponse:
    try:
        search = job_search(request.GET)
        page = selectors.search_jobs(
            search=search, cursor=cursor_of(request.GET), limit=PAGE_SIZE, count_cap=COUNT_CAP
        )
    except InvalidInput as exc:
        return error_page(request, 400, f"Bad filter value for {exc.field}: {exc.message}.")
    context = {
        "page": page,
        "filters": {name: request.GET.get(name, "") for name in FILTER_FIELDS},
        "statuses": JobStatus.values,
        "queues": conf.QUEUES,
        "filter_query": query_without_cursor(request.GET),
        "redis_down": not selectors.broker_available(),
    }
    return render_page(request, "dashboard/jobs.html", "dashboard/_jobs_table.html", context)
