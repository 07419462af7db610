"""The security pass: deploy checks, bandit, no key material in logs, cookie flags."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.chaos.pg import ROOT

PRODUCTION_ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "QUEUEY_"))},
    "DJANGO_SETTINGS_MODULE": "queuey_site.settings",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
}


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    """Pass: `manage.py check --deploy --fail-level WARNING` reports no issue with the
    production settings module and only the required environment (a secret key)."""
    env = {**PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_bandit_is_clean():
    """Pass: bandit (pinned in requirements-dev.txt) finds nothing in the shipped code;
    each accepted finding carries an inline `# nosec <id>` with its reason."""
    bandit = shutil.which("bandit", path=os.path.dirname(sys.executable))
    if bandit is None:
        pytest.fail("bandit is not installed: pip install -r requirements-dev.txt")
    out = subprocess.run(
        [
            bandit,
            "-q",
            "-r",
            "jobs",
            "workers",
            "dashboard",
            "queuey_site",
            "manage.py",
            "-x",
            "*/migrations/*",
            "-f",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    results = json.loads(out.stdout)["results"]
    assert not results, [f"{r['filename']}:{r['line_number']} {r['test_id']}" for r in results]


def test_no_key_material_in_logs(chaos, transactional_db):
    """Pass: after requests with a valid, a wrong and a revoked API key through gunicorn
    (debug logging on) and jobs run by a worker, no log line holds a raw key or its
    stored digest."""
    from jobs.apikeys import create_api_key, digest, revoke_api_key
    from tests.chaos.test_api_faults import Api

    _, good = create_api_key(name="sec", scope="admin")
    _, revoked = create_api_key(name="old", scope="submit")
    revoke_api_key(name="old")
    wrong = "qy_" + secrets.token_urlsafe(32)
    chaos.stack.env["QUEUEY_LOG_LEVEL"] = "DEBUG"
    api = Api(chaos, workers=1)
    chaos.worker()
    code, body = api.call("POST", "/v1/jobs", good, {"type": "demo.noop", "payload": {}})
    assert code == 201
    assert api.call("POST", "/v1/jobs", wrong, {"type": "demo.noop", "payload": {}})[0] == 401
    assert api.call("POST", "/v1/jobs", revoked, {"type": "demo.noop", "payload": {}})[0] == 401
    chaos.record.add("acknowledged", body["job_id"])
    chaos.drain_and_check()
    logs = chaos.log_text()
    for key in (good, wrong, revoked):
        assert key not in logs and digest(key) not in logs


def test_dashboard_cookies_are_secure_httponly_samesite_in_production(tmp_path):
    """Pass: with the production settings, logging in to the dashboard (admin login)
    sets a session cookie that is Secure, HttpOnly and SameSite=Lax, and a CSRF cookie
    that is Secure and SameSite=Lax."""
    script = textwrap.dedent(
        """
        import json, django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        from django.contrib.auth import get_user_model
        get_user_model().objects.create_superuser("admin", "a@example.com", "pw-0123456789!")
        from django.test import Client
        c = Client(HTTP_HOST="localhost")
        r = c.get("/admin/login/", secure=True)
        token = r.cookies["csrftoken"].value
        r = c.post("/admin/login/?next=/admin/", {"username": "admin",
                   "password": "pw-0123456789!", "csrfmiddlewaretoken": token}, secure=True)
        assert r.status_code == 302, r.status_code
        out = {}
        for name in ("sessionid", "csrftoken"):
            m = c.cookies[name]
            out[name] = {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]),
                         "samesite": m["samesite"]}
        print(json.dumps(out))
        """
    )
    env = {**PRODUCTION_ENV, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    cookies = json.loads(out.stdout.strip().splitlines()[-1])
    assert cookies["sessionid"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert cookies["csrftoken"]["secure"] and cookies["csrftoken"]["samesite"] == "Lax"
