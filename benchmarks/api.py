"""API submit rate against gunicorn (the `make run` settings), driven by benchmarks.http_driver."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time

from benchmarks.env import free_port
from benchmarks.http_driver import build_request, drive, drive_paced
from benchmarks.stats import children_of, peak_rss_mib, percentile, summary

SECONDS = float(os.environ.get("BENCH_API_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("BENCH_API_CONCURRENCY", "16"))
# Latency is read at this offered rate (open loop, "paced" rows): a closed loop's latency
# only restates its concurrency divided by its throughput. Above what the server can
# serve, an open loop's latency is its growing backlog, so the default stays below that.
PACED_RATE = float(os.environ.get("BENCH_API_PACED_RATE", "1000"))


def _drive(
    port: int, path: str, body: bytes, headers: dict[str, str], seconds: float, paced: bool
) -> dict:
    """One run: closed loop (CONCURRENCY clients) or paced (PACED_RATE offered)."""
    request = build_request("127.0.0.1", port, path, body, headers)
    if paced:
        run = drive_paced("127.0.0.1", port, request, rate=PACED_RATE, seconds=seconds)
    else:
        run = drive("127.0.0.1", port, request, clients=CONCURRENCY, seconds=seconds)
    result = asyncio.run(run)
    return {
        "requests_per_s": result.requests_per_s,
        **{f"p{q}_ms": percentile(result.latencies_ms, q) for q in (50, 95, 99)},
        "errors": result.errors,
    }


def _gunicorn(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [os.path.join(os.path.dirname(os.sys.executable), "gunicorn"), "-c", "gunicorn.conf.py"],
        env={
            **env,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_ACCESSLOG": "",
            "GUNICORN_LOGLEVEL": "warning",
            "QUEUEY_API_RATE": "100000000/minute",
        },
    )
    for _ in range(200):
        try:
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/schema", timeout=1)
            return proc
        except Exception:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def run_all(env: dict[str, str], runs: int) -> dict:
    from jobs.apikeys import create_api_key
    from jobs.models import Job

    _, key = create_api_key(name="bench", scope="admin")
    port = free_port()
    server = _gunicorn(env, port)
    headers = {"Content-Type": "application/json", "X-Api-Key": key}
    single = json.dumps({"type": "demo.noop", "payload": {"n": 1}}).encode()
    batch = json.dumps(
        {"jobs": [{"type": "demo.noop", "payload": {"n": i}} for i in range(100)]}
    ).encode()
    out: dict[str, object] = {}
    try:
        for name, path, body, paced in (
            ("bare", "/bench/bare", single, False),
            ("submit", "/v1/jobs", single, False),
            ("batch", "/v1/jobs/batch", batch, False),
            ("paced", "/v1/jobs", single, True),
        ):
            results = []
            for _ in range(runs):
                Job.objects.all().delete()
                results.append(_drive(port, path, body, headers, SECONDS, paced))
            for key_name in results[0]:
                out[f"api_{name}_{key_name}"] = summary([r[key_name] for r in results])
        out["api_paced_rate"] = PACED_RATE
        out["api_peak_rss_mib"] = max(
            (peak_rss_mib(p) for p in children_of(server.pid)), default=0.0
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    out["api_batch_jobs_per_s"] = summary(
        [r * 100 for r in out["api_batch_requests_per_s"]["runs"]]
    )
    out["api_submit_to_bare_ratio"] = (
        out["api_submit_requests_per_s"]["median"] / out["api_bare_requests_per_s"]["median"]
    )
    return out
