"""SAQ 0.26 adapter: a no-op async job, completion from after_process, 2 x 10."""

from __future__ import annotations

import asyncio
import os
import sys
import time

from saq import Queue

from benchmarks.peers import record

CONCURRENCY = 10
queue = Queue.from_url(os.environ["BENCH_REDIS_URL"], name="bench")


async def noop(ctx, *, t: float) -> None:
    record.write(record.STARTED, t)


async def _done(ctx) -> None:
    record.write(record.FINISHED, ctx["job"].kwargs["t"])


settings = {
    "queue": queue,
    "functions": [noop],
    "concurrency": CONCURRENCY,
    "after_process": _done,
}
_loop = asyncio.new_event_loop()


def worker_cmds(processes: int) -> list[list[str]]:
    app = "benchmarks.peers.saq_app.settings"
    return [[sys.executable, "-m", "saq", app, "--workers", str(processes), "--quiet"]]


def seed(n: int) -> None:
    async def some(k: int) -> None:
        await asyncio.gather(*(queue.enqueue("noop", t=0.0) for _ in range(k)))

    for start in range(0, n, 200):
        _loop.run_until_complete(some(min(200, n - start)))


def enqueue(t: float) -> None:
    _loop.run_until_complete(queue.enqueue("noop", t=t))


def produce_paced(_adapter, rate: float, seconds: float) -> tuple[int, float]:
    async def run() -> tuple[int, float]:
        count, interval = int(rate * seconds), 1 / rate
        t0 = time.time() + 0.05
        for i in range(count):
            delay = t0 + i * interval - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await queue.enqueue("noop", t=time.time())
        return count, count / (time.time() - t0)

    return _loop.run_until_complete(run())


def enqueue_rate(seconds: float) -> float:
    async def run() -> float:
        done, began = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - began) < seconds:
            await queue.enqueue("noop", t=0.0)
            done += 1
        return done / elapsed

    return _loop.run_until_complete(run())
