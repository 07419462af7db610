"""The OpenAPI schema, the offline docs, and a property-based fuzz run against both."""

from __future__ import annotations

import json
import re

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer2
from drf_spectacular.settings import patched_settings
from hypothesis import HealthCheck, assume, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from jobs.api.docs import SchemaView

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/v1/jobs", "post"),
    ("/v1/jobs", "get"),
    ("/v1/jobs/batch", "post"),
    ("/v1/jobs/{job_id}", "get"),
    ("/v1/jobs/{job_id}/cancel", "post"),
    ("/v1/jobs/{job_id}/retry", "post"),
    ("/v1/queues/metrics", "get"),
    ("/v1/replay-dlq", "post"),
    ("/v1/workers", "get"),
}


def test_the_schema_is_openapi_3_with_every_operation_behind_the_key(api):
    schema = api.get("/v1/schema").json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"] == {
        "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key"}
    }
    found = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert found == OPERATIONS
    for path, method in OPERATIONS:
        operation = schema["paths"][path][method]
        assert operation["security"] == [{"ApiKeyAuth": []}], (path, method)
        assert {"400", "401", "429", "500", "503"} <= set(operation["responses"]), (path, method)


def test_the_schema_lists_the_registered_job_types(api):
    schema = api.get("/v1/schema").json()
    assert "text.reverse" in schema["components"]["schemas"]["TypeEnum"]["enum"]


def test_the_docs_are_served_from_the_sidecar_not_a_cdn(api):
    response = api.get("/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/static/drf_spectacular_sidecar/") for a in assets)
    assert "//cdn" not in html and "https://" not in html
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    assert '"ApiKeyAuth"' in html  # Swagger UI's Authorize dialog asks for x-api-key


def load_schema() -> schemathesis.BaseSchema:
    """The schema /v1/schema serves, generated in-process at collection time (fetching it
    over HTTP then would reach the settings' Redis before the suite's own is up), bound
    to the real WSGI application that gunicorn runs."""
    from queuey_site.wsgi import application

    with patched_settings(SchemaView.custom_settings):
        generated = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer2().render(generated)))
    loaded.app = application
    return loaded


schema = load_schema()


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_fuzz_no_5xx_and_responses_match_the_schema(case, admin_key, keep_test_connection):
    # A query parameter whose value is an empty list vanishes from the URL, so the server
    # never sees the "unknown parameter" schemathesis meant to send.
    assume(all(value != [] for value in (case.query or {}).values()))
    # Every default check but "schema-valid data must be accepted": some rules are beyond
    # what OpenAPI can say (run_at or delay_seconds, each handler's payload fields, a
    # cursor must be one the API issued), and those answer a documented 400.
    case.call_and_validate(
        headers={"x-api-key": admin_key}, excluded_checks=[positive_data_acceptance]
    )
