"""The watchdog's reconcile pass at a cost that does not grow with the backlog: every
recent unfinished job each pass, the older ones a bounded sweep at a time, all of them
after a data loss."""

from __future__ import annotations

import pytest

from jobs.ids import first_id_at
from jobs.models import Job
from jobs.submission import JOB_COLUMNS, JobRequest, prepare
from jobs.timeutil import wall_ms
from tests.support.factories import submit
from workers.reconcile import Reconciler

pytestmark = pytest.mark.django_db

HOUR_MS = 3_600_000


def undispatched(count: int, *, age_ms: int) -> list[str]:
    """Jobs the database holds as queued that never reached Redis (their submitter died
    after the commit), created `age_ms` ago."""
    ids = []
    for i in range(count):
        new = prepare(JobRequest(type="demo.noop", payload={"i": i})).job
        job = Job(**{column: getattr(new, column) for column in JOB_COLUMNS})
        job.id = first_id_at(wall_ms() - age_ms + i)
        job.save(force_insert=True)
        ids.append(str(job.id))
    return ids


def test_each_pass_reads_the_recent_jobs_and_a_bounded_sweep_of_the_older(broker, settings):
    settings.QUEUEY_RECONCILE_SWEEP = 10
    broker.mark_epoch()
    old = undispatched(25, age_ms=HOUR_MS)
    recent = undispatched(3, age_ms=5_000)
    reconciler = Reconciler(broker)
    assert reconciler.run() == 3 + 10  # every recent one, 10 of the older
    assert not broker.missing_jobs(recent)
    assert len(broker.missing_jobs(old)) == 15
    assert [reconciler.run() for _ in range(3)] == [10, 5, 0]  # on where it stopped, wraps
    assert not broker.missing_jobs(old)
    assert broker.lengths().default == 28  # each once


def test_the_sweep_comes_round_again_to_a_job_lost_after_it_passed(broker, settings):
    settings.QUEUEY_RECONCILE_SWEEP = 10
    broker.mark_epoch()
    old = undispatched(15, age_ms=HOUR_MS)
    reconciler = Reconciler(broker)
    assert [reconciler.run() for _ in range(2)] == [10, 5]
    keys = broker.keys_for(old[0])  # Redis loses one the sweep has already seen
    broker.redis.delete(keys.job(old[0]))
    broker.redis.lrem(keys.queue("default"), 0, old[0])
    assert broker.missing_jobs([old[0]]) == [old[0]]
    assert reconciler.run() == 1  # the next round starts from the oldest again
    assert broker.where_is(old[0]) == ["default"]


def test_a_job_submitted_normally_is_never_dispatched_twice(broker, settings):
    settings.QUEUEY_RECONCILE_SWEEP = 10
    broker.mark_epoch()
    submit()
    reconciler = Reconciler(broker)
    assert [reconciler.run() for _ in range(3)] == [0, 0, 0]
    assert broker.lengths().default == 1


def test_after_a_data_loss_one_pass_rebuilds_every_job(broker, settings, raw_redis):
    settings.QUEUEY_RECONCILE_SWEEP = 10
    old = undispatched(25, age_ms=HOUR_MS)
    raw_redis.flushall()
    assert Reconciler(broker).run(after_data_loss=True) == 25
    assert not broker.missing_jobs(old)


def test_a_pass_reads_back_to_the_previous_pass_less_the_margin(broker, settings):
    settings.QUEUEY_RECONCILE_SWEEP = 0  # the recent reads alone
    settings.QUEUEY_RECONCILE_RECENT = 30
    broker.mark_epoch()
    reconciler = Reconciler(broker)
    assert reconciler.run() == 0
    inside = undispatched(2, age_ms=20_000)  # made before the last pass, within the margin
    outside = undispatched(2, age_ms=HOUR_MS)  # left to the sweep
    assert reconciler.run() == 2
    assert not broker.missing_jobs(inside)
    assert broker.missing_jobs(outside) == outside
