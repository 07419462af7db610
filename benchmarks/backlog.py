"""A million-job backlog: what it costs Redis, the reconciler, the claim and the submit.

    python -m benchmarks.backlog [--jobs 1000000] [--scheduled 100000] [--probe 20000]
                                 [--hours 6]

On a redis-server of its own and a database of its own (BACKLOG_DATABASE_URL: default a
SQLite file var/bench-backlog.sqlite3, removed at start; a postgres:// URL names a
database that is dropped and created). The backlog is what builds up over hours: its
jobs' ids and creation times are spread over the last --hours (ids carry their time),
inserted and dispatched in batches as the batch API does. Figures, each with and without
the backlog, in one run; it never fails on a number:

- Redis bytes per queued job (used_memory delta over the backlog's fill);
- one reconcile pass: the watchdog's (recent window + bounded sweep) and a full pass
  (what every pass did before), wall time and CPU of this process (the SQLite engine
  runs in it; PostgreSQL's backend CPU is not counted) plus Redis's;
- submit rate: --probe jobs through submit_batch (500 per call) into `default`;
  this and the claim rate are the median of 3 rounds;
- claim rate: those --probe jobs claimed (50 per call), finished and settled through
  jobs.broker by 2 processes from `default` while the backlog waits in `low`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from pathlib import Path
from typing import Any

import redis

from benchmarks.env import BenchRedis, base_env

ROOT = Path(__file__).resolve().parents[1]
BATCH = 500
ROUNDS = 3  # submit and claim rates: the median of this many


def _redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _submit(count: int, queue: str) -> tuple[float, list[str]]:
    """Submit `count` jobs in batches: (jobs/s, their ids)."""
    from jobs.services import submit_batch
    from jobs.submission import JobRequest

    ids: list[str] = []
    began = time.monotonic()
    for start in range(0, count, BATCH):
        n = min(BATCH, count - start)
        results = submit_batch([JobRequest(type="demo.noop", payload={}, queue=queue)] * n)
        ids += [str(r.job_id) for r in results]
    return count / (time.monotonic() - began), ids


def _fill(count: int, queue: str, hours: float, **options: Any) -> None:
    """`count` jobs created over the last `hours`, in the database and in Redis."""
    import random
    from datetime import UTC, datetime

    from django.db import transaction

    from jobs.broker.client import Broker
    from jobs.bulk_insert import insert_rows
    from jobs.dispatch import dispatch_of
    from jobs.ids import first_id_at
    from jobs.models import Job
    from jobs.submission import JOB_COLUMNS, JobRequest, prepare
    from jobs.timeutil import wall_ms

    broker, rng = Broker(), random.Random(7)
    now, span = wall_ms(), int(hours * 3_600_000)
    for start in range(0, count, BATCH):
        prepared = []
        for i in range(start, min(count, start + BATCH)):
            at = now - span + span * i // count
            made = prepare(JobRequest(type="demo.noop", payload={}, queue=queue, **options))
            made.job.id = type(made.job.id)(int=first_id_at(at).int | rng.getrandbits(62))
            made.job.created_at = datetime.fromtimestamp(at / 1000, tz=UTC)
            prepared.append(made)
        with transaction.atomic():
            insert_rows(Job, JOB_COLUMNS, [p.row for p in prepared])
        broker.enqueue([dispatch_of(p.job, p.payload_json) for p in prepared])


def _analyze() -> None:
    """Fresh planner statistics, as autovacuum (or SQLite's optimize) would make after a
    load this size: with the empty table's, PostgreSQL reads a page of the reconcile
    sweep by a bitmap scan of all 1M queued rows and a sort (0.6 s, not 0.5 ms)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _drive(done: Any, deadline: float) -> None:
    from benchmarks.drivers import claim_finish_settle
    from jobs.broker.client import Broker
    from jobs.broker.connection import reset_redis

    reset_redis()
    claim_finish_settle(Broker(), ["default"], 50, deadline, done)


def _claim_rate(count: int) -> float:
    from django.db import connection

    connection.close()  # no database socket shared with the forked drivers
    ctx = multiprocessing.get_context("fork")
    done = ctx.Value("q", 0)
    began = time.monotonic()
    procs = [ctx.Process(target=_drive, args=(done, began + 120)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(130)
    return done.value / (time.monotonic() - began)


def _reconcile_cost(client: redis.Redis, full: bool) -> tuple[float, float, int]:
    """(wall s, CPU s of this process and Redis, jobs dispatched) of one pass."""
    from jobs.broker.client import Broker
    from workers.reconcile import Reconciler, reconcile

    broker = Broker()
    broker.mark_epoch()
    cpu0, redis0, began = time.process_time(), _redis_cpu(client), time.monotonic()
    dispatched = reconcile(broker) if full else Reconciler(broker).run()
    wall = time.monotonic() - began
    return wall, time.process_time() - cpu0 + _redis_cpu(client) - redis0, dispatched


def measure(client: redis.Redis, probe: int) -> dict[str, float]:
    from jobs.models import Job

    out: dict[str, float] = {}
    submits, claims = [], []
    for _round in range(ROUNDS):
        rate, ids = _submit(probe, "default")
        submits.append(rate)
        claims.append(_claim_rate(probe))
        # The drivers settle in Redis only: record the outcomes the workers' writer
        # would, or a later pass finds these jobs unfinished and gone from Redis.
        Job.objects.filter(pk__in=ids).update(status="succeeded")
    out["submit"], out["claim"] = statistics.median(submits), statistics.median(claims)
    for name, full in (("watchdog", False), ("full", True)):
        wall, cpu, dispatched = _reconcile_cost(client, full)
        if dispatched:  # every job was dispatched at submit: a pass should find none
            print(f"  note: the {name} pass dispatched {dispatched} jobs Redis lacked")
        out[f"{name}_wall"], out[f"{name}_cpu"] = wall, cpu
    return out


def prepare_database(url: str) -> None:
    if url.startswith("postgres"):
        import psycopg

        admin, name = url.rsplit("/", 1)
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    else:
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--scheduled", type=int, default=100_000)
    parser.add_argument("--probe", type=int, default=20_000)
    parser.add_argument("--hours", type=float, default=6.0)
    args = parser.parse_args()
    url = os.environ.get("BACKLOG_DATABASE_URL", f"sqlite:///{ROOT / 'var/bench-backlog.sqlite3'}")
    (ROOT / "var").mkdir(exist_ok=True)
    prepare_database(url)
    server = BenchRedis()
    os.environ.update(base_env(url, server.url, QUEUEY_KEY_PREFIX="backlog"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    client = redis.Redis(port=server.port)
    try:
        empty = measure(client, args.probe)
        memory0, began = int(client.info("memory")["used_memory"]), time.monotonic()
        _fill(args.jobs, "low", args.hours)
        bytes_per_job = (int(client.info("memory")["used_memory"]) - memory0) / args.jobs
        _fill(args.scheduled, "default", args.hours, delay_seconds=86_400)
        _analyze()
        fill_s = time.monotonic() - began
        full = measure(client, args.probe)
    finally:
        server.close()
    vendor = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(
        f"backlog on {vendor}: {args.jobs:,} queued + {args.scheduled:,} scheduled, made "
        f"over {args.hours:g} h (filled in {fill_s:.0f} s), probe {args.probe:,} jobs, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"  Redis bytes per queued job: {bytes_per_job:.0f}")
    print(f"  {'':<36}{'empty':>11}{'backlog':>11}{'ratio':>10}")
    rows = [
        ("submit_batch, jobs/s (median of 3)", "submit"),
        ("claim -> finish -> settle, jobs/s", "claim"),
        ("watchdog's reconcile pass, s", "watchdog_wall"),
        ("  its CPU (this process + Redis), s", "watchdog_cpu"),
        ("a full reconcile pass, s", "full_wall"),
        ("  its CPU (this process + Redis), s", "full_cpu"),
    ]
    for label, key in rows:
        ratio = full[key] / empty[key] if empty[key] else float("nan")
        print(f"  {label:<36}{empty[key]:>11.3f}{full[key]:>11.3f}{ratio:>10.2f}")
    print(
        "  a reconcile pass every 15 s costs the watchdog "
        f"{full['watchdog_cpu'] / 15:.1%} of a core with the backlog "
        f"(a full pass each time: {full['full_cpu'] / 15:.1%})"
    )


if __name__ == "__main__":
    main()
