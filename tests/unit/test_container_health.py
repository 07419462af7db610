"""queuey_site/container_health.py: the image's HEALTHCHECK for the api, worker and
watchdog roles (Dockerfile, docker-compose.yml, deploy/ecs)."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from queuey_site import container_health

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({}, "http://127.0.0.1:8000/healthz"),
        ({"PORT": "9000"}, "http://127.0.0.1:9000/healthz"),
        ({"GUNICORN_BIND": "0.0.0.0:8000", "PORT": "9000"}, "http://127.0.0.1:8000/healthz"),
        ({"GUNICORN_BIND": "127.0.0.1:8123"}, "http://127.0.0.1:8123/healthz"),
        ({"GUNICORN_BIND": "[::]:8000"}, "http://127.0.0.1:8000/healthz"),
        ({"GUNICORN_BIND": "[::1]:8001"}, "http://[::1]:8001/healthz"),
        ({"GUNICORN_BIND": ":8002"}, "http://127.0.0.1:8002/healthz"),
    ],
)
def test_the_api_is_probed_where_gunicorn_binds(env, url):
    assert container_health.api_url("/healthz", env) == url


@pytest.mark.parametrize("bind", ["unix:/run/gunicorn.sock", "localhost", "host:port"])
def test_a_bind_that_cannot_be_probed_is_named(bind):
    with pytest.raises(ValueError, match="GUNICORN_BIND"):
        container_health.api_url("/healthz", {"GUNICORN_BIND": bind})


class _Handler(http.server.BaseHTTPRequestHandler):
    ready = True

    def do_GET(self):
        if self.path == "/healthz" or (self.path == "/readyz" and self.ready):
            status, body = 200, b'{"status":"ok"}'
        elif self.path == "/readyz":
            status, body = 503, b'{"status":"unavailable","redis":"unreachable: ConnectionError"}'
        else:
            status, body = 404, b"{}"
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_api(monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("GUNICORN_BIND", f"0.0.0.0:{server.server_address[1]}")
    monkeypatch.setenv("QUEUEY_ROLE", "api")
    yield _Handler
    _Handler.ready = True
    server.shutdown()
    server.server_close()


def test_api_role_healthz_and_readyz(fake_api, capsys):
    assert container_health.main([]) == 0
    assert container_health.main(["--ready"]) == 0
    fake_api.ready = False
    assert container_health.main([]) == 0  # liveness does not depend on the stores
    assert container_health.main(["--ready"]) == 1
    out = capsys.readouterr().out
    assert "unhealthy: /readyz answered 503" in out
    assert "redis" in out  # the failing store is named


def test_api_role_nothing_listening(monkeypatch, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GUNICORN_BIND", f"0.0.0.0:{port}")
    assert container_health.main(["--role", "api", "--timeout", "1"]) == 1
    assert "unhealthy" in capsys.readouterr().out


@pytest.mark.parametrize("role", ["worker", "watchdog"])
def test_worker_and_watchdog_roles_read_the_heartbeat_file(role, tmp_path, monkeypatch, capsys):
    beat = tmp_path / "heartbeat"
    monkeypatch.setenv("QUEUEY_HEARTBEAT_FILE", str(beat))
    monkeypatch.setenv("QUEUEY_ROLE", role)
    assert container_health.main([]) == 1  # no heartbeat yet
    beat.touch()
    assert container_health.main([]) == 0
    old = time.time() - 60
    os.utime(beat, (old, old))
    assert container_health.main([]) == 1
    assert container_health.main(["--max-age", "90"]) == 0
    out = capsys.readouterr().out
    assert "missing" in out and "last heartbeat 60s ago" in out


def test_an_unknown_role_is_unhealthy_and_named(monkeypatch, capsys):
    monkeypatch.setenv("QUEUEY_ROLE", "wroker")
    assert container_health.main([]) == 1
    assert "QUEUEY_ROLE='wroker'" in capsys.readouterr().out


def test_the_module_runs_as_the_image_runs_it_without_importing_django(tmp_path):
    """`python -m queuey_site.container_health` as HEALTHCHECK calls it: no Django, no
    redis (a check must stay quick), and the exit code is the verdict."""
    beat = tmp_path / "heartbeat"
    beat.touch()
    code = (
        "import runpy, sys\n"
        "try:\n"
        "    runpy.run_module('queuey_site.container_health', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    loaded = [m for m in ('django', 'redis') if m in sys.modules]\n"
        "    assert not loaded, loaded\n"
        "    raise\n"
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "QUEUEY_ROLE": "worker",
        "QUEUEY_HEARTBEAT_FILE": str(beat),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("healthy")
