"""The jobs page's filter, read from the query string (the URL holds the filter).

Every bad value is an InvalidInput naming its field, which the view answers with a 400
page; an empty field means "any", as a GET form sends every field.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime

from django.http import QueryDict

from jobs.errors import InvalidInput
from jobs.ids import parse_job_id
from jobs.selectors import JobSearch

# Field lengths the job table can hold; a longer value can match nothing, so it is a
# mistake worth saying (and error text is searched with LIKE, so it stays short).
MAX_LENGTHS = {
    "type": 128,
    "dedupe_key": 255,
    "error": 200,
    "payload_key": 100,
    "error_class": 120,
    "actor": 150,
    "action": 64,
}
MAX_VALUE_CHARS = 1000
FILTER_FIELDS = (
    "status",
    "type",
    "queue",
    "id",
    "dedupe_key",
    "created_from",
    "created_to",
    "finished_from",
    "finished_to",
    "error",
    "payload_key",
    "payload_value",
)


def job_search(params: QueryDict) -> JobSearch:
    values = {name: _text(params, name) for name in FILTER_FIELDS}
    created = _range(values, "created")
    finished = _range(values, "finished")
    payload_key, payload_value = _payload_match(values)
    return JobSearch(
        status=values["status"],
        type=values["type"],
        queue=values["queue"],
        job_id=_job_id(values["id"]),
        dedupe_key=values["dedupe_key"],
        created_from=created[0],
        created_to=created[1],
        finished_from=finished[0],
        finished_to=finished[1],
        error_contains=values["error"],
        payload_key=payload_key,
        payload_value=payload_value,
    )


def cursor_of(params: QueryDict) -> str | None:
    return params.get("cursor") or None


def text_value(params: QueryDict, name: str) -> str | None:
    """One printable text field, None when empty (for the other pages' filters)."""
    return _text(params, name)


def _text(params: QueryDict, name: str) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    if not value.isprintable():
        raise InvalidInput("must be printable text", field=name)
    limit = MAX_LENGTHS.get(name, MAX_VALUE_CHARS)
    if len(value) > limit:
        raise InvalidInput(f"at most {limit} characters", field=name)
    return value


def moment_value(params: QueryDict, name: str) -> datetime | None:
    """One date-time field as <input type=datetime-local> sends it (UTC), None if empty."""
    return _moment(_text(params, name), name)


def _job_id(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    parsed = parse_job_id(value)
    if parsed is None:
        raise InvalidInput("not a job id (a UUID)", field="id")
    return parsed


def _range(values: dict, name: str) -> tuple[datetime | None, datetime | None]:
    start = _moment(values[f"{name}_from"], f"{name}_from")
    end = _moment(values[f"{name}_to"], f"{name}_to")
    if start and end and start >= end:
        raise InvalidInput(f"{name}_to must be later than {name}_from", field=f"{name}_to")
    return start, end


def _moment(value: str | None, field: str) -> datetime | None:
    """An ISO date-time as <input type=datetime-local> sends it; without an offset, UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("not a date-time (YYYY-MM-DDTHH:MM, UTC)", field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _payload_match(values: dict) -> tuple[str | None, object]:
    """payload_key = payload_value: the value is read as JSON when it is a JSON scalar
    (42, true, null, "quoted text"), as plain text otherwise."""
    key, raw = values["payload_key"], values["payload_value"]
    if key is None and raw is None:
        return None, None
    if key is None:
        raise InvalidInput("give the payload key the value is for", field="payload_key")
    if raw is None:
        raise InvalidInput("give the value the payload key must equal", field="payload_value")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return key, raw
    if isinstance(value, dict | list):
        raise InvalidInput("a single value, not an object or a list", field="payload_value")
    # What PostgreSQL's jsonb cannot hold (NaN, 1e400, "\u0000", lone surrogates) would
    # be a database error there; say so here on every backend.
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput("not a finite number", field="payload_value")
    if isinstance(value, str) and not value.isprintable():
        raise InvalidInput("must be printable text", field="payload_value")
    return key, value


def query_without_cursor(params: QueryDict) -> str:
    """The filter as a query string (empty fields and the cursor dropped), for the
    next-page and first-page links of a keyset-paged list."""
    kept = params.copy()
    kept.pop("cursor", None)
    for name in [k for k, v in kept.items() if not v]:
        kept.pop(name)
    return kept.urlencode()
