"""Refuse a malformed Content-Length before any other middleware parses it.

Middleware that parses Content-Length unguarded (django-prometheus's request middleware
does int() on it) would turn a header such as "&&" into a 500 before the API's own error
handling runs; an explicit 400 here keeps that true whatever middleware is added.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse


class RejectMalformedContentLength:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for raw in (request.META.get(k) for k in ("CONTENT_LENGTH", "HTTP_CONTENT_LENGTH")):
            if raw and not (raw.isascii() and raw.isdigit()):
                return _malformed()
        return self.get_response(request)


def _malformed() -> JsonResponse:
    return JsonResponse(
        {
            "error": {
                "code": "bad_request",
                "field": "Content-Length",
                "message": "Content-Length must be a non-negative integer",
            }
        },
        status=400,
    )
