"""`make bench`: every scenario on SQLite and on PostgreSQL; prints a table, writes JSON.

Each figure is the median of BENCH_RUNS (default 3) runs, with min-max. The benchmark
reports; it never fails on a number.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from benchmarks.env import ROOT, database_urls

OUT = ROOT / "bench-results"

ROWS = [
    ("drain, jobs/s (incl. worker start)", "drain_jobs_per_s", ">= 4500"),
    ("drain, jobs/s (from first success)", "drain_steady_jobs_per_s", ""),
    ("worker peak RSS, MiB", "drain_worker_peak_rss_mib", "<= 80"),
    ("200/s created->started p50 ms", "lat200_started_p50_ms", ""),
    ("200/s created->started p99 ms", "lat200_started_p99_ms", "<= 2"),
    ("200/s created->finished p99 ms", "lat200_finished_p99_ms", "<= 5"),
    ("200/s achieved rate", "lat200_achieved_rate", ""),
    ("200/s hop commit: p50 / p99 ms", "hops200_commit", "hop"),
    ("200/s hop enqueue: p50 / p99 ms", "hops200_enqueue", "hop"),
    ("200/s hop wake: p50 / p99 ms", "hops200_wake", "hop"),
    ("200/s hop claim: p50 / p99 ms", "hops200_claim", "hop"),
    ("200/s hop hand-off: p50 / p99 ms", "hops200_hand_off", "hop"),
    ("200/s hop total: p50 / p99 ms", "hops200_total", "hop"),
    ("1000/s created->started p99 ms", "lat1000_started_p99_ms", ""),
    ("1000/s created->finished p99 ms", "lat1000_finished_p99_ms", "<= 20"),
    ("1000/s achieved rate", "lat1000_achieved_rate", ""),
    ("bare DRF endpoint req/s", "api_bare_requests_per_s", ""),
    ("POST /v1/jobs req/s (16 clients)", "api_submit_requests_per_s", ">= 1500"),
    ("POST /v1/jobs p95 ms (16 clients)", "api_submit_p95_ms", ""),
    ("POST /v1/jobs paced: achieved", "api_paced_requests_per_s", ""),
    ("POST /v1/jobs paced: p50 ms", "api_paced_p50_ms", ""),
    ("POST /v1/jobs paced: p95 ms", "api_paced_p95_ms", "<= 10"),
    ("POST /v1/jobs paced: p99 ms", "api_paced_p99_ms", ""),
    ("POST /v1/jobs/batch (100) req/s", "api_batch_requests_per_s", ""),
    ("POST /v1/jobs/batch jobs/s", "api_batch_jobs_per_s", ">= 15000"),
    ("POST /v1/jobs errors", "api_submit_errors", "0"),
    ("enqueue() in process, API's concurrency, jobs/s", "enqueue_one_jobs_per_s", ""),
    ("enqueue() in process, one caller, jobs/s", "enqueue_one_single_jobs_per_s", ""),
    ("enqueue_many(100), API's concurrency, jobs/s", "enqueue_many_jobs_per_s", ""),
    ("enqueue_many(100), one caller, jobs/s", "enqueue_many_single_jobs_per_s", ""),
]
# In-process enqueue against the API in the same run (issue: >= 3x and >= 2x).
ENQUEUE_RATIOS = (
    ("enqueue() / POST /v1/jobs", "enqueue_one_jobs_per_s", "api_submit_requests_per_s"),
    ("enqueue_many / POST /v1/jobs/batch", "enqueue_many_jobs_per_s", "api_batch_jobs_per_s"),
)


def fmt(value) -> str:
    if isinstance(value, dict) and "median" in value:
        return f"{value['median']:.1f} ({value['min']:.1f}-{value['max']:.1f})"
    if isinstance(value, float):
        return f"{value:.2f}"
    return "-" if value is None else str(value)


def _hop_cell(result: dict, key: str) -> str:
    p50, p99 = result.get(f"{key}_p50_ms"), result.get(f"{key}_p99_ms")
    return "-" if p50 is None or p99 is None else f"{p50:.2f} / {p99:.2f}"


def main() -> int:
    OUT.mkdir(exist_ok=True)
    results = {}
    report_only = "--report" in sys.argv  # print the table of the last run's JSON files
    wanted = os.environ.get("BENCH_DBS", "sqlite,postgres").split(",")
    for db in [db for db in database_urls() if db in wanted]:
        if report_only:
            if (OUT / f"{db}.json").exists():
                results[db] = json.loads((OUT / f"{db}.json").read_text())
            continue
        out = OUT / f"{db}.json"
        started = time.monotonic()
        print(f"== {db}: running (this takes a few minutes)", flush=True)
        code = subprocess.call(
            [sys.executable, "-m", "benchmarks.suite", "--db", db, "--out", str(out)], cwd=ROOT
        )
        if code != 0 or not out.exists():
            print(f"== {db}: the benchmark process failed (exit {code})")
            continue
        results[db] = json.loads(out.read_text())
        print(f"== {db}: done in {time.monotonic() - started:.0f}s")
    dbs = list(results)
    print()
    print(f"{'figure':38} {'target':>9}  " + "  ".join(f"{db:>26}" for db in dbs))
    for label, key, target in ROWS:
        if target == "hop":  # one probe run: p50 / p99 of the hop (benchmarks/hops.py)
            target = ""
            cells = "  ".join(f"{_hop_cell(results[db], key):>26}" for db in dbs)
        else:
            cells = "  ".join(f"{fmt(results[db].get(key)):>26}" for db in dbs)
        print(f"{label:38} {target:>9}  {cells}")
    for db in dbs:
        r = results[db]
        extra = {
            k: r.get(k)
            for k in (
                "api_submit_to_bare_ratio",
                "api_peak_rss_mib",
                "api_paced_rate",
                "idle",
            )
        }
        print(f"{db}: {json.dumps(extra, default=str)}")
        ratios = [
            f"{label} x{r[mine]['median'] / r[theirs]['median']:.1f}"
            for label, mine, theirs in ENQUEUE_RATIOS
            if mine in r and theirs in r
        ]
        if ratios:
            print(f"{db}: in the same run: {', '.join(ratios)}")
    print("\nPeers (Huey, SAQ, Dramatiq, BullMQ) in the same run: make bench-peers")
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nwritten: {OUT / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
