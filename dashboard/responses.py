"""One view, two renderings: the full page, or its fragment for an htmx request."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

TITLES = {400: "Bad request", 403: "Forbidden", 404: "Not found", 503: "Unavailable"}


def render_page(
    request: HttpRequest,
    page: str,
    fragment: str,
    context: dict,
    *,
    response_class: type[HttpResponse] = HttpResponse,
) -> HttpResponse:
    """The fragment for htmx (a poll or a swap), the page that includes it otherwise."""
    template = fragment if request.htmx else page  # type: ignore[attr-defined]
    response = render(request, template, context)
    if response_class is not HttpResponse:
        response = response_class(response.content, content_type=response["Content-Type"])
    # The same URL answers two bodies: caches must key on the htmx header.
    patch_vary_headers(response, ("HX-Request",))
    return response


def error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    context = {"status": status, "title": TITLES.get(status, "Error"), "message": message}
    return render(request, "dashboard/error.html", context, status=status)


def database_down(request: HttpRequest) -> HttpResponse:
    """503 from a template that reads nothing from the database (no user, no messages)."""
    response = render(request, "dashboard/unavailable.html", status=503)
    response["Retry-After"] = "5"
    return response
