"""Scale out on one Redis and one PostgreSQL: 2 API processes, 4 worker processes, a watchdog.

Each API process is a gunicorn of its own (the project's gunicorn.conf.py, one worker
process, on its own port), as two API containers behind a load balancer would be; the
test splits its submissions between them. The workers are four `manage.py runworker`
processes and there is one `runwatchdog`, all on the suite's Redis (a key prefix of the
test's own) and pytest-django's test database. The figure printed is the end-to-end rate
(first POST -> last job succeeded in the database); it is reported, never asserted.

PostgreSQL only: it is the scenario the deployment targets (issue 14), and SQLite has one
writer, so six processes writing to one file measure that file's lock, not scale-out.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.db.models import Count

from jobs.apikeys import create_api_key
from jobs.broker.client import Broker
from jobs.models import Attempt, Job
from tests.support.redis_server import free_port
from tests.support.stack import ROOT, Stack, wait_for

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

JOBS = 2000
API_PROCESSES = 2
WORKER_PROCESSES = 4
CLIENTS_PER_API = 4
# A fair share is 1/4 of the jobs; each worker must have run at least a fifth of that.
MIN_SHARE = 1 / WORKER_PROCESSES / 5


class ApiProcess:
    """One gunicorn (one worker process, 4 threads) on a free port, logging its requests."""

    def __init__(self, stack: Stack) -> None:
        self.port = free_port()
        self.log_path = stack.logdir / f"api-{self.port}.log"
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
            env={
                **stack.env,
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "GUNICORN_WORKERS": "1",
                "GUNICORN_THREADS": "4",
                "GUNICORN_ACCESSLOG": "-",
            },
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        stack.processes.append(self.process)

    def healthy(self) -> bool:
        try:
            return get_status(self.port, "/healthz") == 200
        except OSError:
            return False

    def created_in_log(self) -> int:
        """Requests this process answered with 201, from its own access log."""
        text = Path(self.log_path).read_text(errors="replace")
        return text.count('"POST /v1/jobs HTTP/1.1" 201 ')


def get_status(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


class Client(threading.Thread):
    """Submits its jobs one POST /v1/jobs at a time on one keep-alive connection."""

    def __init__(self, port: int, key: str, numbers: range) -> None:
        super().__init__(daemon=True)
        self.port, self.key, self.numbers = port, key, numbers
        self.statuses: Counter[int] = Counter()
        self.job_ids: list[str] = []

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"content-type": "application/json", "x-api-key": self.key}
        try:
            for i in self.numbers:
                body = json.dumps({"type": "demo.noop", "payload": {"i": i}})
                conn.request("POST", "/v1/jobs", body=body, headers=headers)
                resp = conn.getresponse()
                reply = resp.read()
                self.statuses[resp.status] += 1
                if resp.status == 201:
                    self.job_ids.append(json.loads(reply)["job_id"])
        finally:
            conn.close()


def submit_over_http(apis: list[ApiProcess], key: str) -> list[Client]:
    clients = [
        Client(api.port, key, range(n, JOBS, len(apis) * CLIENTS_PER_API))
        for n, api in enumerate(apis * CLIENTS_PER_API)
    ]
    for c in clients:
        c.start()
    for c in clients:
        c.join(timeout=120)
    assert not any(c.is_alive() for c in clients), "a client is still submitting"
    return clients


def worker_pid(worker_id: str) -> int:
    return int(worker_id.split(":")[1])  # host:pid:random


def test_two_apis_and_four_workers_share_the_load_and_lose_nothing(stack):
    if connection.vendor != "postgresql":
        pytest.skip("the scale-out scenario is PostgreSQL's (SQLite has one writer)")
    stack.env.update(
        QUEUEY_API_RATE="1000000/minute",
        QUEUEY_API_ANON_RATE="1000000/minute",
        # Leases outlive a busy two-core machine's pauses: a rerun would not be lost or
        # recorded twice either (fencing), but this test is about spreading the load.
        QUEUEY_VISIBILITY_TIMEOUT="15",
    )
    key = create_api_key(name="scale-out", scope="submit")[1]
    apis = [ApiProcess(stack) for _ in range(API_PROCESSES)]
    workers = [stack.worker() for _ in range(WORKER_PROCESSES)]
    stack.watchdog()
    for api in apis:
        wait_for(api.healthy, timeout=60, what=f"the API on :{api.port}")
    wait_for(lambda: len(Broker().workers()) == WORKER_PROCESSES, timeout=60, what="4 workers")

    began = time.monotonic()
    clients = submit_over_http(apis, key)
    submitted = time.monotonic()
    wait_for(
        lambda: Job.objects.filter(status="succeeded").count() == JOBS,
        timeout=90,
        what=f"{JOBS} jobs succeeded",
    )
    done = time.monotonic()

    statuses = sum((c.statuses for c in clients), Counter())
    assert statuses == {201: JOBS}
    job_ids = {j for c in clients for j in c.job_ids}
    assert len(job_ids) == JOBS
    assert set(map(str, Job.objects.values_list("pk", flat=True))) == job_ids
    assert not Job.objects.exclude(status="succeeded").exists()

    # Nothing recorded twice: one succeeded attempt per job, and no job without one.
    succeeded = Attempt.objects.filter(outcome="succeeded")
    assert succeeded.count() == JOBS
    assert not succeeded.values("job").annotate(n=Count("id")).filter(n__gt=1).exists()

    # Every worker process ran a share of the work.
    per_worker = Counter(
        worker_pid(w) for w in succeeded.values_list("worker_id", flat=True).iterator()
    )
    assert set(per_worker) == {w.pid for w in workers}, per_worker
    assert min(per_worker.values()) >= JOBS * MIN_SHARE, per_worker

    # Both API processes served requests: each one's access log counts what it was sent.
    sent = Counter()
    for c in clients:
        sent[c.port] += c.statuses[201]
    for api in apis:
        assert sent[api.port] > 0
        wait_for(lambda a=api: a.created_in_log() == sent[a.port], timeout=10, what="access log")

    # Redis holds nothing more for them: no queued, scheduled, leased or dead job.
    wait_for(lambda: not any(vars(Broker().lengths()).values()), timeout=10, what="empty Redis")

    attempts = Attempt.objects.count()
    print(
        f"\nscale-out: {JOBS} jobs over HTTP through {API_PROCESSES} API processes "
        f"({dict(sent)}), {WORKER_PROCESSES} workers ({dict(per_worker)}), {attempts} attempts;"
        f" submit {JOBS / (submitted - began):.0f} req/s,"
        f" end to end {JOBS / (done - began):.0f} jobs/s"
    )
