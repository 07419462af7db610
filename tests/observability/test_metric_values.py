"""Metric values after known events, scraped from 2 gunicorn workers and 2 worker
processes: each event counted once in the scraped sum (never once per process), and a
worker process that dies keeps its counts in the sum."""

from __future__ import annotations

import os
import signal

from tests.observability.conftest import MetricsStack, Scrape
from tests.support.stack import wait_for


def total(scrape: Scrape, name: str, **labels: str) -> float:
    return sum(s.value for s in scrape.series(name, **labels))


def running_pid(stack: MetricsStack, job_id: str) -> int:
    """The pid of the worker process running the job (from /v1/workers)."""

    def find() -> int | None:
        for w in stack.call("GET", "/v1/workers")[1]["workers"]:
            if any(j["job_id"] == job_id for j in w["current_jobs"]):
                return w["pid"]
        return None

    return wait_for(find, 20, f"a worker to report {job_id} running")  # type: ignore[return-value]


def test_known_events_are_counted_once(make_metrics_stack):
    stack = make_metrics_stack(QUEUEY_VISIBILITY_TIMEOUT="1.5")
    # Rare events' series exist at 0 from the start (increase() sees their first step).
    at_start = {t: stack.scrape(t) for t in ("api", "worker", "watchdog")}
    for target, name, labels in (
        (
            "worker",
            "queuey_stale_results_refused_total",
            {"queue": "default", "type": "demo.sleep"},
        ),
        ("watchdog", "queuey_leases_expired_total", {"queue": "low", "type": "demo.noop"}),
        ("api", "queuey_jobs_replayed_total", {"queue": "high", "type": "demo.fail"}),
    ):
        assert at_start[target].has(name, **labels), (target, name, labels)
        assert at_start[target].value(name, **labels) == 0

    # 3 flaky attempts: 2 failures that schedule retries, then a success.
    flaky = stack.submit("demo.flaky", {"fail_times": 2}, max_attempts=5)
    # One dedupe hit.
    first = stack.submit("demo.noop", {}, dedupe_key="metrics-dedupe")
    assert stack.submit("demo.noop", {}, dedupe_key="metrics-dedupe") == first
    # One dead job, then one replay.
    doomed = stack.submit("demo.fail", {}, max_attempts=1)
    stack.wait_status(flaky, "succeeded")
    stack.wait_status(doomed, "dead")
    assert stack.call("POST", f"/v1/jobs/{doomed}/retry")[0] == 200
    stack.wait_status(doomed, "dead")  # its new run fails too

    # One lease expiry and one stale refusal: stop the process running a slow job past
    # its lease, let the watchdog requeue it, then let the stopped process report late.
    slow = stack.submit("demo.sleep", {"seconds": 2})
    pid = running_pid(stack, slow)
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(
            lambda: total(stack.scrape("watchdog"), "queuey_leases_expired_total") >= 1,
            20,
            "the watchdog to expire the stopped process's lease",
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    stack.wait_status(slow, "succeeded")
    worker = wait_for(
        lambda: (
            (s := stack.scrape("worker"))
            and total(s, "queuey_stale_results_refused_total") >= 1
            and s
        ),
        20,
        "the late result to be refused",
    )

    api = stack.scrape("api")
    watchdog = stack.scrape("watchdog")
    assert total(api, "queuey_jobs_enqueued_total") == 4  # flaky, noop, fail, sleep
    assert total(api, "queuey_jobs_deduplicated_total", type="demo.noop") == 1
    assert total(api, "queuey_jobs_replayed_total", type="demo.fail") == 1
    flaky_finished = {
        outcome: total(worker, "queuey_jobs_finished_total", type="demo.flaky", outcome=outcome)
        for outcome in ("failed", "succeeded")
    }
    assert flaky_finished == {"failed": 2, "succeeded": 1}
    assert total(worker, "queuey_jobs_retried_total", type="demo.flaky") == 2
    assert total(worker, "queuey_jobs_started_total", type="demo.flaky") == 3
    assert total(worker, "queuey_jobs_dead_lettered_total", type="demo.fail") == 2
    assert total(watchdog, "queuey_leases_expired_total", type="demo.sleep") == 1
    assert total(worker, "queuey_stale_results_refused_total", type="demo.sleep") == 1
    assert total(worker, "queuey_jobs_started_total", type="demo.sleep") == 2
    assert total(worker, "queuey_workers_started_total") == 2
    assert total(worker, "queuey_job_run_seconds_count", type="demo.flaky") == 3

    # A worker process killed outright: the supervisor replaces it, the sum keeps its counts.
    started = total(worker, "queuey_jobs_started_total")
    victim = stack.worker_children()[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: victim not in stack.worker_children() and len(stack.worker_children()) == 2,
        30,
        "the supervisor to replace the killed process",
    )
    after = wait_for(
        lambda: (
            (s := stack.scrape("worker")) and total(s, "queuey_workers_started_total") == 3 and s
        ),
        30,
        "the replacement to count itself",
    )
    assert total(after, "queuey_jobs_started_total") == started
