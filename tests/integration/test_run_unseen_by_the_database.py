"""A run the database never saw start: claimed just before Redis lost its data, its
running mark not yet written. The rebuild re-dispatches the job as waiting; the rerun
must not reuse the lost run's attempt number, and the lost run must reach the job's
history once its refused result comes in (found by the soak under CPU contention)."""

from __future__ import annotations

import threading

import pytest

from jobs import outbox
from jobs.models import Attempt, Job
from jobs.selectors import get_job, runs_of
from tests.support.factories import claim, outcome, submit
from workers.reconcile import reconcile, redispatch
from workers.reporter import Reporter
from workers.watchdog import Watchdog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_transaction(monkeypatch):
    """The write loop closes stale connections between batches; here that would close
    the test's own transaction."""
    monkeypatch.setattr("workers.reporter.close_old_connections", lambda: None)


def _report(reporter: Reporter, outcomes) -> list[str]:
    """Through the worker's own path: fenced finish in Redis, then the database write."""
    states: list[str] = []
    reporter.on_finished = lambda _o, state: states.append(state)
    reporter.ack(outcomes)
    done = threading.Event()
    done.set()  # write what is queued, then return
    reporter.run_writes(done)
    return states


def test_a_run_claimed_before_flushall_keeps_its_number_and_is_recorded(broker, raw_redis):
    job = submit(max_attempts=3)
    first_worker = Reporter(broker, lambda *a: None, worker_id="host:101:aa")
    second_worker = Reporter(broker, lambda *a: None, worker_id="host:202:bb")
    [first] = claim(broker, worker="host:101:aa")  # its running mark is still in memory

    raw_redis.flushall()
    assert Watchdog(broker).run_once()["redispatched"] == 1
    first_worker.write([first], [])  # the late mark: older than the rebuild, refused
    assert Job.objects.get(pk=job.pk).status == "queued"

    [second] = claim(broker, worker="host:202:bb")
    assert (first.attempt, second.attempt) == (1, 2)  # no two runs share a number
    assert second.token != first.token

    assert _report(first_worker, [outcome(first, detail='"first"')]) == ["stale"]
    assert _report(second_worker, [outcome(second, detail='"second"')]) == ["succeeded"]

    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == ("succeeded", "second", 2)
    assert job.attempt_limit == 3 + 1  # the run lost with Redis is not charged
    rows = {a.number: (a.outcome, a.worker_id, a.run) for a in Attempt.objects.filter(job=job)}
    assert rows == {
        1: ("lease_expired", "host:101:aa", 1),
        2: ("succeeded", "host:202:bb", 1),
    }
    assert "refused" in Attempt.objects.get(job=job, number=1).error
    assert runs_of(get_job(job_id=str(job.id))) == [
        {"run": 1, "max_attempts": 3, "attempts": [1, 2]}
    ]


def test_a_refused_result_adds_nothing_when_its_attempt_was_recorded(broker):
    """The usual case: the watchdog expired the lease and recorded the lost attempt."""
    submit()
    reporter = Reporter(broker, lambda *a: None, worker_id="host:101:aa")
    [c] = claim(broker, worker="host:101:aa", visibility_ms=1)
    while not Watchdog(broker).run_once()["requeued"]:
        pass
    [row] = Attempt.objects.all()
    assert row.outcome == "lease_expired"

    assert _report(reporter, [outcome(c)]) == ["stale"]
    [again] = Attempt.objects.all()
    assert (again.pk, again.outcome, again.error) == (row.pk, row.outcome, row.error)


def test_a_job_redispatched_after_data_loss_that_never_ran_skips_one_number(broker, raw_redis):
    """The cost of the rule: a job that was only waiting also skips a number (the
    database cannot tell it from one claimed unseen); its budget is unchanged."""
    job = submit(max_attempts=2)
    raw_redis.flushall()
    Watchdog(broker).run_once()
    [c] = claim(broker)
    assert c.attempt == 2
    broker.finish([outcome(c, "failed", "boom", retry_delay_ms=0)])
    job.refresh_from_db()
    assert job.attempt_limit - job.run_base == 3  # two real attempts left after the skip


