"""API personas (one key per scope, and a revoked one) and a small JSON client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from django.test.client import ClientHandler

from jobs import outbox
from jobs.apikeys import create_api_key, revoke_api_key
from jobs.broker.client import Broker
from jobs.models import Job
from queuey_site.handlers import ApiMiddlewareMixin
from tests.support.factories import claim, outcome, submit


class Api:
    """django.test.Client speaking JSON with an x-api-key header."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str, key: str | None = None, **params: Any):
        return self.client.get(path, params, headers=_headers(key))

    def post(
        self,
        path: str,
        body: Any = None,
        key: str | None = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        **extra: Any,
    ):
        data = raw if raw is not None else (b"" if body is None else json.dumps(body))
        return self.client.post(
            path, data, content_type=content_type, headers=_headers(key), **extra
        )


def _headers(key: str | None) -> dict[str, str]:
    return {"x-api-key": key} if key is not None else {}


def _key(scope: str, name: str | None = None) -> str:
    return create_api_key(name=name or f"{scope}-key", scope=scope)[1]


class ApiClientHandler(ApiMiddlewareMixin, ClientHandler):
    """The test client's handler with the API's middleware chain, as gunicorn serves /v1
    (queuey_site.handlers)."""


class ApiClient(Client):
    def __init__(self, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.handler = ApiClientHandler(enforce_csrf_checks=False)


@pytest.fixture
def api() -> Api:
    return Api(ApiClient())


@pytest.fixture
def admin_key(db) -> str:
    return _key("admin")


@pytest.fixture
def submit_key(db) -> str:
    return _key("submit")


@pytest.fixture
def read_key(db) -> str:
    return _key("read")


@pytest.fixture
def revoked_key(db) -> str:
    raw = _key("admin", name="former-admin")
    revoke_api_key(name="former-admin")
    return raw


@pytest.fixture
def dead_job(db, broker: Broker) -> Job:
    """A job that failed its only attempt and sits in the DLQ."""
    job = submit("demo.noop", {}, max_attempts=1)
    [claimed] = claim(broker)
    finished = broker.finish([outcome(claimed, "failed", detail='"boom"')])
    outbox.apply_and_settle(broker, [f.entry for f in finished])
    job.refresh_from_db()
    assert job.status == "dead"
    return job


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: stop the WSGI request signals from closing the test's
    database connection (and with it the test's transaction)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
