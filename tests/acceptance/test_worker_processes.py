"""Real `runworker` / `runwatchdog` processes, real signals."""

from __future__ import annotations

import os
import signal
import time

import pytest

from jobs.broker.client import Broker
from jobs.models import Attempt, Job
from jobs.services import replay_dlq
from tests.support.factories import submit
from tests.support.stack import wait_for

pytestmark = pytest.mark.acceptance


def status_of(job: Job) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job.pk)


def outcomes(job: Job) -> list[str]:
    return list(
        Attempt.objects.filter(job=job).order_by("number").values_list("outcome", flat=True)
    )


def pid_running(job: Job) -> int:
    """The pid of the worker process holding the job's lease (worker id = host:pid:rand)."""
    state = wait_for(lambda: Broker().job_state(str(job.id)).get("worker"), what="a lease")
    return int(state.split(":")[1])


def test_text_reverse_end_to_end(stack):
    stack.worker()
    job = submit("text.reverse", {"text": "hello"})
    wait_for(lambda: status_of(job) == "succeeded", what="success")
    job.refresh_from_db()
    assert job.result == "olleh" and outcomes(job) == ["succeeded"]
    assert job.started_at and job.finished_at >= job.started_at


def test_priority_order_across_a_real_worker(stack):
    jobs = [
        submit("demo.sleep", {"seconds": 0.02}, queue=q)
        for q in ("low", "default", "high", "low", "high")
    ]
    stack.worker("--concurrency", "1")
    wait_for(lambda: all(status_of(j) == "succeeded" for j in jobs), what="all done")
    order = sorted(jobs, key=lambda j: Job.objects.get(pk=j.pk).started_at)
    assert [j.queue for j in order] == ["high", "high", "default", "low", "low"]


def test_sigkill_mid_job_is_requeued_after_visibility_timeout_and_succeeds(stack):
    stack.watchdog()
    first = stack.worker()
    job = submit("demo.sleep", {"seconds": 1.5})
    victim = pid_running(job)
    assert victim == first.pid
    stack.worker()  # the survivor
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: status_of(job) == "succeeded", timeout=30, what="rerun to succeed")
    job.refresh_from_db()
    assert job.attempts == 2
    assert outcomes(job) == ["lease_expired", "succeeded"]
    assert (
        Attempt.objects.get(job=job, number=2).worker_id
        != Attempt.objects.get(job=job, number=1).worker_id
    )


def test_healthy_job_three_times_longer_than_visibility_is_never_requeued(stack):
    stack.watchdog()
    stack.worker(QUEUEY_VISIBILITY_TIMEOUT=1)
    sleeper = submit("demo.sleep", {"seconds": 3.5})
    spinner = submit("demo.spin", {"seconds": 3.5})  # CPU-bound: must not starve renewals
    wait_for(lambda: status_of(sleeper) == status_of(spinner) == "succeeded", timeout=30)
    assert outcomes(sleeper) == outcomes(spinner) == ["succeeded"]


def test_failing_job_ends_in_dlq_with_every_attempt_and_replays(stack):
    stack.watchdog()
    stack.worker()
    job = submit("demo.fail", {"message": "nope"})
    wait_for(lambda: status_of(job) == "dead", timeout=30, what="dead")
    job.refresh_from_db()
    assert job.attempts == 3 and "nope" in job.error and "Traceback" in job.traceback
    assert outcomes(job) == ["failed"] * 3
    assert Broker().lengths().dlq == 1
    assert replay_dlq(limit=10) == 1
    wait_for(lambda: len(outcomes(job)) == 6 and status_of(job) == "dead", timeout=30)


def test_flaky_job_succeeds_after_its_failures(stack):
    stack.watchdog()
    stack.worker(QUEUEY_BACKOFF_BASE=0.1, QUEUEY_BACKOFF_MAX=0.3)
    job = submit("demo.flaky", {"fail_times": 2})
    wait_for(lambda: status_of(job) == "succeeded", timeout=30)
    assert outcomes(job) == ["failed", "failed", "succeeded"]


def test_hung_handler_times_out_and_the_worker_keeps_serving(stack):
    stack.worker("--concurrency", "1")
    hung = submit("demo.hang", timeout_seconds=1)
    wait_for(lambda: status_of(hung) == "dead", timeout=20)
    assert outcomes(hung) == ["timeout"]
    after = submit("text.reverse", {"text": "ab"})
    wait_for(lambda: status_of(after) == "succeeded", timeout=10)


def test_sigterm_drains_running_jobs_then_exits_zero(stack):
    worker = stack.worker()
    job = submit("demo.sleep", {"seconds": 1})
    pid_running(job)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    assert status_of(job) == "succeeded"
    assert Broker().workers() == []


def test_sigterm_releases_a_job_longer_than_the_grace_period_at_once(stack):
    worker = stack.worker(QUEUEY_SHUTDOWN_GRACE=0.5)
    job = submit("demo.sleep", {"seconds": 60})
    pid_running(job)
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0
    assert time.monotonic() - started < 10
    wait_for(lambda: status_of(job) == "queued", timeout=10)
    assert Broker().where_is(str(job.id)) == ["default"]
    assert outcomes(job) == ["interrupted"]


def test_redis_flushall_with_jobs_queued_watchdog_redispatches_all(stack, raw_redis):
    jobs = [submit("text.reverse", {"text": f"t{i}"}) for i in range(20)]
    raw_redis.flushall()
    stack.watchdog()
    stack.worker()
    wait_for(lambda: Job.objects.filter(status="succeeded").count() == 20, timeout=30)
    assert all(outcomes(j) == ["succeeded"] for j in jobs)


def test_idle_worker_blocks_on_redis_instead_of_polling(stack, raw_redis):
    stack.worker()
    wait_for(lambda: Broker().workers(), what="a heartbeat")
    raw_redis.config_resetstat()
    time.sleep(3)
    stats = raw_redis.info("commandstats")
    calls = sum(stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("evalsha", "blpop"))
    # Idle: a blocking pop a second, a claim and a promote when it times out, and a
    # heartbeat every 0.5 s here; about 5 calls a second. A polling loop issues hundreds.
    assert 3 <= calls / 3 < 10
    assert stats["cmdstat_blpop"]["calls"] >= 2
