"""Keyset pages, newest first by id: no OFFSET, so page 1,000 costs what page 1 does."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import OperationalError
from django.db.models import Model, QuerySet

from jobs.errors import StoreUnavailable

M = TypeVar("M", bound=Model)


def keyset_page(rows: QuerySet[M], *, below: Any, limit: int) -> tuple[list[M], Any]:
    """Up to `limit` of the rows (ordered by -id) whose id is below `below` (None: from
    the newest), and the id to continue below when more follow (else None)."""
    if below is not None:
        rows = rows.filter(id__lt=below)
    try:
        found = list(rows[: limit + 1])
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    if len(found) <= limit:
        return found, None
    found = found[:limit]
    return found, found[-1].pk
