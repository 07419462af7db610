"""Dramatiq 2.2 adapter: a no-op actor, completion from after_process_message, 2 x 8."""

from __future__ import annotations

import os
import sys

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from benchmarks.peers import record

THREADS = 8


class _Done(Middleware):
    def after_process_message(self, broker, message, *, result=None, exception=None):
        record.write(record.FINISHED, message.args[0])


broker = RedisBroker(url=os.environ["BENCH_REDIS_URL"])
broker.add_middleware(_Done())
dramatiq.set_broker(broker)


@dramatiq.actor(max_retries=0)
def noop(t: float) -> None:
    record.write(record.STARTED, t)


def worker_cmds(processes: int) -> list[list[str]]:
    app = "benchmarks.peers.dramatiq_app"
    return [[sys.executable, "-m", "dramatiq", app, "-p", str(processes), "-t", str(THREADS)]]


def seed(n: int) -> None:
    for _ in range(n):
        noop.send(0.0)


def enqueue(t: float) -> None:
    noop.send(t)
