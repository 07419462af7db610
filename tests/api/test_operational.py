"""/healthz, /readyz and /metrics (queuey_site/operational.py), in front of every other
middleware: a probe by IP with any Host header gets an answer; readiness names the
store that does not answer; metrics go to allowed networks only."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from jobs.broker.connection import reset_redis
from tests.support.factories import claim, submit


@pytest.fixture
def client() -> Client:
    # A load balancer's probe: by IP, a Host that is not in ALLOWED_HOSTS.
    return Client(HTTP_HOST="10.1.2.3:8000")


def test_healthz_answers_without_touching_the_stores(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    reset_redis()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_both_stores_answer(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "database": "ok", "redis": "ok"}


def test_readyz_names_redis_when_it_does_not_answer(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    reset_redis()
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["redis"].startswith("unreachable: ")


@pytest.mark.skipif(connection.vendor != "sqlite", reason="swaps the SQLite file's path")
def test_readyz_names_the_database_when_it_does_not_answer(client, db):
    name = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = "/nonexistent-dir/queuey.sqlite3"
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
    assert response.status_code == 503
    body = response.json()
    assert body["database"].startswith("unreachable: ")
    assert body["redis"] == "ok"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_take_get_only(client, path):
    response = client.post(path)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_include_the_stores_gauges(client, db, broker):
    submit("demo.noop", {}, queue="high")
    submit("demo.noop", {}, queue="high")
    submit("demo.noop", {}, queue="low")
    claim(broker, queues=["low"])
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    samples = _samples(response.content.decode())
    depth = {labels: v for (name, labels), v in samples.items() if name == "queuey_queue_depth"}
    assert depth[(("queue", "high"), ("state", "ready"))] == 2
    assert depth[(("queue", "low"), ("state", "ready"))] == 0
    assert depth[(("queue", "default"), ("state", "dead"))] == 0
    assert samples[("queuey_redis_up", ())] == 1
    assert samples[("queuey_database_up", ())] == 1
    assert samples[("queuey_oldest_job_age_seconds", (("queue", "high"),))] >= 0


def test_metrics_with_redis_down_say_so_and_still_answer(client, db, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    reset_redis()
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    samples = _samples(response.content.decode())
    assert samples[("queuey_redis_up", ())] == 0
    assert samples[("queuey_database_up", ())] == 1
    assert ("queuey_workers_online", ()) not in samples  # unknown, not zero


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "not-an-ip"])
def test_metrics_refuse_clients_outside_the_allowed_networks(client, db, address):
    response = client.get("/metrics", REMOTE_ADDR=address)
    assert response.status_code == 403
    assert "QUEUEY_METRICS_ALLOWED_NETWORKS" in json.loads(response.content)["error"]["message"]


def test_allowed_networks_come_from_settings(client, db, settings):
    settings.QUEUEY_METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.parametrize("header", ["HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP"])
def test_metrics_are_not_served_through_a_proxy(client, db, header):
    # A load balancer connects from a private address, inside the allowed networks.
    response = client.get("/metrics", REMOTE_ADDR="10.0.0.5", **{header: "198.51.100.7"})
    assert response.status_code == 403
    assert "proxy" in response.json()["error"]["message"]


def test_the_front_page_leads_to_the_dashboard(db):
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
