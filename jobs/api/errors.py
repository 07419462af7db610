"""One error shape for every 4xx and 5xx under /v1, built in one place.

    {"error": {"code": "invalid", "message": "...", "field": "payload.text" | null}}

Domain errors from the services, DRF's own exceptions, Django's and the stores' errors
all end here, so nothing expected becomes a 500 and no body ever carries a traceback,
SQL, a Redis key or a setting.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from jobs import conf
from jobs.api.auth import BAD_KEY_MESSAGE, HEADER
from jobs.api.parsers import RequestTooLarge
from jobs.errors import (
    DedupeConflict,
    InvalidInput,
    InvalidTransition,
    JobNotFound,
    PayloadTooLarge,
    QueueyError,
    StoreUnavailable,
)

logger = logging.getLogger("queuey.api")

_DOMAIN_STATUS: dict[type[QueueyError], int] = {
    InvalidInput: 400,
    PayloadTooLarge: 413,
    JobNotFound: 404,
    DedupeConflict: 409,
    InvalidTransition: 409,
    StoreUnavailable: 503,
}

# DRF exception -> (code, field). Checked in order: subclasses before their bases.
_DRF_ERRORS: list[tuple[type[drf.APIException], str, str | None]] = [
    (drf.NotAuthenticated, "unauthenticated", HEADER),
    (drf.AuthenticationFailed, "unauthenticated", HEADER),
    (drf.PermissionDenied, "forbidden", HEADER),
    (drf.NotFound, "not_found", None),
    (drf.MethodNotAllowed, "method_not_allowed", None),
    (drf.NotAcceptable, "not_acceptable", "accept"),
    (drf.UnsupportedMediaType, "unsupported_media_type", "content-type"),
    (drf.Throttled, "throttled", None),
    (drf.ParseError, "malformed", None),
    (RequestTooLarge, "payload_too_large", None),
]


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict:
    return {"error": {"code": code, "message": message, "field": field, **extra}}


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's EXCEPTION_HANDLER for every /v1 view (set on the base views)."""
    set_rollback()
    if isinstance(exc, QueueyError):
        return _domain_error(exc)
    if isinstance(exc, Http404):
        exc = drf.NotFound("not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    if isinstance(exc, drf.APIException):
        return _drf_error(exc)
    if isinstance(exc, OperationalError | InterfaceError | redis.RedisError):
        logger.warning("queuey.api_store_unavailable error=%s", type(exc).__name__)
        return _domain_error(StoreUnavailable("a data store is unavailable; retry shortly"))
    logger.exception("queuey.api_internal_error")
    return Response(error_body("internal_error", "internal error; it has been logged"), 500)


def domain_error(exc: QueueyError) -> tuple[int, dict]:
    """The HTTP status and error body of a service error (also used per batch item)."""
    extra = {"job_id": exc.job_id} if isinstance(exc, DedupeConflict) else {}
    body = error_body(exc.code, exc.message, exc.field, **extra)
    return _DOMAIN_STATUS.get(type(exc), 400), body


def _domain_error(exc: QueueyError) -> Response:
    status, body = domain_error(exc)
    headers = None
    if isinstance(exc, StoreUnavailable):
        headers = {"Retry-After": str(conf.get("API_RETRY_AFTER"))}
    return Response(body, status=status, headers=headers)


def _drf_error(exc: drf.APIException) -> Response:
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)  # NotAuthenticated, from the authenticator
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)  # Throttled
    if wait is not None:
        headers["Retry-After"] = str(int(wait))
    if isinstance(exc, drf.ValidationError):
        field, message = first_error(exc.detail)
        return Response(error_body("invalid", message, field), 400, headers=headers)
    code, field = next(
        ((c, f) for cls, c, f in _DRF_ERRORS if isinstance(exc, cls)), ("error", None)
    )
    message = BAD_KEY_MESSAGE if code == "unauthenticated" else str(exc.detail)
    return Response(error_body(code, message, field), exc.status_code, headers=headers)


def first_error(detail: Any, path: str = "") -> tuple[str | None, str]:
    """The first message in DRF's nested error detail and the dotted path to its field."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                sub = path
            elif isinstance(key, int):
                sub = f"{path}[{key}]"
            else:
                sub = f"{path}.{key}" if path else str(key)
            if value:
                return first_error(value, sub)
    elif isinstance(detail, list):
        for i, item in enumerate(detail):
            if isinstance(item, dict | list):
                if item:
                    return first_error(item, f"{path}[{i}]")
            else:
                return path or None, str(item)
    else:
        return path or None, str(detail)
    return path or None, "invalid input"


@csrf_exempt
def unknown_url(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """The last /v1 route: an unknown URL answers in the API's error shape."""
    body = error_body("not_found", "no such API endpoint")
    return JsonResponse(body, status=404, json_dumps_params={"separators": (",", ":")})
