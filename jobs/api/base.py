"""What every /v1 view shares: key auth, scopes, throttling, strict JSON, one error shape.

The project's REST_FRAMEWORK defaults stay empty on purpose (the dashboard uses Django
sessions); the API sets everything here, explicitly, on its own views.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from jobs.api.auth import ApiKeyAuthentication, HasScope
from jobs.api.errors import exception_handler
from jobs.api.parsers import StrictJSONParser, check_body_size
from jobs.api.throttling import KeyRateThrottle


class AsciiJSONRenderer(JSONRenderer):
    # Escaped output can always be encoded: a stored string holding a lone surrogate
    # (worker error text, say) would otherwise fail to encode and turn a 200 into a 500.
    ensure_ascii = True


class ErrorShapeMixin(APIView):
    """Our exception handler, and errors rendered as JSON even by YAML or HTML views."""

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response]:
        return exception_handler

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        self.request.accepted_renderer = AsciiJSONRenderer()
        self.request.accepted_media_type = AsciiJSONRenderer.media_type
        return response


class ApiView(ErrorShapeMixin, APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [KeyRateThrottle]
    parser_classes = [StrictJSONParser]
    renderer_classes = [AsciiJSONRenderer]
    # No OPTIONS (no CORS, no metadata): it answers 405 like any method a view lacks.
    http_method_names = ["get", "post", "head"]
    scopes: dict[str, str] = {}  # HTTP method -> READ / SUBMIT / ADMIN (jobs.api.auth)

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        # What nearly every client sends decides the same way every time: DRF's general
        # negotiation (parsing Accept, ranking media types) cost a tenth of a submit.
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if not self.format_kwarg and not request.META.get("QUERY_STRING"):
            renderer = self.get_renderers()[0]
            if accept == "*/*" or accept == renderer.media_type:
                return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authenticate, authorize, throttle
        check_body_size(request)  # before anything reads the body


def query_params(request: Request) -> dict[str, str]:
    """The query string as a plain dict. A parameter given twice is refused: which of the
    values would count is a guess ("?limit=x&limit=2"), and a guess hides a client bug.
    A plain dict also makes "?type=" an empty (refused) filter rather than no filter."""
    for name, values in request.query_params.lists():
        if len(values) > 1:
            raise ValidationError({name[:100]: ["give this parameter once"]})
    return request.query_params.dict()


def validated(serializer_class: type[Serializer], data: Any) -> Serializer:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


def json_response(data: dict, *, status: int = 200, headers: dict | None = None) -> HttpResponse:
    """A reply in AsciiJSONRenderer's exact bytes, for the submit paths: DRF's Response
    and its renderer cost a twentieth of a job submit. Content negotiation has run by
    now (initial), so a client that accepts no JSON still gets its 406."""
    body = json.dumps(data, ensure_ascii=True, separators=(",", ":"))
    return HttpResponse(body, status=status, content_type="application/json", headers=headers)
