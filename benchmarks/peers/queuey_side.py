"""Queuey's side of a peers run: one scenario in a process of its own (project venv).

python -m benchmarks.peers.queuey_side --scenario drain --jobs 5000 (DATABASE_URL and
REDIS_URL from the environment: the run's own database and redis-server). Every outcome
is in the database when a figure is taken. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

from benchmarks.env import base_env, manage

PROCESSES = 2
# Queuey's started_at / finished_at are Redis TIME floored to whole milliseconds (created_at
# is microseconds): half a millisecond is added back to each latency, the truncation's mean.
FLOOR_MS = 0.5


def _stop(proc, timeout: float = 60) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout)


def drain(env: dict, jobs: int) -> dict:
    """Jobs queued first; from exec of `runworker` to the last outcome in the database.
    startup_s: exec to the first claim (the earliest job's started_at, Redis's clock)."""
    from django.db.models import Min

    from benchmarks.workload import reset, seed_noops, wait_until_succeeded
    from jobs.models import Job

    reset()
    seed_noops(jobs)
    launched = time.time()
    workers = manage(["runworker", "--processes", str(PROCESSES)], env)
    try:
        wait_until_succeeded(jobs, timeout=600)
        end = time.time()
    finally:
        _stop(workers)
    first = Job.objects.aggregate(first=Min("started_at"))["first"].timestamp()
    return {"jobs_per_s": jobs / (end - launched), "startup_s": first - launched}


def latency(env: dict, rate: float, seconds: float) -> dict:
    from benchmarks.workload import steady_rate, warm_up

    workers = manage(["runworker", "--processes", str(PROCESSES)], env)
    try:
        warm_up(PROCESSES)
        return _unfloor(steady_rate(int(rate), seconds, 1))
    finally:
        _stop(workers)


def _unfloor(out: dict) -> dict:
    return {k: v + FLOOR_MS if k.endswith("_ms") else v for k, v in out.items()}


def api_latency(env: dict, rate: float, seconds: float) -> dict:
    from benchmarks.peers.queuey_api import paced_submit

    workers = manage(["runworker", "--processes", str(PROCESSES)], env)
    try:
        return _unfloor(paced_submit(env, rate, seconds, PROCESSES))
    finally:
        _stop(workers)


def enqueue_rate(seconds: float) -> dict:
    """One producer calling jobs.enqueue.enqueue (commit + dispatch per job)."""
    from benchmarks.enqueue import _jobs_per_s
    from benchmarks.workload import reset
    from jobs.enqueue import enqueue

    def one(n: int) -> int:
        enqueue("demo.noop", {"n": n})
        return 1

    reset()
    return {"jobs_per_s": _jobs_per_s(one, seconds)}


def watchdog_startup(env: dict) -> dict:
    """Exec of `runwatchdog` to the end of its first pass (it marks Redis's epoch last)."""
    from benchmarks.workload import reset
    from jobs.broker.client import Broker

    reset()  # an empty job table: the pass's cost is start-up, not a backlog
    broker = Broker()
    broker.redis.flushall()
    launched = time.time()
    proc = manage(["runwatchdog"], env)
    try:
        while not broker.has_epoch():
            if time.time() - launched > 60 or proc.poll() is not None:
                raise TimeoutError("the watchdog made no first pass")
            time.sleep(0.002)
        return {"startup_s": time.time() - launched}
    finally:
        _stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # run the finally clauses
    env = base_env(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # also when the schema changed during the run
    if args.scenario == "migrate":
        call_command("flush", interactive=False, verbosity=0)
        print(json.dumps({}))
        return
    if args.scenario == "watchdog":
        print(json.dumps(watchdog_startup(env)))
        return
    watchdog = manage(["runwatchdog"], env)
    try:
        if args.scenario == "drain":
            out = drain(env, args.jobs)
        elif args.scenario == "latency":
            out = latency(env, args.rate, args.seconds)
        elif args.scenario == "api":
            out = api_latency(env, args.rate, args.seconds)
        else:
            out = enqueue_rate(args.seconds)
    finally:
        _stop(watchdog)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
