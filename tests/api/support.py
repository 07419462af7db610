"""The one helper every bad-input test goes through."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpResponse

from jobs.broker.client import Broker
from jobs.models import Attempt, DedupeKey, Job


def written() -> tuple:
    """Everything a request could write: rows and Redis queue lengths."""
    return (
        Job.objects.count(),
        Attempt.objects.count(),
        DedupeKey.objects.count(),
        Broker().lengths(),
    )


def assert_rejected(
    call: Callable[[], HttpResponse], status: int, field: str | None, code: str | None = None
) -> dict:
    """Make the call; assert the status, the error shape naming `field`, and that nothing
    was written. Returns the error object for further checks."""
    before = written()
    response = call()
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert {"code", "message", "field"} <= set(error), error
    assert isinstance(error["message"], str) and error["message"]
    assert error["field"] == field, error
    if code is not None:
        assert error["code"] == code, error
    assert "Traceback" not in response.content.decode()
    assert written() == before
    return error
