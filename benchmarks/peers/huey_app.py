"""Huey 3.5 adapter: a no-op task, completion from SIGNAL_COMPLETE, process workers."""

from __future__ import annotations

import os
import sys

from huey import RedisHuey, signals

from benchmarks.peers import record

huey = RedisHuey("bench", url=os.environ["BENCH_REDIS_URL"])


@huey.task()
def noop(t: float) -> None:
    record.write(record.STARTED, t)


@huey.signal(signals.SIGNAL_COMPLETE)
def _done(signal, task, *args, **kwargs) -> None:
    record.write(record.FINISHED, task.args[0])


def worker_cmds(processes: int) -> list[list[str]]:
    consumer = "huey.bin.huey_consumer"
    app = "benchmarks.peers.huey_app.huey"
    return [[sys.executable, "-m", consumer, app, "-k", "process", "-w", str(processes), "-q"]]


def seed(n: int) -> None:
    for _ in range(n):
        noop(0.0)


def enqueue(t: float) -> None:
    noop(t)
