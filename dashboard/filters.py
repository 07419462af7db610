"""The jobs page's filter, read from the query string (the URL holds the filter).

Every bad value is an InvalidInput naming its field, which the view answers with a 400
page; an empty field means "any", as a GET form sends every field.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.http import QueryDict

from jobs.errors import InvalidInput
from jobs.ids import parse_job_id
from jobs.selectors import JobSearch

# Field lengths the job table can hold; a longer value can match nothing, so it is a
# mistake worth saying (and error text is searched with LIKE, so it stays short).
MAX_LENGTHS = {"type": 128, "dedupe_key": 255, "error": 200}
FILTER_FIELDS = (
    "status",
    "type",
    "queue",
    "id",
    "dedupe_key",
    "created_from",
    "created_to",
    "error",
)


def job_search(params: QueryDict) -> JobSearch:
    values = {name: _text(params, name) for name in FILTER_FIELDS}
    created_from = _moment(values["created_from"], "created_from")
    created_to = _moment(values["created_to"], "created_to")
    if created_from and created_to and created_from >= created_to:
        raise InvalidInput("created_to must be later than created_from", field="created_to")
    return JobSearch(
        status=values["status"],
        type=values["type"],
        queue=values["queue"],
        job_id=_job_id(values["id"]),
        dedupe_key=values["dedupe_key"],
        created_from=created_from,
        created_to=created_to,
        error_contains=values["error"],
    )


def cursor_of(params: QueryDict) -> str | None:
    return params.get("cursor") or None


def _text(params: QueryDict, name: str) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if not value.isprintable():
        raise InvalidInput("must be printable text", field=name)
    limit = MAX_LENGTHS.get(name)
    if limit and len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=name)
    return value


def _job_id(value: str | None):
    if value is None:
        return None
    parsed = parse_job_id(value)
    if parsed is None:
        raise InvalidInput("not a job id (a UUID)", field="id")
    return parsed


def _moment(value: str | None, field: str) -> datetime | None:
    """An ISO date-time as <input type=datetime-local> sends it; without an offset, UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("not a date-time (YYYY-MM-DDTHH:MM, UTC)", field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
