"""The in-process enqueue (jobs.enqueue): the caller's transaction decides.

Every test commits for real (transactional_db): on_commit callbacks only run on a real
commit, never inside pytest-django's per-test transaction.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import pytest
from django.db import connections, transaction

from jobs.enqueue import enqueue, enqueue_many
from jobs.errors import DedupeConflict, InvalidInput
from jobs.models import DedupeKey, Job
from jobs.services import submit_job
from jobs.submission import JobRequest

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    pass


def redis_holds_nothing(broker, raw_redis) -> bool:
    lengths = broker.lengths()
    waiting = lengths.high + lengths.default + lengths.low + lengths.scheduled + lengths.dlq
    return waiting == 0 and not any(raw_redis.keys(f"{k.job_prefix}*") for k in broker.partitions)


def test_outside_a_transaction_it_is_committed_and_dispatched_at_once(broker):
    job_id = enqueue("text.reverse", {"text": "hi"}, queue="high", max_attempts=2)
    job = Job.objects.get(pk=job_id)
    assert (job.status, job.queue, job.max_attempts) == ("queued", "high", 2)
    assert broker.where_is(job_id) == ["high"]


def test_inside_a_transaction_it_is_dispatched_only_after_the_commit(broker):
    with transaction.atomic():
        job_id = enqueue("text.reverse", {"text": "hi"})
        assert Job.objects.filter(pk=job_id).exists()  # in the caller's transaction
        assert broker.where_is(job_id) == []
    assert broker.where_is(job_id) == ["default"]


def test_a_rollback_leaves_no_row_and_nothing_in_redis(broker, raw_redis):
    with pytest.raises(Rollback), transaction.atomic():
        job_id = enqueue("text.reverse", {"text": "hi"}, dedupe_key="order-1")
        enqueue_many([{"type": "demo.noop", "payload": {"i": i}} for i in range(3)])
        raise Rollback
    assert not Job.objects.filter(pk=job_id).exists()
    assert Job.objects.count() == 0 and DedupeKey.objects.count() == 0
    assert redis_holds_nothing(broker, raw_redis)


def test_a_rolled_back_savepoint_drops_only_its_own_jobs(broker):
    with transaction.atomic():
        kept = enqueue("demo.noop", {"n": 1})
        with pytest.raises(Rollback), transaction.atomic():
            dropped = enqueue("demo.noop", {"n": 2})
            raise Rollback
    assert list(Job.objects.values_list("id", flat=True)) == [Job.objects.get(pk=kept).pk]
    assert broker.where_is(kept) == ["default"] and broker.where_is(dropped) == []


def test_a_deferred_job_is_scheduled_after_the_commit(broker):
    with transaction.atomic():
        job_id = enqueue("demo.noop", {}, delay_seconds=60)
    assert Job.objects.get(pk=job_id).status == "scheduled"
    assert broker.where_is(job_id) == ["scheduled"]


def test_dedupe_hit_on_a_job_of_the_same_open_transaction(broker):
    with transaction.atomic():
        first = enqueue("demo.noop", {"a": 1}, dedupe_key="k")
        again = enqueue("demo.noop", {"a": 1}, dedupe_key="k")
        assert again == first
        with pytest.raises(DedupeConflict):
            enqueue("demo.noop", {"a": 2}, dedupe_key="k")
        other = enqueue("demo.noop", {"b": 1})  # the transaction is still usable
    assert Job.objects.count() == 2 and broker.lengths().default == 2
    assert {first, other} == {str(i) for i in Job.objects.values_list("id", flat=True)}


def test_dedupe_against_a_committed_job_and_from_the_api(broker):
    earlier = submit_job(JobRequest(type="demo.noop", payload={}, dedupe_key="k")).job_id
    with transaction.atomic():
        assert enqueue("demo.noop", {}, dedupe_key="k") == earlier
    assert Job.objects.count() == 1 and broker.lengths().default == 1


@pytest.mark.parametrize("outcome", ["commit", "rollback"])
def test_a_concurrent_submit_of_the_same_key_waits_for_the_transaction(broker, outcome):
    """Another transaction's submit of our key must neither create a second job nor
    return our id before we know whether our job exists."""

    def api_submit():
        try:
            return submit_job(JobRequest(type="demo.noop", payload={}, dedupe_key="k"))
        finally:
            connections.close_all()

    expected = pytest.raises(Rollback) if outcome == "rollback" else nullcontext()
    with ThreadPoolExecutor(max_workers=1) as pool:
        with expected, transaction.atomic():
            ours = enqueue("demo.noop", {}, dedupe_key="k")
            theirs = pool.submit(api_submit)
            assert not _finishes(theirs, within=0.5)  # it waits on our key
            if outcome == "rollback":
                raise Rollback
        result = theirs.result(timeout=30)
    assert (result.job_id == ours, result.created) == (
        (True, False) if outcome == "commit" else (False, True)
    )
    assert Job.objects.count() == 1 and broker.lengths().default == 1


def test_bad_input_raises_the_api_errors_and_writes_nothing(broker):
    with transaction.atomic():
        with pytest.raises(InvalidInput) as err:
            enqueue("no.such", {})
        assert err.value.field == "type"
        with pytest.raises(InvalidInput) as err:
            enqueue("text.reverse", {"text": 5})
        assert err.value.field == "payload.text"
    assert Job.objects.count() == 0 and broker.lengths().default == 0


def test_enqueue_many_returns_ids_in_order_and_dispatches_after_commit(broker):
    with transaction.atomic():
        ids = enqueue_many(
            [
                {"type": "demo.noop", "payload": {"i": 1}, "queue": "low"},
                JobRequest(type="demo.noop", payload={"i": 2}, dedupe_key="d"),
                {"type": "demo.noop", "payload": {"i": 2}, "dedupe_key": "d"},
            ]
        )
        assert broker.lengths().low == broker.lengths().default == 0
    assert ids[1] == ids[2] and len(set(ids)) == 2
    assert broker.where_is(ids[0]) == ["low"] and broker.where_is(ids[1]) == ["default"]
    assert enqueue_many([]) == []


def test_enqueue_many_is_all_or_nothing(broker, raw_redis):
    with transaction.atomic():
        kept = enqueue("demo.noop", {})
        with pytest.raises(InvalidInput) as err:
            enqueue_many([{"type": "demo.noop", "payload": {}}, {"type": "nope", "payload": {}}])
        assert err.value.field == "type" and "in jobs[1]" in err.value.__notes__
        with pytest.raises(InvalidInput) as err:
            enqueue_many([{"type": "demo.noop", "payload": {}, "colour": "red"}])
        assert err.value.field == "colour"
    assert [str(i) for i in Job.objects.values_list("id", flat=True)] == [kept]
    assert broker.lengths().default == 1


def _finishes(future, within: float) -> bool:
    done = threading.Event()
    future.add_done_callback(lambda _: done.set())
    return done.wait(within)
