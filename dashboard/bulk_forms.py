"""What a bulk action acts on, read from the query string or the form: the jobs page's
filter, a dead-letter group, or the waiting jobs; all of it or the selected rows.

Every bad value is an InvalidInput naming its field (a 400 page), as in filters.py.
"""

from __future__ import annotations

import uuid

from django.http import QueryDict

from dashboard.filters import FILTER_FIELDS, job_search, text_value
from jobs.bulk_actions import MAX_SELECTION, Target
from jobs.errors import InvalidInput
from jobs.ids import parse_job_id
from jobs.selectors import JobSearch
from jobs.states import JobStatus

SCOPES = ("selected", "all")
# The query-string fields each page's bulk form carries besides action, scope and ids.
JOBS_FIELDS = FILTER_FIELDS
DEAD_FIELDS = ("type", "error_class")


def jobs_target(params: QueryDict) -> Target:
    return Target(search=job_search(params), job_ids=selection(params))


def dead_target(params: QueryDict) -> Target:
    search = JobSearch(status=JobStatus.DEAD, type=text_value(params, "type"))
    return Target(
        search=search, job_ids=selection(params), error_class=text_value(params, "error_class")
    )


def waiting_target(params: QueryDict) -> Target:
    # run_now's own statuses (scheduled, retrying) narrow it; no filter of its own.
    return Target(job_ids=selection(params))


def selection(params: QueryDict) -> tuple[uuid.UUID, ...] | None:
    """The selected ids for scope=selected, None for scope=all (everything matched)."""
    scope = params.get("scope", "")
    if scope not in SCOPES:
        raise InvalidInput("choose the selected jobs or all matching jobs", field="scope")
    if scope == "all":
        return None
    raw = params.getlist("ids")
    if not raw:
        raise InvalidInput("select at least one job", field="ids")
    if len(raw) > MAX_SELECTION:
        raise InvalidInput(f"at most {MAX_SELECTION} selected jobs", field="ids")
    ids = [parse_job_id(value) for value in raw]
    if any(i is None for i in ids):
        raise InvalidInput("not a job id (a UUID)", field="ids")
    return tuple(dict.fromkeys(i for i in ids if i is not None))


def expected_count(params: QueryDict) -> int:
    """The count the preview showed, which the run may not exceed."""
    try:
        count = int(params.get("expected", ""))
    except ValueError:
        count = 0
    if count < 1:
        raise InvalidInput("a positive number of jobs, as the preview showed", field="expected")
    return count


def carried(params: QueryDict, fields: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (name, value) pairs the confirmation form sends back, non-empty only."""
    names = (*fields, "action", "scope", "ids")
    return [(n, v) for n in names for v in params.getlist(n) if v]
