"""One Redis server (QUEUEY_PARTITIONS=1) beside a 3-master Redis Cluster (P=6), same run.

    python -m benchmarks.cluster [--jobs 20000] [--batch 50] [--drivers 2]

Each layout gets the same work through jobs.broker, no database: --jobs no-op jobs
enqueued (in batches of 500), then --drivers processes loop claim(--batch) -> finish ->
settle until the queues are empty. It prints the rate, the Redis CPU per job (INFO cpu
of every master) and each master's share of jobs and of that CPU: the share is what a
cluster buys, since each master is its own core. On two cores the servers and the
drivers compete for the same CPUs, so the rates are not a cluster's capacity: read the
shares and the CPU per job. Redis servers of its own on free loopback ports; bounded
(each phase stops at 60 s). It reports; it never fails on a number.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from typing import Any

import redis

from benchmarks.env import BenchRedis, base_env
from tests.support.redis_cluster import RedisCluster

PREFIX = "bench-cluster"
QUEUES = ["high", "default", "low"]
PHASE_SECONDS = 60.0


def _cpu(node: redis.Redis) -> float:
    info = node.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _drive(url: str, partitions: int, batch: int, deadline: float, done: Any) -> None:
    from benchmarks.drivers import claim_finish_settle
    from jobs.broker.client import Broker
    from jobs.broker.connection import connect

    claim_finish_settle(Broker(connect(url), PREFIX, partitions), QUEUES, batch, deadline, done)


def run_layout(url: str, nodes: list[redis.Redis], partitions: int, args: Any) -> dict:
    from jobs.broker.client import Broker
    from jobs.broker.connection import connect
    from jobs.broker.types import Dispatch
    from jobs.ids import new_job_id

    for node in nodes:
        node.flushall()
    broker = Broker(connect(url), PREFIX, partitions)
    now = broker.now_ms()
    ids = [str(new_job_id()) for _ in range(args.jobs)]
    for start in range(0, len(ids), 500):
        broker.enqueue(
            [
                Dispatch(job_id, "demo.noop", "default", "{}", 0, 5, 5, 300.0, now, 0, "queued", 1)
                for job_id in ids[start : start + 500]
            ]
        )
    per_master = [node.dbsize() for node in nodes]
    ctx = multiprocessing.get_context("fork")
    done = ctx.Value("q", 0)
    cpu0, began = [_cpu(n) for n in nodes], time.monotonic()
    deadline = began + PHASE_SECONDS
    procs = [
        ctx.Process(target=_drive, args=(url, partitions, args.batch, deadline, done))
        for _ in range(args.drivers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(PHASE_SECONDS + 10)
    seconds = time.monotonic() - began
    cpu = [_cpu(n) - c for n, c in zip(nodes, cpu0, strict=True)]
    return {
        "jobs": done.value,
        "jobs_per_s": done.value / seconds,
        "cpu_us_per_job": sum(cpu) / max(done.value, 1) * 1e6,
        "job_share": [n / max(sum(per_master), 1) for n in per_master],
        "cpu_share": [c / max(sum(cpu), 1e-9) for c in cpu],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--drivers", type=int, default=2)
    args = parser.parse_args()
    single, cluster = BenchRedis(), RedisCluster(masters=3).start()
    os.environ.update(base_env("sqlite:///:memory:", single.url))
    import django

    django.setup()
    try:
        layouts = [
            ("one server, P=1", single.url, [redis.Redis(port=single.port)], 1),
            ("3 masters, P=6", cluster.url, [cluster.client(n) for n in cluster.nodes], 6),
        ]
        print(
            f"cluster: {args.jobs} jobs, claim({args.batch}) -> finish -> settle, "
            f"{args.drivers} driver processes, {os.cpu_count()} CPUs"
        )
        header = f"{'layout':<18}{'jobs/s':>9}{'Redis CPU us/job':>18}   share per master"
        print(header)
        for name, url, nodes, partitions in layouts:
            r = run_layout(url, nodes, partitions, args)
            shares = " / ".join(
                f"{j:.0%} jobs, {c:.0%} CPU"
                for j, c in zip(r["job_share"], r["cpu_share"], strict=True)
            )
            print(f"{name:<18}{r['jobs_per_s']:>9.0f}{r['cpu_us_per_job']:>18.1f}   {shares}")
    finally:
        single.close()
        cluster.cleanup()


if __name__ == "__main__":
    main()
