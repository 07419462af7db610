from __future__ import annotations

import time

import pytest

from jobs import outbox
from jobs.models import Attempt, Job
from tests.support.factories import claim, outcome, submit
from workers.watchdog import Watchdog

pytestmark = pytest.mark.django_db


def test_flushall_then_watchdog_rebuilds_every_place_from_the_database(broker, raw_redis):
    queued = submit(queue="high")
    scheduled = submit(delay_seconds=3600)
    running = submit()
    dead = submit("demo.fail", max_attempts=1)
    claimed = {c.id: c for c in claim(broker, max_jobs=3)}
    outbox.apply_and_settle(
        broker, [r.entry for r in broker.finish([outcome(claimed[str(dead.id)], "failed", "x")])]
    )
    from workers.reporter import Reporter

    Reporter(broker, lambda *a: None).write([claimed[str(running.id)]], [])
    assert Job.objects.get(pk=running.pk).status == "running"

    raw_redis.flushall()
    Watchdog(broker).run_once()

    assert broker.where_is(str(queued.id)) == ["high"]
    assert broker.where_is(str(scheduled.id)) == ["scheduled"]
    assert broker.where_is(str(running.id)) == ["default"]  # its worker's lease is gone
    assert broker.where_is(str(dead.id)) == ["dlq"]
    [again] = [c for c in claim(broker, max_jobs=5) if c.id == str(running.id)]
    assert again.attempt == 2  # numbering continues from the database


def test_reconcile_does_not_duplicate_jobs_redis_holds(broker):
    submit()
    dog = Watchdog(broker)
    dog.run_once()
    dog._next_reconcile = 0
    assert dog.run_once()["redispatched"] == 0
    assert broker.lengths().default == 1


def test_watchdog_requeues_expired_leases_and_writes_the_lost_attempt(broker, settings):
    settings.QUEUEY_OUTBOX_GRACE = 0
    job = submit()
    claim(broker, visibility_ms=1)
    time.sleep(0.01)
    done = Watchdog(broker).run_once()
    assert done["requeued"] == 1
    assert Attempt.objects.get(job=job).outcome == "lease_expired"
    assert Job.objects.get(pk=job.pk).status == "queued"


def test_outbox_left_by_a_dead_worker_is_written_after_the_grace(broker, settings):
    job = submit()
    [c] = claim(broker)
    broker.finish([outcome(c, detail='{"ok": true}')])  # the worker dies before the DB write
    settings.QUEUEY_OUTBOX_GRACE = 60
    assert Watchdog(broker).flush_outbox() == 0
    settings.QUEUEY_OUTBOX_GRACE = 0
    assert Watchdog(broker).flush_outbox() == 1
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result == {"ok": True}


def test_applying_entries_twice_or_out_of_order_changes_nothing(broker):
    job = submit("demo.flaky", {"fail_times": 1})
    [c1] = claim(broker)
    [r1] = broker.finish([outcome(c1, "failed", "first", retry_delay_ms=0)])
    broker.move_to_queue([c1.id])
    [c2] = claim(broker)
    [r2] = broker.finish([outcome(c2, detail='"ok"')])
    outbox.apply([r2.entry])
    outbox.apply([r1.entry])  # late, older entry
    outbox.apply([r2.entry, r1.entry])  # again
    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == ("succeeded", "ok", 2)
    assert list(job.attempt_records.values_list("number", "outcome")) == [
        (1, "failed"),
        (2, "succeeded"),
    ]


def test_an_outcome_for_a_deleted_job_is_dropped_not_retried_forever(broker):
    gone, kept = submit(), submit()
    claimed = {c.id: c for c in claim(broker, max_jobs=2)}
    entries = [r.entry for r in broker.finish([outcome(c) for c in claimed.values()])]
    Job.objects.filter(pk=gone.pk).delete()  # e.g. a retention purge
    assert outbox.apply_and_settle(broker, entries) == 2
    assert Job.objects.get(pk=kept.pk).status == "succeeded"
    assert broker.lengths().outbox == 0


def _running_then_finished_in_redis_only(broker):
    """A job whose worker's success Redis accepted but the database has not seen yet."""
    from workers.reporter import Reporter

    job = submit()
    [c] = claim(broker)
    Reporter(broker, lambda *a: None).write([c], [])
    [r] = broker.finish([outcome(c, detail='"first"')])
    return job, r.entry


def test_outcome_from_before_a_redis_data_loss_is_refused_after_the_redispatch(broker, raw_redis):
    job, late_entry = _running_then_finished_in_redis_only(broker)
    raw_redis.flushall()
    assert Watchdog(broker).run_once()["redispatched"] == 1

    outbox.apply([late_entry])  # the worker's write thread catches up

    job.refresh_from_db()
    assert (job.status, job.result) == ("queued", None)
    assert Attempt.objects.get(job=job, number=1).outcome == "lease_expired"
    [again] = claim(broker)
    assert again.attempt == 2
    outbox.apply_and_settle(
        broker, [r.entry for r in broker.finish([outcome(again, detail='"second"')])]
    )
    job.refresh_from_db()
    assert (job.status, job.result) == ("succeeded", "second")
    outcomes = dict(Attempt.objects.filter(job=job).values_list("number", "outcome"))
    assert outcomes == {1: "lease_expired", 2: "succeeded"}


def test_outcome_landing_between_the_missing_check_and_the_redispatch_wins(broker, raw_redis):
    from jobs.states import ACTIVE_STATUSES
    from workers.reconcile import redispatch

    job, late_entry = _running_then_finished_in_redis_only(broker)
    raw_redis.flushall()
    missing = broker.missing_jobs([str(job.id)])
    outbox.apply([late_entry])  # lands after the reconciler found the job missing

    assert redispatch(broker, missing, set(ACTIVE_STATUSES)) == 0
    job.refresh_from_db()
    assert (job.status, job.result) == ("succeeded", "first")
    assert list(Attempt.objects.filter(job=job).values_list("outcome", flat=True)) == ["succeeded"]


def test_a_job_its_submitter_dispatched_during_a_rebuild_keeps_its_version(broker, monkeypatch):
    """The reconciler found the job missing, then its submitter's (retried) dispatch
    landed before the reconciler's: the job's outcomes must still reach the database."""
    from jobs.states import ACTIVE_STATUSES
    from workers.reconcile import redispatch

    job = submit()
    version = Job.objects.get(pk=job.pk).version
    monkeypatch.setattr(broker, "missing_jobs", lambda ids: list(ids))  # answered too early
    assert redispatch(broker, [str(job.id)], set(ACTIVE_STATUSES)) == 0
    assert Job.objects.get(pk=job.pk).version == version
    [c] = claim(broker)
    outbox.apply_and_settle(broker, [r.entry for r in broker.finish([outcome(c, detail='"ok"')])])
    job.refresh_from_db()
    assert (job.status, job.result) == ("succeeded", "ok")
