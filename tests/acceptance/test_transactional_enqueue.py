"""The in-process enqueue against real worker and watchdog processes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from django.db import transaction

from jobs.broker.client import Broker
from jobs.enqueue import enqueue
from jobs.models import Attempt, Job
from tests.acceptance.commit_then_die import DIED_AFTER_COMMIT
from tests.support.stack import ROOT, wait_for

pytestmark = pytest.mark.acceptance

RECONCILE_INTERVAL = 3.0


def status_of(job_id: str) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job_id)


def outcomes(job_id: str) -> list[str]:
    return list(
        Attempt.objects.filter(job_id=job_id).order_by("number").values_list("outcome", flat=True)
    )


def test_a_committed_job_runs_on_a_real_worker(stack):
    stack.worker()
    with transaction.atomic():
        job_id = enqueue("text.reverse", {"text": "committed"})
    wait_for(lambda: status_of(job_id) == "succeeded", what="success")
    assert Job.objects.get(pk=job_id).result == "dettimmoc"
    assert outcomes(job_id) == ["succeeded"]


def test_a_producer_killed_between_commit_and_dispatch_is_healed_by_the_reconciler(stack):
    broker = Broker()
    stack.watchdog(QUEUEY_RECONCILE_INTERVAL=RECONCILE_INTERVAL)
    stack.worker()
    # The watchdog's first pass (at start) is over: what follows is a periodic pass.
    wait_for(broker.has_epoch, what="the watchdog's first reconcile")
    producer = subprocess.run(
        [sys.executable, "-m", "tests.acceptance.commit_then_die", "lost"],
        env=stack.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    died_at = time.monotonic()
    assert producer.returncode == DIED_AFTER_COMMIT, producer.stderr
    job_id = producer.stdout.strip()
    assert Job.objects.filter(pk=job_id).exists()  # committed, and its producer is gone
    wait_for(
        lambda: broker.job_state(job_id) or status_of(job_id) != "queued",
        timeout=RECONCILE_INTERVAL + 5,
        what="the reconciler's dispatch",
    )
    # One reconcile interval, plus the pass's own time on a busy machine.
    assert time.monotonic() - died_at <= RECONCILE_INTERVAL + 2
    wait_for(lambda: status_of(job_id) == "succeeded", what="success")
    job = Job.objects.get(pk=job_id)
    assert job.result == "tsol" and job.attempts == 1 and outcomes(job_id) == ["succeeded"]
    # The reconciler, not the producer, dispatched it, and only once.
    assert stack.logs().count("jobs_redispatched count=1 ") == 1
