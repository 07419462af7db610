"""One process of in-process enqueue callers (benchmarks.enqueue starts several):
`python -m benchmarks.enqueue_callers one|many THREADS SECONDS`.

Sets Django up, warms each thread's connections, prints "ready", waits for a line on
stdin, then lets THREADS threads call enqueue() (one job a call) or enqueue_many(100)
for SECONDS, and prints the jobs enqueued and the seconds taken as JSON.
"""

from __future__ import annotations

import json
import sys
import threading
import time

BATCH = 100


def main() -> None:
    import django

    django.setup()
    from django.db import connection

    from jobs.enqueue import enqueue, enqueue_many

    kind, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])

    def call(n: int) -> int:
        if kind == "one":
            enqueue("demo.noop", {"n": n})
            return 1
        jobs = [{"type": "demo.noop", "payload": {"n": n + i}} for i in range(BATCH)]
        return len(enqueue_many(jobs))

    go, counts = threading.Event(), [0] * threads
    ready = threading.Barrier(threads + 1)

    def caller(i: int) -> None:
        call(0)  # this thread's database and Redis connections, opened before the clock
        ready.wait()
        go.wait()
        deadline, done = time.perf_counter() + seconds, 0
        while time.perf_counter() < deadline:
            done += call(done)
        counts[i] = done
        connection.close()

    workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    ready.wait()
    print("ready", flush=True)
    sys.stdin.readline()
    began = time.perf_counter()
    go.set()
    for w in workers:
        w.join()
    print(json.dumps({"jobs": sum(counts), "seconds": time.perf_counter() - began}), flush=True)


if __name__ == "__main__":
    main()
