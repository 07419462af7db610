"""A peer's scenarios, run inside var/peers/venv (stdlib + the peer; never Django).

python -m benchmarks.peers.harness --peer huey --scenario drain --jobs 5000 --processes 2
prints one JSON line. BENCH_REDIS_URL names the run's own redis-server. The adapter
module (benchmarks.peers.<peer>_app) gives worker_cmds(processes), seed(n), and
enqueue(t) or its own produce_paced / enqueue_rate; its handler and completion hook
write benchmarks.peers.record records.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.peers import record
from benchmarks.stats import percentile

ROOT = Path(__file__).resolve().parents[2]
WARM_UP = 20


def wait_records(directory: Path, wanted: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (got := record.count(directory)) < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{got}/{wanted} records")
        time.sleep(0.005)


def start_workers(adapter, processes: int) -> list[subprocess.Popen]:
    log = open(ROOT / "var" / "peers" / "worker.log", "ab")  # noqa: SIM115 (the children's)
    with log:
        return [
            subprocess.Popen(cmd, cwd=ROOT, start_new_session=True, stdout=log, stderr=log)
            for cmd in adapter.worker_cmds(processes)
        ]


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def drain(adapter, jobs: int, processes: int) -> dict:
    """Jobs queued first; from launching the workers to the last job's completion."""
    adapter.seed(jobs)
    launched = time.time()
    procs = start_workers(adapter, processes)
    try:
        wait_records(Path(os.environ["BENCH_RECORD_DIR"]), 2 * jobs, timeout=300)
    finally:
        stop_workers(procs)
    rows = record.read(Path(os.environ["BENCH_RECORD_DIR"]))
    last = max(at for kind, _, at in rows if kind == record.FINISHED)
    first = min(at for kind, _, at in rows if kind == record.STARTED)
    return {"jobs_per_s": jobs / (last - launched), "startup_s": first - launched}


def latency(adapter, rate: float, seconds: float, processes: int) -> dict:
    """Warm up (WARM_UP jobs done), then `rate` jobs/s for `seconds`, one producer."""
    directory = Path(os.environ["BENCH_RECORD_DIR"])
    procs = start_workers(adapter, processes)
    try:
        if warm := getattr(adapter, "warm_up", None):
            warm(WARM_UP)
        else:
            for _ in range(WARM_UP):
                adapter.enqueue(-1.0)
        wait_records(directory, 2 * WARM_UP, timeout=60)
        time.sleep(0.5)
        paced = getattr(adapter, "produce_paced", None) or _produce_paced
        sent, achieved = paced(adapter, rate, seconds)
        wait_records(directory, 2 * (WARM_UP + sent), timeout=60)
    finally:
        stop_workers(procs)
    rows = [r for r in record.read(directory) if r[1] > 0]
    started = [(at - t) * 1000 for kind, t, at in rows if kind == record.STARTED]
    finished = [(at - t) * 1000 for kind, t, at in rows if kind == record.FINISHED]
    return {
        "achieved_rate": achieved,
        **{f"started_p{q}_ms": percentile(started, q) for q in (50, 99)},
        **{f"finished_p{q}_ms": percentile(finished, q) for q in (50, 99)},
    }


def _produce_paced(adapter, rate: float, seconds: float) -> tuple[int, float]:
    count, interval = int(rate * seconds), 1 / rate
    t0 = time.time() + 0.05
    for i in range(count):
        delay = t0 + i * interval - time.time()
        if delay > 0:
            time.sleep(delay)
        adapter.enqueue(time.time())
    return count, count / (time.time() - t0)


def enqueue_rate(adapter, seconds: float) -> dict:
    own = getattr(adapter, "enqueue_rate", None)
    if own:
        return {"jobs_per_s": own(seconds)}
    done, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        adapter.enqueue(0.0)
        done += 1
    return {"jobs_per_s": done / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--peer", required=True)
    parser.add_argument("--scenario", required=True, choices=["drain", "latency", "enqueue"])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally clauses
    os.environ["BENCH_RECORD_DIR"] = tempfile.mkdtemp(prefix=f"queuey-bench-{args.peer}-")
    adapter = importlib.import_module(f"benchmarks.peers.{args.peer}_app")
    if args.scenario == "drain":
        out = drain(adapter, args.jobs, args.processes)
    elif args.scenario == "latency":
        out = latency(adapter, args.rate, args.seconds, args.processes)
    else:
        out = enqueue_rate(adapter, args.seconds)
    for path in Path(os.environ["BENCH_RECORD_DIR"]).glob("*.rec"):
        path.unlink()
    os.rmdir(os.environ["BENCH_RECORD_DIR"])
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
