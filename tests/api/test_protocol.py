"""One error shape for everything under /v1: 404, 405, 406, 413, 429, 500."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import RequestDataTooBig

from jobs import selectors
from jobs.api import django_errors
from jobs.api.errors import exception_handler
from tests.api.support import assert_rejected

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/v1/nope", "/v1/jobs/", "/v1/queues", "/v1/jobs/x/y/z"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_urls_answer_404_in_the_error_shape(api, read_key, path, method):
    call = getattr(api.client, method)
    assert_rejected(lambda: call(path, headers={"x-api-key": read_key}), 404, None, "not_found")


@pytest.mark.parametrize("method", ["delete", "put", "patch", "options"])
def test_unsupported_methods_answer_405(api, admin_key, method):
    call = getattr(api.client, method)
    response = call("/v1/jobs", headers={"x-api-key": admin_key})
    assert_rejected(lambda: response, 405, None, "method_not_allowed")
    assert set(response["Allow"].split(", ")) == {"GET", "POST", "HEAD"}


def test_get_on_a_post_only_endpoint_answers_405(api, admin_key):
    assert_rejected(lambda: api.get("/v1/replay-dlq", admin_key), 405, None)


def test_an_unservable_accept_header_answers_406_in_json(api, read_key):
    assert_rejected(
        lambda: api.client.get("/v1/jobs", headers={"x-api-key": read_key, "accept": "text/csv"}),
        406,
        "accept",
        "not_acceptable",
    )


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        (None, 201),
        ("*/*", 201),
        ("application/json", 201),
        ("application/json; q=0.9, text/html", 201),
        ("text/html", 406),
        ("application/*", 201),
        ("", 406),
    ],
)
def test_submit_negotiates_like_drf_on_the_fast_path_and_off_it(api, submit_key, accept, status):
    """The common Accept values skip DRF's general negotiation: both ways must agree on
    what is served, in which media type, and on what is refused."""
    headers = {"x-api-key": submit_key} | ({"accept": accept} if accept is not None else {})
    body = json.dumps({"type": "demo.noop", "payload": {}})
    response = api.client.post("/v1/jobs", body, content_type="application/json", headers=headers)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    if status == 201:
        assert response.json()["created"] is True
        assert response["Location"].endswith(f"/v1/jobs/{response.json()['job_id']}")
        assert response["Allow"] == "GET, POST, HEAD"  # DRF's finalize_response ran
    else:
        assert response.json()["error"]["code"] == "not_acceptable"


def test_a_body_is_refused_by_its_content_length_before_it_is_read(api, admin_key, settings):
    settings.QUEUEY_MAX_REQUEST_BYTES = 10
    assert_rejected(
        lambda: api.post("/v1/jobs", {"type": "demo.noop", "payload": {}}, admin_key),
        413,
        None,
        "payload_too_large",
    )


def test_django_request_data_too_big_maps_to_413():
    response = exception_handler(RequestDataTooBig("too big"), {})
    assert response.status_code == 413
    assert response.data["error"]["code"] == "payload_too_large"


def test_throttling_is_per_key_with_retry_after(api, read_key, submit_key, settings):
    settings.QUEUEY_API_RATE = "2/minute"
    assert [api.get("/v1/jobs", read_key).status_code for _ in range(2)] == [200, 200]
    response = api.get("/v1/jobs", read_key)
    assert_rejected(lambda: response, 429, None, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert api.get("/v1/jobs", submit_key).status_code == 200  # another key, its own budget


def test_the_public_schema_is_throttled_per_address(api, settings):
    settings.QUEUEY_API_ANON_RATE = "1/minute"
    assert api.get("/v1/schema").status_code == 200
    assert_rejected(lambda: api.get("/v1/schema"), 429, None, "throttled")


@pytest.mark.parametrize("debug", [False, True])
def test_an_unexpected_error_is_a_500_without_details(api, read_key, monkeypatch, settings, debug):
    settings.DEBUG = debug

    def broken() -> dict:
        raise RuntimeError("SELECT secret FROM keys -- queuey:{main}:queue:high")

    monkeypatch.setattr(selectors, "queue_stats", broken)
    response = api.get("/v1/queues/metrics", read_key)
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "field": None,
            "message": "internal error; it has been logged",
        }
    }
    assert b"secret" not in response.content and b"Traceback" not in response.content


def test_errors_stay_json_on_views_that_render_yaml_or_html(api):
    for path in ["/v1/schema", "/v1/docs"]:
        assert_rejected(lambda p=path: api.post(p, {}), 405, None, "method_not_allowed")


def test_a_host_not_served_gets_the_error_shape_under_v1(api, read_key):
    """Refused by Django's middleware before any view: the JSON comes from handler400."""
    assert_rejected(
        lambda: api.client.get("/v1/jobs", headers={"x-api-key": read_key, "host": "evil.test"}),
        400,
        None,
        "bad_request",
    )


def test_a_host_not_served_outside_v1_keeps_django_s_page(api):
    response = api.client.get("/dashboard/", headers={"host": "evil.test"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        (lambda r: django_errors.bad_request(r, Exception()), 400),
        (lambda r: django_errors.permission_denied(r, Exception()), 403),
        (lambda r: django_errors.page_not_found(r, Exception()), 404),
        (django_errors.server_error, 500),
    ],
)
def test_django_s_error_handlers_answer_json_under_v1_only(rf, handler, status):
    api_response = handler(rf.get("/v1/jobs"))
    assert api_response.status_code == status
    assert json.loads(api_response.content)["error"]["field"] is None
    assert handler(rf.get("/admin/")).status_code == status
    assert handler(rf.get("/admin/"))["Content-Type"].startswith("text/html")
