"""Capacity: what one job costs Redis and PostgreSQL, and what one of each carries.

    python -m benchmarks.capacity [--jobs 2000] [--redis-jobs 40000] [--batch 100]

On a redis-server of its own (127.0.0.1, a free port) and a PostgreSQL database of its
own (CAPACITY_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/queuey_capacity,
created if missing, emptied at start). Bounded: every phase has a deadline; about a
minute on two cores. It reports; it never fails on a number. Four phases:

1. life of a job: --jobs jobs submitted one by one through submit_job (what one
   POST /v1/jobs does), then drained by one `runworker --burst` process (claim, run,
   finish, write outcome, settle). Per job and per stage: Redis commands (INFO
   commandstats deltas), bytes in and out (INFO stats total_net_*), Redis memory of a
   queued job, database rows inserted / updated per table (pg_stat_user_tables) and
   transactions (pg_stat_database.xact_commit). The cost of the INFO calls themselves
   is measured with an empty interval and subtracted.
2. one Redis, the claim/finish scripts alone: --redis-jobs jobs enqueued, then 1 and 2
   driver processes loop claim(--batch) -> finish -> settle through jobs.broker. Rate
   achieved, and jobs per second of Redis CPU (INFO cpu): the ceiling of one core.
3. one PostgreSQL end to end: the same jobs submitted in batches (submit_batch) and
   drained by 2 worker processes; rate, and jobs per second of the CPU of this
   database's backends (sampled from /proc): the ceiling of one PostgreSQL core for
   this write path (WAL writer and checkpointer not included).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from benchmarks.env import BenchRedis, _pg_ready, base_env, manage
from benchmarks.stats import cpu_seconds

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/queuey_capacity"
TABLES = ("jobs_job", "jobs_attempt")
PHASE_TIMEOUT = 120.0
QUEUES = ["high", "default", "low"]


# --- Redis counters ---------------------------------------------------------------------
@dataclass
class RedisSnap:
    calls: Counter[str]
    net_in: int
    net_out: int
    cpu: float
    memory: int

    @classmethod
    def take(cls, client: redis.Redis) -> RedisSnap:
        stats = client.info("commandstats")
        calls = Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()})
        net, cpu, mem = client.info("stats"), client.info("cpu"), client.info("memory")
        return cls(
            calls,
            int(net["total_net_input_bytes"]),
            int(net["total_net_output_bytes"]),
            float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
            int(mem["used_memory"]),
        )

    def minus(self, other: RedisSnap) -> RedisSnap:
        calls = Counter(self.calls)
        calls.subtract(other.calls)
        return RedisSnap(
            +calls,
            self.net_in - other.net_in,
            self.net_out - other.net_out,
            self.cpu - other.cpu,
            self.memory - other.memory,
        )


class RedisMeter:
    """Deltas between two points, less what the measuring itself cost (an empty interval)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        first = RedisSnap.take(client)
        self.overhead = RedisSnap.take(client).minus(first)

    def since(self, start: RedisSnap) -> RedisSnap:
        delta = RedisSnap.take(self.client).minus(start)
        calls = Counter(delta.calls)
        calls.subtract(self.overhead.calls)
        return RedisSnap(
            +calls,
            delta.net_in - self.overhead.net_in,
            delta.net_out - self.overhead.net_out,
            delta.cpu,
            delta.memory,
        )


