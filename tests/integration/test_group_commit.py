"""The in-process enqueue's group commit (jobs.group_commit): concurrent callers outside
a transaction share one, and each still returns only once its own jobs are committed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from jobs import group_commit
from jobs.enqueue import enqueue, enqueue_many
from jobs.errors import InvalidInput, StoreUnavailable
from jobs.models import Job
from jobs.submission import JobRequest, PreparedJob, prepare

pytestmark = pytest.mark.django_db(transaction=True)

CALLERS = 8


def _in_threads(call, n: int = CALLERS) -> list:
    """`call(i)` in n threads started together; each closes its own connection."""
    start = threading.Barrier(n)

    def run(i: int):
        try:
            start.wait()
            return call(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_callers_each_return_with_their_job_committed_and_dispatched(broker):
    def call(i: int) -> tuple[str, bool]:
        job_id = enqueue("text.reverse", {"text": f"t{i}"})
        # Read on this thread's own connection, which may not be the one that wrote it.
        return job_id, Job.objects.filter(pk=job_id).exists()

    results = _in_threads(call)
    assert all(committed for _, committed in results)
    ids = [job_id for job_id, _ in results]
    assert len(set(ids)) == CALLERS
    assert all(broker.where_is(job_id) == ["default"] for job_id in ids)
    texts = sorted(Job.objects.values_list("payload__text", flat=True))
    assert texts == sorted(f"t{i}" for i in range(CALLERS))


def test_concurrent_enqueue_many_keeps_each_callers_ids_in_order(broker):
    def call(i: int) -> list[str]:
        return enqueue_many([{"type": "demo.noop", "payload": {"c": i, "n": n}} for n in range(5)])

    for i, ids in enumerate(_in_threads(call)):
        payloads = [Job.objects.get(pk=job_id).payload for job_id in ids]
        assert payloads == [{"c": i, "n": n} for n in range(5)]
        assert all(broker.where_is(job_id) == ["default"] for job_id in ids)
    assert Job.objects.count() == CALLERS * 5


def test_enqueue_many_outside_a_transaction_writes_nothing_when_one_item_is_bad(broker):
    with pytest.raises(InvalidInput) as err:
        enqueue_many([{"type": "demo.noop", "payload": {}}, {"type": "demo.noop", "payload": 1}])
    assert err.value.field == "payload" and "in jobs[1]" in err.value.__notes__
    assert Job.objects.count() == 0 and broker.lengths().default == 0


def test_a_bad_item_fails_only_its_own_caller(broker):
    def call(i: int) -> str:
        payload = 1 if i == 3 else {"c": i}  # caller 3's second job is bad
        try:
            enqueue_many([{"type": "demo.noop", "payload": p} for p in ({}, payload)])
        except InvalidInput as exc:
            return f"{exc.field} {exc.__notes__}"
        return "ok"

    results = _in_threads(call)
    assert results[3] == "payload ['in jobs[1]']"
    assert results[:3] + results[4:] == ["ok"] * (CALLERS - 1)
    assert Job.objects.count() == (CALLERS - 1) * 2
    assert broker.lengths().default == (CALLERS - 1) * 2


def _submit(*jobs: PreparedJob) -> list[PreparedJob]:
    return group_commit.submit(lambda: list(jobs), len(jobs))


def test_a_failed_group_write_fails_the_group_and_leaves_none_of_its_rows(broker):
    first = prepare(JobRequest(type="demo.noop", payload={}))
    _submit(first)
    again = prepare(JobRequest(type="demo.noop", payload={"n": 2}))
    clash = prepare(JobRequest(type="demo.noop", payload={"n": 3}))
    clash.job.id = first.job.id  # the row breaks the primary key: the whole write fails
    with pytest.raises(StoreUnavailable):
        _submit(again, clash)
    assert list(Job.objects.values_list("id", flat=True)) == [first.job.id]
    assert broker.where_is(str(again.job.id)) == []
    assert connection.get_autocommit()  # the failed transaction left the connection usable
    # The group is closed: the next caller writes on its own.
    assert Job.objects.filter(pk=enqueue("demo.noop", {})).exists()
