"""API submit rate against gunicorn (the `make run` settings), driven by aiohttp."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time

import aiohttp

from benchmarks.env import free_port
from benchmarks.stats import children_of, peak_rss_mib, percentile, summary

SECONDS = float(os.environ.get("BENCH_API_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("BENCH_API_CONCURRENCY", "16"))


async def _drive(url: str, body: bytes, headers: dict[str, str], seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def client() -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                started = time.perf_counter()
                async with session.post(url, data=body) as response:
                    await response.read()
                    if response.status not in (200, 201):
                        errors += 1
                latencies.append((time.perf_counter() - started) * 1000)

        start = time.monotonic()
        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
        elapsed = time.monotonic() - start
    return {
        "requests_per_s": len(latencies) / elapsed,
        "p95_ms": percentile(latencies, 95),
        "errors": errors,
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
    base = f"http://127.0.0.1:{port}"
    headers = {"content-type": "application/json", "x-api-key": key}
    single = json.dumps({"type": "demo.noop", "payload": {"n": 1}}).encode()
    batch = json.dumps(
        {"jobs": [{"type": "demo.noop", "payload": {"n": i}} for i in range(100)]}
    ).encode()
    out: dict[str, object] = {}
    try:
        for name, path, body in (
            ("bare", "/bench/bare", single),
            ("submit", "/v1/jobs", single),
            ("batch", "/v1/jobs/batch", batch),
        ):
            results = []
            for _ in range(runs):
                Job.objects.all().delete()
                results.append(asyncio.run(_drive(base + path, body, headers, SECONDS)))
            for key_name in ("requests_per_s", "p95_ms", "errors"):
                out[f"api_{name}_{key_name}"] = summary([r[key_name] for r in results])
        out["api_peak_rss_mib"] = max(
            (peak_rss_mib(p) for p in children_of(server.pid)), default=0.0
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    rate = out["api_batch_requests_per_s"]["median"]
    out["api_batch_jobs_per_s"] = rate * 100
    out["api_submit_to_bare_ratio"] = (
        out["api_submit_requests_per_s"]["median"] / out["api_bare_requests_per_s"]["median"]
    )
    return out
