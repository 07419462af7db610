"""The handlers that hang, spin or kill their worker exist only where the fault tests
turn them on: with the project's own settings an API key cannot submit them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.stack import ROOT

FAULTS = {"demo.spin", "demo.hang", "demo.crash"}
SHOW_TYPES = (
    "import django, json; django.setup(); "
    "from jobs.handlers.registry import registered_types; print(json.dumps(registered_types()))"
)


def _types_under_project_settings(**env: str) -> set[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QUEUEY_", "DJANGO_"))}
    out = subprocess.run(
        [sys.executable, "-c", SHOW_TYPES],
        env={**clean, "DJANGO_SETTINGS_MODULE": "queuey_site.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("debug", ["true", "false"])
def test_fault_handlers_are_not_registered_by_default(debug):
    types = _types_under_project_settings(
        DJANGO_DEBUG=debug, DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="localhost"
    )
    assert "demo.noop" in types
    assert not types & FAULTS


def test_fault_handlers_are_registered_when_turned_on():
    types = _types_under_project_settings(DJANGO_DEBUG="true", QUEUEY_FAULT_HANDLERS="true")
    assert types >= FAULTS


SUBMIT_FAULTS = """
import django, json
django.setup()
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
from jobs.apikeys import create_api_key
key = create_api_key(name="submitter", scope="submit")[1]
answers = {}
for job_type in ("demo.crash", "demo.spin", "demo.hang"):
    r = Client().post(
        "/v1/jobs", {"type": job_type, "payload": {}},
        content_type="application/json", headers={"x-api-key": key},
    )
    answers[job_type] = [r.status_code, r.json()["error"]["field"]]
from jobs.models import Job
print(json.dumps({"answers": answers, "jobs": Job.objects.count()}))
"""


def test_a_submit_key_cannot_run_a_fault_handler_under_production_settings(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QUEUEY_", "DJANGO_"))}
    env = {
        **clean,
        "DJANGO_SETTINGS_MODULE": "queuey_site.settings",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # never reached: refused before any dispatch
    }
    out = subprocess.run(
        [sys.executable, "-c", SUBMIT_FAULTS],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["answers"] == {t: [400, "type"] for t in FAULTS}
    assert found["jobs"] == 0
