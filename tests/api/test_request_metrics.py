"""Request series for the Grafana dashboard, under django-prometheus's names."""

from __future__ import annotations

import re

from django.test import Client

SERIES = (
    "django_http_responses_total_by_status_view_method_total"
    '{{method="{m}",status="{s}",view="{v}"}}'
)


def _value(text: str, series: str) -> float:
    match = re.search(re.escape(series) + r" ([0-9.e+]+)", text)
    return float(match.group(1)) if match else 0.0


def test_responses_and_latency_are_counted_by_view_and_method(api, submit_key):
    metrics = Client()
    created = SERIES.format(m="POST", s="201", v="api_v1:jobs")
    refused = SERIES.format(m="POST", s="400", v="api_v1:jobs")
    before = metrics.get("/metrics").content.decode()
    assert api.post("/v1/jobs", {"type": "demo.noop", "payload": {}}, submit_key).status_code == 201
    assert api.post("/v1/jobs", {"type": "demo.noop"}, submit_key).status_code == 400
    after = metrics.get("/metrics").content.decode()
    assert _value(after, created) == _value(before, created) + 1
    assert _value(after, refused) == _value(before, refused) + 1
    latency = (
        "django_http_requests_latency_seconds_by_view_method_count"
        '{method="POST",view="api_v1:jobs"}'
    )
    assert _value(after, latency) == _value(before, latency) + 2
