"""The OpenAPI schema (/v1/schema) and Swagger UI (/v1/docs), served from the sidecar.

Both are public: the schema documents the API and holds no secret, and a browser cannot
send x-api-key when following a link to the docs. They are throttled per client address.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from jobs.api.auth import HEADER
from jobs.api.base import ErrorShapeMixin
from jobs.api.serializers import ErrorOut
from jobs.api.throttling import AddressRateThrottle
from jobs.handlers.registry import registered_types

DESCRIPTION = f"""Submit, track and administer background jobs.

Every call carries an `{HEADER}` header. Scopes: `read` may call every GET; `submit` may
also submit jobs; `admin` may do everything, including cancel, retry and DLQ replay.

Every error, whatever its status, has one shape:
`{{"error": {{"code": "...", "message": "...", "field": "name or null"}}}}`.
429 and 503 carry `Retry-After`.
"""

# Statuses any authenticated call can answer besides its own (400: a malformed
# Content-Length or a Host this server does not serve, refused before the view).
COMMON_ERRORS = (400, 401, 406, 429, 500, 503)
# And any call with a JSON body.
BODY_ERRORS = (400, 413, 415)


def responses(ok: dict[int, Any], *errors: int) -> dict[int, Any]:
    """An operation's documented responses: its successes plus error statuses."""
    documented: dict[int, Any] = dict(ok)
    for status in sorted({*errors, *COMMON_ERRORS}):
        documented[status] = OpenApiResponse(ErrorOut, description="see the error shape")
    return documented


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "jobs.api.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": HEADER}


class JobTypeEnum(OpenApiSerializerFieldExtension):
    """The registered job types, read when the schema is built (handlers register late)."""

    target_class = "jobs.api.fields.JobTypeField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {"type": "string", "enum": registered_types()}


_SCHEMA_SETTINGS = {
    "DESCRIPTION": DESCRIPTION,
    # Separate request and response components, so read-only fields never look writable.
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "jobs.states.JobStatus",
        "AttemptOutcomeEnum": "jobs.states.AttemptOutcome",
    },
}


@extend_schema_view(get=extend_schema(exclude=True))
class SchemaView(ErrorShapeMixin, SpectacularAPIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [AddressRateThrottle]
    # JSON first (curl and test clients get JSON); ?format=yaml or Accept picks YAML.
    renderer_classes = [
        OpenApiJsonRenderer2,
        OpenApiJsonRenderer,
        OpenApiYamlRenderer,
        OpenApiYamlRenderer2,
    ]
    custom_settings = _SCHEMA_SETTINGS


class DocsView(ErrorShapeMixin, SpectacularSwaggerView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [AddressRateThrottle]
    url_name = "api_v1:schema"
    title = "Queuey API v1"

    def _get_schema_auth_names(self) -> list[str]:
        # Swagger UI keeps the key the user typed into "Authorize" across reloads.
        return [ApiKeyScheme.name]
