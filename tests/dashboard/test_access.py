"""Who gets in: anonymous to the login page, non-staff refused, viewers read, operators
act; the bootstrap_dev user logs in as an operator; sessions are cached_db."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client

from dashboard.access import is_operator

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/dashboard/jobs/"]


def pages_for(job) -> list[str]:
    return [*PAGES, f"/dashboard/jobs/{job.id}/"]


def test_anonymous_is_sent_to_the_login_page(anon_client, queued_job):
    for url in pages_for(queued_job):
        response = anon_client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/dashboard/login/?next=/dashboard/"), url


def test_non_staff_is_refused_every_page(outsider_client, queued_job):
    for url in pages_for(queued_job):
        response = outsider_client.get(url)
        assert response.status_code == 403, url
        assert b"staff accounts only" in response.content


def test_viewer_reads_every_page(viewer_client, queued_job):
    for url in pages_for(queued_job):
        assert viewer_client.get(url).status_code == 200, url


def test_login_page_logs_staff_in_and_back_out(viewer):
    client = Client()
    page = client.get("/dashboard/login/")
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post(
        "/dashboard/login/",
        {"username": "victor", "password": "victor-pass-123", "next": "/dashboard/jobs/"},
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/jobs/"
    assert client.get("/dashboard/jobs/").status_code == 200
    assert client.post("/dashboard/logout/").status_code == 302
    assert client.get("/dashboard/jobs/").status_code == 302


def test_login_refuses_a_non_staff_account(outsider):
    client = Client()
    response = client.post("/dashboard/login/", {"username": "nina", "password": "nina-pass-123"})
    assert response.status_code == 200  # the form again, with its error
    assert b"staff account" in response.content
    assert "_auth_user_id" not in client.session


def test_login_refuses_a_wrong_password(viewer):
    client = Client()
    response = client.post("/dashboard/login/", {"username": "victor", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_bootstrap_dev_admin_logs_in_as_an_operator(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "bootstrap-pass-123")
    call_command("bootstrap_dev", stdout=open("/dev/null", "w"))  # noqa: SIM115
    client = Client()
    response = client.post(
        "/dashboard/login/", {"username": "admin", "password": "bootstrap-pass-123"}
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert b"admin \xc2\xb7 operator" in page.content


def test_roles_operators_group_and_superusers(operator, viewer, django_user_model):
    assert Group.objects.filter(name="operators").exists()  # the data migration
    boss = django_user_model.objects.create_superuser("boss", "b@example.com", "boss-pass-123")
    assert is_operator(operator) and is_operator(boss)
    assert not is_operator(viewer)
    viewer.is_active = False
    assert not is_operator(viewer)


def test_sessions_are_cached_db_and_kept_in_the_database(viewer):
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"
    client = Client()
    client.post("/dashboard/login/", {"username": "victor", "password": "victor-pass-123"})
    assert Session.objects.count() == 1


def test_every_page_carries_the_csrf_token_for_htmx(viewer_client):
    body = viewer_client.get("/dashboard/").content.decode()
    assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[A-Za-z0-9]{32,}\"\}'>", body)
    assert "/static/django_htmx/htmx-2.min.js" in body  # pinned, served locally


def test_dashboard_is_served_by_the_site_chain_not_the_api_one():
    # /v1 skips sessions, CSRF and auth (queuey_site.handlers): through the WSGI router a
    # dashboard page must still find request.user and send an anonymous visitor to log in.
    import io
    import sys

    from queuey_site.handlers import RoutingWSGIHandler

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/dashboard/jobs/",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
    }
    seen: dict = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    b"".join(RoutingWSGIHandler()(environ, start_response))
    assert seen["status"].startswith("302")
    assert seen["headers"]["Location"].startswith("/dashboard/login/")


def test_database_down_is_a_plain_503_page(viewer_client, monkeypatch):
    from jobs import selectors
    from jobs.errors import StoreUnavailable

    def down(**kwargs):
        raise StoreUnavailable("the database is unavailable; retry shortly")

    monkeypatch.setattr(selectors, "job_counts", down)
    response = viewer_client.get("/dashboard/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b"Database unavailable" in response.content
    assert b"Traceback" not in response.content


def test_database_down_at_the_user_lookup_is_a_503_page(viewer_client, monkeypatch):
    from django.contrib import auth
    from django.db import OperationalError

    def down(request):
        raise OperationalError("connection refused")

    monkeypatch.setattr(auth, "get_user", down)
    response = viewer_client.get("/dashboard/jobs/")
    assert response.status_code == 503
    assert b"Database unavailable" in response.content
