"""The WSGI application gunicorn serves: /v1 takes the API's middleware chain, the rest
of the site the full one (queuey_site.handlers)."""

from __future__ import annotations

import io
import json
import sys

import pytest

from jobs.models import Job
from queuey_site.wsgi import application

pytestmark = pytest.mark.django_db


def call(method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, dict, bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **{"HTTP_" + k.upper(): v for k, v in headers.items()},
    }
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = {k.lower(): v for k, v in response_headers}

    content = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], content


def test_a_submit_through_the_api_chain_is_stored(submit_key, keep_test_connection):
    body = json.dumps({"type": "demo.noop", "payload": {}}).encode()
    status, headers, content = call("POST", "/v1/jobs", body, x_api_key=submit_key)
    assert status == 201, content
    assert Job.objects.filter(pk=json.loads(content)["job_id"]).exists()
    # Kept for the API: security headers; dropped: anything a session would add.
    assert headers["x-frame-options"] == "DENY"
    assert "set-cookie" not in headers and "cookie" not in headers.get("vary", "").lower()


def test_a_session_cookie_does_not_authenticate_an_api_call(keep_test_connection):
    body = json.dumps({"type": "demo.noop", "payload": {}}).encode()
    status, _, content = call("POST", "/v1/jobs", body, cookie="sessionid=anything")
    assert status == 401, content
    assert not Job.objects.exists()


def test_the_site_keeps_its_full_chain(keep_test_connection):
    # The admin needs sessions and authentication: through the API's chain it would fail.
    status, headers, _ = call("GET", "/admin/")
    assert status == 302
    assert headers["location"].startswith("/admin/login/")


def test_the_api_prefix_is_matched_on_a_path_segment(keep_test_connection):
    # "/v1x" is not under /v1/: it goes to the site, whose 404 is not the API's JSON.
    status, headers, _ = call("GET", "/v1x/jobs")
    assert status == 404
    assert "application/json" not in headers.get("content-type", "")
