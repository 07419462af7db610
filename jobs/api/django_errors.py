"""Django's handler400/403/404/500, in the API's error shape for paths under /v1.

Some errors never reach a DRF view: a Host header not in ALLOWED_HOSTS is refused by
CommonMiddleware, and an exception in a middleware skips the view altogether. Django then
renders these handlers (wired in queuey_site/urls.py); elsewhere its own pages stay.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from jobs.api.errors import error_body

logger = logging.getLogger("queuey.api")


def _is_api(request: HttpRequest) -> bool:
    path = request.path_info
    return path == "/v1" or path.startswith("/v1/")


def _json(status: int, code: str, message: str) -> JsonResponse:
    body = error_body(code, message)
    return JsonResponse(body, status=status, json_dumps_params={"separators": (",", ":")})


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json(400, "bad_request", "the request is malformed or its Host is not served")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json(403, "forbidden", "forbidden")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json(404, "not_found", "no such API endpoint")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django has logged the exception (django.request) before calling this.
    if _is_api(request):
        return _json(500, "internal_error", "internal error; it has been logged")
    return defaults.server_error(request)