def test_a_success_redis_took_before_flushall_is_recorded_as_lost_once_rerun(broker, raw_redis):
    """Redis accepted the first run's success, then lost it before the worker's database
    write: the rebuild dispatches the job again, and that late write must not become a
    second recorded success (found by the soak under CPU contention)."""
    job = submit()
    [first] = claim(broker, worker="host:101:aa")
    [accepted] = broker.finish([outcome(first, detail='"first"')])
    raw_redis.flushall()
    Watchdog(broker).run_once()

    outbox.apply([accepted.entry])  # the first worker's write thread catches up
    job.refresh_from_db()
    assert (job.status, job.result) == ("queued", None)
    [second] = claim(broker, worker="host:202:bb")
    outbox.apply_and_settle(
        broker, [r.entry for r in broker.finish([outcome(second, detail='"second"')])]
    )

    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == ("succeeded", "second", 2)
    rows = {a.number: (a.outcome, a.worker_id) for a in Attempt.objects.filter(job=job)}
    assert rows == {1: ("lease_expired", "host:101:aa"), 2: ("succeeded", "host:202:bb")}
    assert Attempt.objects.get(job=job, number=1).error == outbox.LOST_WITH_REDIS


def test_a_reconcile_pass_begun_before_the_loss_keeps_the_number_too(broker, raw_redis):
    """The periodic pass of a second watchdog, not told of the loss, still skips the
    number: the missing epoch says Redis lost its data."""
    submit()
    Watchdog(broker).run_once()  # the epoch is marked
    [first] = claim(broker)
    raw_redis.flushall()
    assert reconcile(broker) == 1  # after_data_loss not given
    [second] = claim(broker)
    assert (first.attempt, second.attempt) == (1, 2)


def test_a_refused_run_does_not_take_a_number_another_run_holds(broker, raw_redis):
    """Should a rebuild not know of a run (a partial loss it cannot detect), both runs
    carry one number: the refused one must not take the row the live one's outcome
    needs."""
    job = submit()
    reporter = Reporter(broker, lambda *a: None, worker_id="host:101:aa")
    Watchdog(broker).run_once()
    [first] = claim(broker, worker="host:101:aa")
    for key in raw_redis.scan_iter(broker.keys.job_prefix + "*"):
        raw_redis.delete(key)  # the job's hash lost, the epoch kept: undetectable
    raw_redis.delete(broker.keys.leases)
    assert redispatch(broker, [str(job.id)], {"queued"}) == 1
    [second] = claim(broker, worker="host:202:bb")
    assert second.attempt == first.attempt == 1

    assert _report(reporter, [outcome(first)]) == ["stale"]
    assert not Attempt.objects.filter(job=job).exists()
    outbox.apply_and_settle(broker, [r.entry for r in broker.finish([outcome(second)])])
    [row] = Attempt.objects.filter(job=job)
    assert (row.number, row.outcome, row.worker_id) == (1, "succeeded", "host:202:bb")


def test_a_finish_retried_after_its_reply_was_lost_is_not_refused(broker):
    """Redis took the outcome, then its reply was lost (Redis stopped): the worker sends
    it again. That is the same outcome, not a stale one: no lost attempt may be recorded,
    and the outcome reaches the database from the outbox (found by the soak)."""
    job = submit()
    reporter = Reporter(broker, lambda *a: None, worker_id="host:101:aa")
    [c] = claim(broker, worker="host:101:aa")
    broker.finish([outcome(c, detail='"once"')])  # taken; the reply never arrived

    assert _report(reporter, [outcome(c, detail='"once"')]) == ["accepted"]
    assert not Attempt.objects.filter(job=job).exists()
    outbox.apply_and_settle(broker, broker.outbox_older_than(0))  # as the watchdog does
    job.refresh_from_db()
    assert (job.status, job.result) == ("succeeded", "once")
    [row] = Attempt.objects.filter(job=job)
    assert (row.number, row.outcome, row.worker_id) == (1, "succeeded", "host:101:aa")
