"""Faults seen through the REST API: real gunicorn processes (queuey_site.wsgi) in front
of the test's own stores, real HTTP clients."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.chaos.pg import ROOT
from tests.support.redis_server import free_port
from tests.support.stack import migrate_database, wait_for


class Api:
    """One gunicorn process group serving queuey_site.wsgi on a free port."""

    def __init__(self, chaos, workers: int = 2, threads: int = 4) -> None:
        self.port = free_port()
        self.log = open(chaos.stack.logdir / f"gunicorn-{self.port}.log", "wb")  # noqa: SIM115
        env = {
            **chaos.stack.env,
            "QUEUEY_API_RATE": "1000000/minute",
            "QUEUEY_API_ANON_RATE": "1000000/minute",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "queuey_site.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--timeout",
                "60",
            ],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        chaos.stack.processes.append(self.process)
        wait_for(self._up, timeout=60, what="gunicorn to answer")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _up(self) -> bool:
        try:
            urllib.request.urlopen(self.url + "/v1/schema", timeout=2)
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def call(self, method: str, path: str, key: str, body: dict | None = None):
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"content-type": "application/json", "x-api-key": key},
            method=method,
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def api_key(transactional_db):
    from jobs.apikeys import create_api_key

    return create_api_key(name="chaos", scope="admin")[1]


def own_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'api-chaos.sqlite3'}"
    migrate_database(url)
    return url


def test_sqlite_under_eight_concurrent_api_clients_and_two_workers(chaos_factory, tmp_path):
    """Case 11. A SQLite database of its own; 2 gunicorn processes, 8 concurrent HTTP
    clients submitting for 15 s, 2 workers and a watchdog writing at the same time. Pass:
    every submit answered 201 (no `database is locked`, no 5xx reaches a client), oracle
    clean."""
    url = own_sqlite(tmp_path)
    chaos = chaos_factory(db_url=url)
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": url}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from jobs.apikeys import "
            "create_api_key; create_api_key(name='c11', scope='admin', raw_key='qy_chaos_case_11')",
        ],
        env={**chaos.stack.env, **env},
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    api = Api(chaos)
    chaos.watchdog()
    chaos.worker()
    chaos.worker()
    chaos.loadgen(
        "--http",
        api.url,
        "--key",
        "qy_chaos_case_11",
        "--threads",
        "8",
        "--rate",
        "60",
        "--seconds",
        "15",
    )
    chaos.collect_loadgens()
    report = chaos.drain_and_check(timeout=60)
    details = [e["detail"] for e in chaos.record.entries if e["status"] != "acknowledged"]
    assert not details, details[:5]
    assert report.acknowledged >= 800
    assert "database is locked" not in chaos.log_text()


def test_cancel_while_running_the_late_ack_is_refused(chaos, api_key):
    """Case 13a. Cancel over the API while the job runs. Pass: the API answers 200 with
    status cancelled, the worker's late ack is refused (stale), the final state stays
    cancelled with the attempt recorded as cancelled; oracle clean."""
    api = Api(chaos, workers=1)
    chaos.worker()
    code, body = api.call(
        "POST", "/v1/jobs", api_key, {"type": "demo.sleep", "payload": {"seconds": 1.5}}
    )
    assert code == 201
    job = body["job_id"]
    chaos.record.add("acknowledged", job)
    chaos.wait_started(job)
    code, body = api.call("POST", f"/v1/jobs/{job}/cancel", api_key)
    assert code == 200 and body["status"] == "cancelled"
    wait_for(lambda: "result_refused" in chaos.log_text(), what="the late ack refused")
    chaos.drain_and_check()
    assert chaos.status(job) == "cancelled"
    assert [a["outcome"] for a in chaos.db.attempts()[job]] == ["cancelled"]


def test_concurrent_dlq_replays_move_each_job_once(chaos, api_key):
    """Case 13b. 20 dead jobs; 8 concurrent POST /v1/replay-dlq?limit=5 across 2 API
    processes. Pass: the replies add up to exactly 20 moved, each job ran exactly once
    more (2 failed attempts each, dead again); oracle clean."""
    apis = [Api(chaos, workers=1), Api(chaos, workers=1)]
    worker = chaos.worker()
    ids = []
    for i in range(20):
        code, body = apis[0].call(
            "POST",
            "/v1/jobs",
            api_key,
            {"type": "demo.fail", "payload": {"i": i}, "max_attempts": 1},
        )
        assert code == 201
        ids.append(body["job_id"])
        chaos.record.add("acknowledged", body["job_id"])
    wait_for(lambda: chaos.db.status_counts()["dead"] == 20, what="20 dead")
    chaos.kill(worker, signal.SIGTERM)  # no reruns (and new deaths) during the replays
    moved, lock = [], threading.Lock()

    def replay(api):
        code, body = api.call("POST", "/v1/replay-dlq?limit=5", api_key)
        with lock:
            moved.append((code, body))

    threads = [threading.Thread(target=replay, args=(apis[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(code == 200 for code, _ in moved), moved
    assert sum(body["replayed"] for _, body in moved) == 20
    assert chaos.rv.in_flight()["queued"] == 20  # each one on its queue, once
    chaos.worker()
    wait_for(lambda: sum(len(r) for r in chaos.db.attempts().values()) == 40, what="reruns")
    chaos.drain_and_check()
    attempts = chaos.db.attempts()
    assert all([a["outcome"] for a in attempts[j]] == ["failed", "failed"] for j in ids)


def test_fifty_concurrent_submits_with_one_dedupe_key_across_two_api_processes(chaos, api_key):
    """Case 13c. 50 concurrent POST /v1/jobs with one dedupe_key spread over 2 API
    processes; then Redis is restarted and 50 more. Pass: all 100 answers carry the same
    job id (one 201, the rest 200), the database holds one job, it ran once; oracle
    clean."""
    apis = [Api(chaos, workers=2), Api(chaos, workers=2)]
    chaos.worker()
    answers, lock = [], threading.Lock()
    body = {"type": "demo.noop", "payload": {"k": 1}, "dedupe_key": "chaos-one-key"}

    def submit(api):
        code, reply = api.call("POST", "/v1/jobs", api_key, body)
        with lock:
            answers.append((code, reply))

    def burst():
        threads = [threading.Thread(target=submit, args=(apis[i % 2],)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    burst()
    chaos.redis.restart()
    burst()
    codes = sorted(code for code, _ in answers)
    assert codes == [200] * 99 + [201], codes
    ids = {reply["job_id"] for _, reply in answers}
    assert len(ids) == 1
    chaos.record.add("acknowledged", ids.pop())
    report = chaos.drain_and_check()
    assert report.states == {"succeeded": 1} and report.executions == 1
    time.sleep(0)  # nothing else to wait for
