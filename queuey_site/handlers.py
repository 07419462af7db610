"""The WSGI application: /v1 requests go through a middleware chain of their own.

Both handlers share the URLconf, the views and the error handlers; the API's chain is
settings.API_MIDDLEWARE, the site's settings.MIDDLEWARE. The API authenticates with an
x-api-key header only, so sessions, CSRF, login and messages have nothing to do there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from wsgiref.types import StartResponse, WSGIEnvironment

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler


@contextmanager
def _middleware(chain: list[str]) -> Iterator[None]:
    # BaseHandler.load_middleware reads settings.MIDDLEWARE and takes no argument; this
    # runs once per handler, while the application loads, before any request is served.
    site_chain = settings.MIDDLEWARE
    settings.MIDDLEWARE = chain
    try:
        yield
    finally:
        settings.MIDDLEWARE = site_chain


class ApiMiddlewareMixin:
    """For a Django handler class: load settings.API_MIDDLEWARE instead of MIDDLEWARE."""

    def load_middleware(self, is_async: bool = False) -> None:
        with _middleware(settings.API_MIDDLEWARE):
            super().load_middleware(is_async)  # type: ignore[misc]


class ApiWSGIHandler(ApiMiddlewareMixin, WSGIHandler):
    """A WSGIHandler with the API's middleware chain."""


class RoutingWSGIHandler:
    """/v1/... to the API's handler, everything else to the site's."""

    def __init__(self) -> None:
        self.api = ApiWSGIHandler()
        self.site = WSGIHandler()
        self.api_prefix = settings.API_PATH_PREFIX

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        handler = self.api if path.startswith(self.api_prefix) else self.site
        return handler(environ, start_response)
