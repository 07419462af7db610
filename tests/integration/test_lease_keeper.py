"""The lease keeper warns of a lost lease only when it was really lost.

A real Broker and Redis; LeaseKeeper.renew() and the reporter's ack are driven directly
on a Worker whose threads never start, so each race is placed exactly.
"""

from __future__ import annotations

import logging

import pytest

from jobs.broker.client import Broker
from jobs.services import cancel_job
from tests.support.factories import claim, outcome, submit
from tests.support.stack import wait_for
from workers.worker import Worker

pytestmark = pytest.mark.django_db


class RenewAfter(Broker):
    """A broker that runs `before_renew` once between the keeper's snapshot and its
    renewal call: the window in which an attempt's own finish makes the lease vanish."""

    before_renew = None

    def renew(self, leases, visibility_ms):
        hook, self.before_renew = self.before_renew, None
        if hook is not None:
            hook()
        return super().renew(leases, visibility_ms)


@pytest.fixture
def worker():
    return Worker(broker=RenewAfter(), concurrency=2, worker_id="w-test")


def start(worker: Worker, visibility_ms: int = 30_000):
    submit()
    [job] = claim(worker.broker, worker=worker.worker_id, visibility_ms=visibility_ms)
    return job, worker.running.add(job)


def finish(worker: Worker, job, kind: str = "succeeded"):
    """What a handler thread and the ack thread do when the attempt ends."""
    assert worker.running.finalize(job.id, job.token) is not None
    worker.reporter.ack([outcome(job, kind)])


def events(caplog, name: str, level: int = logging.WARNING) -> list[logging.LogRecord]:
    return [r for r in caplog.records if name in r.getMessage() and r.levelno >= level]


def test_attempt_finished_between_snapshot_and_renewal_is_not_a_lost_lease(worker, caplog):
    job, rj = start(worker)
    worker.broker.before_renew = lambda: finish(worker, job)
    with caplog.at_level(logging.DEBUG, logger="queuey"):
        worker.keeper.renew()
    assert worker.broker.job_state(job.id)["state"] == "succeeded"
    assert rj.lease_lost  # no longer renewed...
    assert not [r for r in caplog.records if "lease_lost" in r.getMessage()]  # ...silently
    assert not events(caplog, "result_refused")


def test_lease_requeued_by_expiry_while_running_warns_once(worker, caplog):
    job, rj = start(worker, visibility_ms=50)
    wait_for(worker.broker.requeue_expired, timeout=5, what="the lease to expire")
    with caplog.at_level(logging.INFO, logger="queuey"):
        worker.keeper.renew()
        worker.keeper.renew()  # a lost lease is reported once, not at every renewal
    [warning] = events(caplog, "queuey.lease_lost")
    assert f"job={job.id} attempt=1" in warning.getMessage()
    assert rj.lease_lost and not rj.finalized


def test_lease_revoked_by_cancel_while_running_warns_once(worker, caplog):
    job, _ = start(worker)
    cancel_job(job_id=job.id)
    with caplog.at_level(logging.INFO, logger="queuey"):
        worker.keeper.renew()
        worker.keeper.renew()
    [warning] = events(caplog, "queuey.lease_lost")
    assert f"job={job.id} attempt=1" in warning.getMessage()


def test_result_of_a_lost_lease_is_refused_and_said_once(worker, caplog):
    job, _ = start(worker, visibility_ms=50)
    wait_for(worker.broker.requeue_expired, timeout=5, what="the lease to expire")
    worker.keeper.renew()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="queuey"):
        finish(worker, job)
        worker.keeper.renew()
    [refused] = events(caplog, "stale_result_refused")
    assert (refused.job_id, refused.attempt, refused.worker) == (job.id, 1, worker.worker_id)
    assert not events(caplog, "queuey.lease_lost")
    assert worker.broker.job_state(job.id)["state"] == "queued"  # the requeue stands
    assert len(worker.running) == 0  # the slot is free again


def test_timed_out_attempt_is_not_a_lost_lease(worker, caplog):
    """The timeout's own outcome revokes the token too: the same race, another path."""
    job, rj = start(worker)
    worker.broker.before_renew = lambda: finish(worker, job, "timeout")
    with caplog.at_level(logging.INFO, logger="queuey"):
        worker.keeper.renew()
    assert rj.lease_lost
    assert not events(caplog, "lease_lost", logging.INFO)
    assert not events(caplog, "result_refused")