# --- PostgreSQL counters ----------------------------------------------------------------
def pg_counters() -> dict[str, int]:
    """Rows inserted / updated per table, and commits, in this database so far."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "select relname, n_tup_ins, n_tup_upd from pg_stat_user_tables where relname = any(%s)",
            [list(TABLES)],
        )
        out = {}
        for name, ins, upd in cur.fetchall():
            out[f"{name} insert"], out[f"{name} update"] = int(ins), int(upd)
        cur.execute("select xact_commit from pg_stat_database where datname = current_database()")
        out["transactions"] = int(cur.fetchone()[0])
    connection.close()  # a backend's statistics reach the shared counters when it ends
    return out


def pg_settled() -> dict[str, int]:
    """pg_counters once two reads a second apart agree (statistics arrive late)."""
    last = pg_counters()
    for _ in range(10):
        time.sleep(1.0)
        now = pg_counters()
        if {k: v for k, v in now.items() if k != "transactions"} == {
            k: v for k, v in last.items() if k != "transactions"
        }:
            return now
        last = now
    return last


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after}


@dataclass
class BackendCpu:
    """CPU seconds of this database's backends, sampled from /proc while a block runs."""

    seen: dict[int, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self, dsn: str) -> None:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            me = conn.execute("select pg_backend_pid()").fetchone()[0]
            while not self.stop.wait(0.05):
                rows = conn.execute(
                    "select pid from pg_stat_activity where datname = current_database()"
                ).fetchall()
                for (pid,) in rows:
                    if pid != me:
                        with contextlib.suppress(OSError):
                            self.seen[pid] = max(self.seen.get(pid, 0.0), cpu_seconds(pid))

    @contextlib.contextmanager
    def during(self, dsn: str) -> Iterator[BackendCpu]:
        base = {pid: cpu for pid, cpu in self.seen.items()}
        thread = threading.Thread(target=self._sample, args=(dsn,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            thread.join(5)
        self.total = sum(cpu - base.get(pid, 0.0) for pid, cpu in self.seen.items())


# --- phases -----------------------------------------------------------------------------
def wait_succeeded(count: int, timeout: float = PHASE_TIMEOUT) -> None:
    from jobs.models import Job

    deadline = time.monotonic() + timeout
    while Job.objects.filter(status="succeeded").count() < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{Job.objects.filter(status='succeeded').count()}/{count} done")
        time.sleep(0.05)


def reset(client: redis.Redis) -> None:
    from jobs.models import Job

    Job.objects.all().delete()
    client.flushall()


def life_of_a_job(env: dict[str, str], client: redis.Redis, jobs: int, dsn: str) -> dict:
    """Phase 1: submit one by one, then one burst worker drains; costs per stage."""
    from django.db import connection

    from jobs.services import submit_job
    from jobs.submission import JobRequest

    reset(client)
    meter = RedisMeter(client)
    pg0, r0 = pg_settled(), RedisSnap.take(client)
    statements: Counter[str] = Counter()

    def count(execute, sql, params, many, context):  # Django's execute_wrapper protocol
        statements[sql.split(None, 1)[0].upper()] += 1
        return execute(sql, params, many, context)

    began = time.monotonic()
    with BackendCpu().during(dsn) as submit_cpu, connection.execute_wrapper(count):
        for i in range(jobs):
            submit_job(JobRequest(type="demo.noop", payload={"i": i}))
        connection.close()
    submit_s = time.monotonic() - began
    submit_redis, pg1 = meter.since(r0), pg_settled()
    r1 = RedisSnap.take(client)
    began = time.monotonic()
    with BackendCpu().during(dsn) as worker_cpu:
        worker = manage(["runworker", "--burst"], env)
        try:
            if worker.wait(PHASE_TIMEOUT) != 0:
                raise RuntimeError(f"runworker --burst exited {worker.returncode}")
        finally:
            if worker.poll() is None:  # past its deadline: not left behind
                worker.kill()
                worker.wait()
    drain_s = time.monotonic() - began
    wait_succeeded(jobs, timeout=10)
    return {
        "submit": (submit_redis, delta(pg1, pg0)),
        "worker": (meter.since(r1), delta(pg_settled(), pg1)),
        "submit_statements": statements,
        "pg_cpu": (submit_cpu.total, worker_cpu.total),
        "submit_jobs_per_s": jobs / submit_s,
        "drain_jobs_per_s": jobs / drain_s,
    }


def _drive(batch: int, deadline: float, done: Any) -> None:
    """One driver process: claim a batch, finish it, settle it, until the queues are empty."""
    from benchmarks.drivers import claim_finish_settle
    from jobs.broker.client import Broker
    from jobs.broker.connection import reset_redis

    reset_redis()  # a pool of this process's own, not the parent's sockets
    claim_finish_settle(Broker(), QUEUES, batch, deadline, done)


def redis_alone(client: redis.Redis, jobs: int, batch: int, drivers: int) -> dict:
    """Phase 2: enqueue `jobs` (untimed), then `drivers` processes claim/finish/settle."""
    from django.db import connection

    from jobs.broker.client import Broker
    from jobs.dispatch import dispatch_of
    from jobs.submission import JobRequest, prepare

    client.flushall()
    broker = Broker()
    r0 = RedisSnap.take(client)
    for start in range(0, jobs, 500):
        prepared = [
            prepare(JobRequest(type="demo.noop", payload={"i": i}))
            for i in range(start, min(jobs, start + 500))
        ]
        broker.enqueue([dispatch_of(p.job, p.payload_json) for p in prepared])
    enqueue = RedisSnap.take(client).minus(r0)
    connection.close()  # no database socket shared with the forked drivers
    ctx = multiprocessing.get_context("fork")
    done = ctx.Value("q", 0)
    deadline = time.monotonic() + 30
    r1, began = RedisSnap.take(client), time.monotonic()
    procs = [ctx.Process(target=_drive, args=(batch, deadline, done)) for _ in range(drivers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    seconds, work = time.monotonic() - began, RedisSnap.take(client).minus(r1)
    return {
        "jobs": done.value,
        "jobs_per_s": done.value / seconds,
        "cpu_per_job": work.cpu / max(done.value, 1),
        "enqueue_cpu_per_job": enqueue.cpu / jobs,
        "calls": work.calls,
    }


def postgres_end_to_end(env: dict[str, str], client: redis.Redis, jobs: int, dsn: str) -> dict:
    """Phase 3: submit_batch(100) then 2 worker processes drain; backends' CPU per job."""
    from jobs.services import submit_batch
    from jobs.submission import JobRequest

    reset(client)
    sampler = BackendCpu()
    with sampler.during(dsn):
        began = time.monotonic()
        for start in range(0, jobs, 100):
            submit_batch(
                [
                    JobRequest(type="demo.noop", payload={"i": i})
                    for i in range(start, min(jobs, start + 100))
                ]
            )
        from django.db import connection

        connection.close()
        workers = manage(["runworker", "--processes", "2"], env)
        try:
            wait_succeeded(jobs)
        finally:
            workers.send_signal(signal.SIGTERM)
            workers.wait(60)
        seconds = time.monotonic() - began
    return {"jobs_per_s": jobs / seconds, "cpu_per_job": sampler.total / jobs}


# --- report -----------------------------------------------------------------------------
def per_job(value: float, jobs: int) -> str:
    return f"{value / jobs:.2f}"


def print_life(life: dict, jobs: int) -> None:
    print(f"\n1. life of a job ({jobs} jobs; submit_job one by one, one runworker --burst)")
    print(f"   {'per job':<44}{'submit':>10}{'worker':>10}{'total':>10}")
    (sr, sd), (wr, wd) = life["submit"], life["worker"]
    names = sorted(set(sr.calls) | set(wr.calls), key=lambda n: -(sr.calls[n] + wr.calls[n]))
    # EVALSHA is a script call (one round trip); the other commands mostly run inside
    # the scripts (commandstats counts those too), a few are the worker's own heartbeats.
    rows = [
        (f"Redis {n}", sr.calls[n], wr.calls[n])
        for n in names
        if sr.calls[n] + wr.calls[n] >= jobs / 100
    ]
    rows += [
        (
            "Redis commands run, all (incl. inside Lua)",
            sum(sr.calls.values()),
            sum(wr.calls.values()),
        ),
        ("Redis bytes in (client -> Redis)", sr.net_in, wr.net_in),
        ("Redis bytes out (Redis -> client)", sr.net_out, wr.net_out),
        ("Redis CPU, microseconds", sr.cpu * 1e6, wr.cpu * 1e6),
    ]
    rows += [(f"DB rows: {k}", sd.get(k, 0), wd.get(k, 0)) for k in sd if k != "transactions"]
    rows.append(
        ("DB transactions (commits, reads included)", sd["transactions"], wd["transactions"])
    )
    rows.append(("DB backends' CPU, microseconds", *(c * 1e6 for c in life["pg_cpu"])))
    for label, a, b in rows:
        print(
            f"   {label:<44}{per_job(a, jobs):>10}{per_job(b, jobs):>10}{per_job(a + b, jobs):>10}"
        )
    print(
        "   SQL statements per submit_job: "
        + ", ".join(f"{k} {v / jobs:.2f}" for k, v in life["submit_statements"].most_common())
    )
    print(f"   Redis memory of a queued job, bytes{sr.memory / jobs:>19.0f}")
    print(
        f"   rates: submit_job one by one {life['submit_jobs_per_s']:.0f} jobs/s (one caller),"
        f" one worker process drains {life['drain_jobs_per_s']:.0f} jobs/s (incl. its start)"
    )


def print_redis(runs: list[dict], batch: int) -> None:
    print(f"\n2. one Redis, claim({batch}) -> finish -> settle through jobs.broker, no database")
    print(
        f"   {'drivers':<10}{'jobs':>8}{'jobs/s':>10}"
        f"{'Redis CPU us/job':>18}{'jobs/s per core':>17}"
    )
    for n, r in enumerate(runs, 1):
        ceiling = 1 / r["cpu_per_job"] if r["cpu_per_job"] else float("inf")
        print(
            f"   {n:<10}{r['jobs']:>8}{r['jobs_per_s']:>10.0f}"
            f"{r['cpu_per_job'] * 1e6:>18.1f}{ceiling:>17.0f}"
        )
    calls, done = runs[-1]["calls"], max(runs[-1]["jobs"], 1)
    print(
        f"   per job: {sum(calls.values()) / done:.1f} commands run, of them "
        + ", ".join(f"{k} {v / done:.2f}" for k, v in calls.most_common(6))
    )
    print(f"   enqueue (500 per call): Redis CPU {runs[0]['enqueue_cpu_per_job'] * 1e6:.1f} us/job")


def print_postgres(pg: dict, jobs: int) -> None:
    ceiling = 1 / pg["cpu_per_job"] if pg["cpu_per_job"] else float("inf")
    print(f"\n3. one PostgreSQL end to end ({jobs} jobs: submit_batch(100), 2 worker processes)")
    print(f"   achieved {pg['jobs_per_s']:.0f} jobs/s with everything on this machine")
    print(
        f"   database backends' CPU {pg['cpu_per_job'] * 1e6:.0f} us/job"
        f" -> {ceiling:.0f} jobs/s per PostgreSQL core for this write path"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--redis-jobs", type=int, default=40000)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    dsn = os.environ.get("CAPACITY_DATABASE_URL", DEFAULT_DB)
    if not dsn.startswith("postgres") or not _pg_ready(dsn):
        raise SystemExit(f"needs a PostgreSQL: none answers at {dsn} (CAPACITY_DATABASE_URL)")
    # A SIGTERM (e.g. from `timeout`) unwinds like Ctrl+C, so the finally below stops
    # the benchmark's redis-server instead of leaving it running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = BenchRedis()
    try:
        env = base_env(dsn, server.url, QUEUEY_KEY_PREFIX="capacity")
        os.environ.update(env)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        client = redis.Redis.from_url(server.url)
        print(f"capacity: Redis {client.info('server')['redis_version']}, {os.cpu_count()} CPUs")
        print_life(life_of_a_job(env, client, args.jobs, dsn), args.jobs)
        runs = [redis_alone(client, args.redis_jobs, args.batch, n) for n in (1, 2)]
        print_redis(runs, args.batch)
        print_postgres(
            postgres_end_to_end(env, client, args.redis_jobs // 4, dsn), args.redis_jobs // 4
        )
    finally:
        server.close()


if __name__ == "__main__":
    main()
