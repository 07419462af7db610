"""Audit log: every admin action, newest first, filtered by actor, action, via and time,
keyset-paginated like the jobs page (the URL holds the filter)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from dashboard.access import staff_required
from dashboard.filters import moment_value, query_without_cursor, text_value
from dashboard.responses import error_page, render_page
from jobs import audit
from jobs.errors import InvalidInput
from jobs.models import AuditVia

PAGE_SIZE = 50
FIELDS = ("actor", "action", "via", "since", "until")


@staff_required
def audit_log(request: HttpRequest) -> HttpResponse:
    try:
        search = _search(request)
        page = audit.list_entries(
            search=search, cursor=request.GET.get("cursor") or None, limit=PAGE_SIZE
        )
    except InvalidInput as exc:
        return error_page(request, 400, f"Bad filter value for {exc.field}: {exc.message}.")
    context = {
        "page": page,
        "filters": {name: request.GET.get(name, "") for name in FIELDS},
        "actions": audit.ACTIONS,
        "vias": AuditVia.values,
        "filter_query": query_without_cursor(request.GET),
    }
    return render_page(request, "dashboard/audit_log.html", "dashboard/_audit_table.html", context)


def _search(request: HttpRequest) -> audit.AuditSearch:
    params = request.GET
    since, until = moment_value(params, "since"), moment_value(params, "until")
    if since and until and since >= until:
        raise InvalidInput("until must be later than since", field="until")
    return audit.AuditSearch(
        actor=text_value(params, "actor"),
        action=text_value(params, "action"),
        via=text_value(params, "via"),
        since=since,
        until=until,
    )
