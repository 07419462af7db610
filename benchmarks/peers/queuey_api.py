"""Queuey through the API: POST /v1/jobs at a steady rate from 4 client threads (open loop,
keep-alive, gunicorn as benchmarks.api starts it), latency from Queuey's own timestamps
(created -> started, created -> finished), after the workers' warm-up."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time

from benchmarks.api import _gunicorn
from benchmarks.env import free_port
from benchmarks.stats import percentile

THREADS = 4


def _client(port: int, headers: dict, t0: float, rate: float, k: int, n: int, out: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"type": "demo.noop", "payload": {}})
    errors = 0
    for i in range(n):
        delay = t0 + (i * THREADS + k) / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        try:
            conn.request("POST", "/v1/jobs", body, headers)
            response = conn.getresponse()
            response.read()
            errors += response.status != 201
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
    conn.close()
    out.append(errors)


def paced_submit(env: dict, rate: float, seconds: float, processes: int) -> dict:
    from benchmarks.workload import reset, wait_until_succeeded, warm_up
    from jobs.apikeys import create_api_key
    from jobs.models import Job

    _, key = create_api_key(name="bench-peers", scope="admin")
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    port = free_port()
    server = _gunicorn(env, port)
    try:
        _client(port, headers, time.time(), 100.0, 0, 20, [])  # gunicorn's processes warm
        warm_up(processes)  # deletes the warm-up jobs too
        reset()
        per_thread = int(rate * seconds) // THREADS
        t0, errors = time.time() + 0.2, []
        threads = [
            threading.Thread(target=_client, args=(port, headers, t0, rate, k, per_thread, errors))
            for k in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        achieved = per_thread * THREADS / (time.time() - t0)
        wait_until_succeeded(per_thread * THREADS - sum(errors), timeout=120)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    rows = Job.objects.values_list("created_at", "started_at", "finished_at")
    started = [(s - c).total_seconds() * 1000 for c, s, _ in rows]
    finished = [(f - c).total_seconds() * 1000 for c, _, f in rows]
    return {
        "achieved_rate": achieved,
        "errors": sum(errors),
        **{f"started_p{q}_ms": percentile(started, q) for q in (50, 99)},
        **{f"finished_p{q}_ms": percentile(finished, q) for q in (50, 99)},
    }
