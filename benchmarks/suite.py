"""One database backend's benchmark, in a process of its own (Django is set up once).

python -m benchmarks.suite --db sqlite --out bench-results/sqlite.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
from pathlib import Path

from benchmarks.env import BenchRedis, base_env, database_urls, manage
from benchmarks.stats import summary

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DRAIN_JOBS = int(os.environ.get("BENCH_DRAIN_JOBS", "20000"))
STEADY_SECONDS = float(os.environ.get("BENCH_STEADY_SECONDS", "30"))
FAST_SECONDS = float(os.environ.get("BENCH_FAST_SECONDS", "10"))
# A subset for quick comparisons, e.g. BENCH_SCENARIOS=api; the full set by default.
SCENARIOS = set(os.environ.get("BENCH_SCENARIOS", "drain,latency,idle,api").split(","))


class BenchStack:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.workers: subprocess.Popen | None = None
        self.watchdog = manage(["runwatchdog"], env)

    def start_workers(self, **env: str) -> subprocess.Popen:
        self.workers = manage(["runworker", "--processes", "2"], {**self.env, **env})
        return self.workers

    def stop_workers(self) -> None:
        if self.workers:
            self.workers.send_signal(signal.SIGTERM)
            self.workers.wait(60)
            self.workers = None

    def close(self) -> None:
        self.stop_workers()
        self.watchdog.send_signal(signal.SIGTERM)
        self.watchdog.wait(30)


def prepare_database(url: str) -> None:
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url[len("sqlite:///") :] + suffix).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    url = database_urls()[args.db]
    prepare_database(url)
    redis_server = BenchRedis()
    env = base_env(url, redis_server.url)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from benchmarks import workload

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # no leftovers of an earlier run
    stack = BenchStack(env)
    results: dict[str, object] = {"db": args.db}
    try:
        if "drain" in SCENARIOS:
            drains = [workload.drain(stack, DRAIN_JOBS) for _ in range(RUNS)]
            for key in ("jobs_per_s", "steady_jobs_per_s", "worker_peak_rss_mib"):
                results[f"drain_{key}"] = summary([d[key] for d in drains])
        if "latency" in SCENARIOS:
            stack.start_workers()
            workload.warm_up(processes=2)
            for name, rate, seconds, producers in (
                ("lat200", 200, STEADY_SECONDS, 1),
                ("lat1000", 1000, FAST_SECONDS, 3),
            ):
                runs = [workload.steady_rate(rate, seconds, producers) for _ in range(RUNS)]
                for key in runs[0]:
                    results[f"{name}_{key}"] = summary([r[key] for r in runs])
            stack.stop_workers()
            for key, value in workload.hop_breakdown(stack, 200, STEADY_SECONDS).items():
                results[f"hops200_{key}"] = value
        if "idle" in SCENARIOS:
            results["idle"] = workload.idle_cpu(stack)
        if "api" in SCENARIOS and os.environ.get("BENCH_API", "1") == "1":
            from benchmarks import api, enqueue

            results.update(api.run_all(env, RUNS))
            results.update(enqueue.run_all(env, RUNS))
    finally:
        stack.close()
        redis_server.close()
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
