"""`make chaos`: a soak at 100 jobs/s for CHAOS_SECONDS (default 600) with faults applied
at random, ending with the oracle's table. Deselected by default (marker soak).

CHAOS_HOG=1 runs a busy process per core beside it (`make chaos-hog`): the soaks that
passed on a quiet machine hid a race that CPU contention opened (a claim, then a wipe
before the claim's running mark reached the database)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.harness import check, drain, env_seconds, max_rss_kb

pytestmark = pytest.mark.soak


@contextlib.contextmanager
def cpu_hogs(count: int) -> Iterator[None]:
    """`count` processes that spin until the block ends."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def test_soak_with_random_faults(chaos, capsys):
    """Pass: after the load and a drain, lost = 0, unexpected = 0, every duplicate
    execution explained, one outcome per job, every job in its one Redis place."""
    seconds = env_seconds("CHAOS_SECONDS", 600)
    rate = env_seconds("CHAOS_RATE", 100)
    rng = random.Random(int(env_seconds("CHAOS_SEED", 7)))
    roles: dict[int, str] = {}
    rss: dict[str, int] = Counter()

    def start(role: str):
        p = chaos.worker() if role == "worker" else chaos.watchdog()
        roles[p.pid] = role
        return p

    def sample():
        for p in chaos.alive():
            if p.pid in roles:
                rss[roles[p.pid]] = max(rss[roles[p.pid]], max_rss_kb(p.pid))
        if chaos.redis.process and chaos.redis.process.poll() is None:
            rss["redis-server"] = max(rss["redis-server"], max_rss_kb(chaos.redis.process.pid))
        for p, _ in chaos.loadgens:
            rss["client (loadgen)"] = max(rss["client (loadgen)"], max_rss_kb(p.pid))

    hogs = (os.cpu_count() or 1) if os.environ.get("CHAOS_HOG") == "1" else 0
    with cpu_hogs(hogs):
        report, extra = _soak(chaos, seconds, rate, rng, start, sample)
    extra["CPU hogs beside it"] = hogs
    extra.update({f"max RSS {role}": f"{kb / 1024:.1f} MiB" for role, kb in sorted(rss.items())})
    table = f"chaos soak on {chaos.db.vendor} — the oracle's table\n" + report.table(extra)
    Path("var").mkdir(exist_ok=True)
    name = f"var/chaos-report-{chaos.db.vendor}{'-hog' if hogs else ''}.txt"
    Path(name).write_text(table + "\n")
    with capsys.disabled():
        print("\n" + table)
    report.assert_ok()
    assert report.acknowledged > 0


def _soak(chaos, seconds, rate, rng, start, sample):
    workers = [start("worker") for _ in range(3)]
    dogs = [start("watchdog") for _ in range(2)]
    chaos.loadgen("--rate", str(rate), "--seconds", str(seconds), "--threads", "4")
    began = time.monotonic()
    faults: Counter = Counter()
    while time.monotonic() - began < seconds:
        time.sleep(rng.uniform(5, 12))  # the fault cadence
        sample()
        fault = rng.choice(
            [
                "kill_worker",
                "kill_worker",
                "stop_worker",
                "term_worker",
                "kill_watchdog",
                "restart_redis",
                "kill_redis",
                "redis_down",
                "wipe_redis",
            ]
        )
        faults[fault] += 1
        i = rng.randrange(len(workers))
        if fault == "kill_worker":
            chaos.kill(workers[i])
            workers[i] = start("worker")
        elif fault == "stop_worker":  # past its lease (2 s), then back
            chaos.kill(workers[i], signal.SIGSTOP)
            time.sleep(rng.uniform(2.5, 4))
            chaos.kill(workers[i], signal.SIGCONT)
        elif fault == "term_worker":
            chaos.kill(workers[i], signal.SIGTERM)
            workers[i] = start("worker")
        elif fault == "kill_watchdog":
            j = rng.randrange(len(dogs))
            chaos.kill(dogs[j])
            dogs[j] = start("watchdog")
        elif fault == "restart_redis":
            chaos.redis.restart()
        elif fault == "kill_redis":
            chaos.redis.kill()
            chaos.redis.start()
        elif fault == "redis_down":
            chaos.redis.stop()
            time.sleep(rng.uniform(2, 8))
            chaos.redis.start()
        elif fault == "wipe_redis":
            chaos.wipe_redis()
    sample()
    chaos.collect_loadgens(timeout=300)
    drain_began = time.monotonic()
    drain(chaos.db, chaos.rv, chaos.record.ids("acknowledged"), timeout=300)
    drained_in = time.monotonic() - drain_began
    sample()
    report = check(
        chaos.record, chaos.ledger, chaos.db, chaos.rv, redis_wiped_at=chaos.redis_wiped_at
    )
    extra = {
        "duration (load)": f"{seconds:.0f} s at {rate:.0f} jobs/s, drained in {drained_in:.1f} s",
        "faults applied": dict(faults),
    }
    return report, extra
