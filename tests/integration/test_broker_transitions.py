"""Every Lua transition against a real Redis, with the database behind it."""

from __future__ import annotations

import json
import time

import pytest

from jobs import outbox
from jobs.models import Attempt, Job
from tests.support.factories import claim, outcome, submit

pytestmark = pytest.mark.django_db


def finish_and_write(broker, outcomes):
    results = broker.finish(outcomes)
    outbox.apply_and_settle(broker, [r.entry for r in results if not r.stale])
    return results


def test_enqueue_puts_job_on_its_queue_once(broker):
    job = submit(queue="low")
    assert broker.where_is(str(job.id)) == ["low"]
    from jobs.dispatch import dispatch_of

    assert broker.enqueue([dispatch_of(job)]) == 0  # idempotent: already there
    assert broker.lengths().low == 1


def test_claim_leases_with_token_and_redis_deadline(broker):
    job = submit()
    before = broker.now_ms()
    [claimed] = claim(broker, visibility_ms=5000)
    assert claimed.id == str(job.id) and claimed.attempt == 1
    deadline = broker.redis.zscore(broker.keys_for(claimed.id).leases, claimed.id)
    assert before + 5000 <= deadline <= broker.now_ms() + 5000
    assert broker.where_is(claimed.id) == ["leases"]
    assert claim(broker) == []


def test_claim_takes_several_per_round_trip_in_fifo_order(broker):
    ids = [str(submit().id) for _ in range(5)]
    claimed = [c.id for c in claim(broker, max_jobs=3)]
    assert len(set(claimed)) == 3
    # FIFO within each partition (with one partition: the first three, in order).
    for part in {broker.keys_for(i) for i in ids}:
        mine = [i for i in ids if broker.keys_for(i) == part]
        taken = [i for i in claimed if broker.keys_for(i) == part]
        assert taken == mine[: len(taken)]
    if broker.partition_count == 1:
        assert claimed == ids[:3]


def test_one_at_a_time_claims_are_fifo_over_every_partition(broker):
    ids = [str(submit().id) for _ in range(8)]
    assert [claim(broker)[0].id for _ in ids] == ids


def test_strict_priority_high_default_low(broker):
    low = submit(queue="low")
    default = submit(queue="default")
    high = submit(queue="high")
    order = [claim(broker)[0].id for _ in range(3)]
    assert order == [str(high.id), str(default.id), str(low.id)]


def test_claim_respects_the_queues_it_serves(broker):
    submit(queue="high")
    assert claim(broker, queues=("low",)) == []


def test_ack_records_result_and_attempt(broker):
    job = submit("text.reverse", {"text": "hello"})
    [c] = claim(broker)
    [r] = finish_and_write(broker, [outcome(c, detail='"olleh"')])
    assert r.state == "succeeded"
    job.refresh_from_db()
    assert (job.status, job.result, job.attempts) == ("succeeded", "olleh", 1)
    assert list(job.attempt_records.values_list("outcome", flat=True)) == ["succeeded"]
    # Settled: once the database holds it, Redis keeps only an expiring tombstone.
    assert broker.job_state(str(job.id)) == {"state": "succeeded", "ver": "2"}
    assert 0 < broker.redis.pttl(broker.keys_for(str(job.id)).job(str(job.id))) <= 60_000
    assert broker.lengths().outbox == 0


def test_an_enqueue_retried_after_the_job_finished_does_nothing(broker):
    from jobs.dispatch import dispatch_of

    job = submit()
    dispatch = dispatch_of(job)  # what a submitter whose reply was lost would resend
    [c] = claim(broker)
    finish_and_write(broker, [outcome(c)])
    assert broker.enqueue([dispatch]) == 0
    assert claim(broker) == []


def test_stale_token_ack_is_refused(broker):
    job = submit()
    [c] = claim(broker, visibility_ms=1)
    time.sleep(0.01)
    assert [json.loads(e)["id"] for e in broker.requeue_expired()] == [str(job.id)]
    [r] = broker.finish([outcome(c)])
    assert r.stale and r.entry == "queued 1"  # where the job is now: requeued after attempt 1
    assert broker.where_is(str(job.id)) == ["default"]


def test_renew_extends_only_live_leases(broker):
    _a, _b = submit(), submit()
    ca, cb = claim(broker, max_jobs=2, visibility_ms=1000)
    first = broker.redis.zscore(broker.keys_for(ca.id).leases, ca.id)
    lost = broker.renew([(ca.id, ca.token), (cb.id, "bogus")], visibility_ms=60_000)
    assert lost == [1]  # the second lease
    assert broker.redis.zscore(broker.keys_for(ca.id).leases, ca.id) > first + 50_000


def test_fail_schedules_retry_with_delay_then_dead_after_limit(broker):
    job = submit("demo.fail", max_attempts=2)
    [c] = claim(broker)
    before = broker.now_ms()
    [r] = finish_and_write(broker, [outcome(c, "failed", "boom", retry_delay_ms=60_000)])
    assert r.state == "retrying"
    due = broker.redis.zscore(broker.keys_for(c.id).scheduled, c.id)
    assert before + 60_000 <= due <= broker.now_ms() + 60_000
    job.refresh_from_db()
    assert job.status == "retrying" and job.error == "boom"
    broker.redis.zadd(broker.keys_for(c.id).scheduled, {c.id: 0})  # its backoff has passed
    assert broker.promote_due()[0]
    [c2] = claim(broker)
    assert c2.attempt == 2
    [r2] = finish_and_write(broker, [outcome(c2, "failed", "boom again")])
    assert r2.state == "dead"
    assert broker.where_is(c.id) == ["dlq"]
    job.refresh_from_db()
    assert job.status == "dead" and job.attempts == 2
    assert list(job.attempt_records.values_list("number", "outcome")) == [
        (1, "failed"),
        (2, "failed"),
    ]


def test_retry_now_starts_a_new_run_with_a_fresh_budget(broker):
    job = submit("demo.fail", max_attempts=2)
    [c] = claim(broker)
    finish_and_write(broker, [outcome(c, "failed", "boom", retry_delay_ms=60_000)])
    [entry] = broker.move_to_queue([c.id])  # retry now
    outbox.apply_and_settle(broker, [entry])
    job.refresh_from_db()
    assert (job.status, job.run, job.run_base, job.attempt_limit) == ("queued", 2, 1, 3)
    assert job.run_attempts == 0
    [c2] = claim(broker)
    assert (c2.attempt, c2.run) == (2, 2)
    [r2] = finish_and_write(broker, [outcome(c2, "failed", "boom again", retry_delay_ms=0)])
    assert r2.state == "retrying"  # attempt 1 of 2 in this run
    assert list(job.attempt_records.values_list("number", "run")) == [(1, 1), (2, 2)]


def test_requeue_expired_goes_to_back_of_own_queue_and_counts_attempt(broker):
    first = submit()
    [c] = claim(broker, visibility_ms=1)
    second = submit()
    time.sleep(0.01)
    assert [json.loads(e)["id"] for e in broker.requeue_expired()] == [c.id]
    # Behind everything that waits in its queue (with one partition: behind `second`).
    queue = broker.redis.lrange(broker.keys_for(c.id).queue("default"), 0, -1)
    assert queue[-1] == str(first.id) and broker.where_is(str(second.id)) == ["default"]
    if broker.partition_count == 1:
        assert queue == [str(second.id), str(first.id)]
    outbox.apply_and_settle(broker, broker.outbox_older_than(0))
    attempt = Attempt.objects.get(job=first)
    assert (attempt.outcome, attempt.worker_id) == ("lease_expired", "w1")


def test_lease_expired_on_last_attempt_goes_to_dlq(broker):
    job = submit(max_attempts=1)
    claim(broker, visibility_ms=1)
    time.sleep(0.01)
    broker.requeue_expired()
    assert broker.where_is(str(job.id)) == ["dlq"]


def test_promote_moves_only_due_jobs(broker):
    due = submit(delay_seconds=0.05)
    later = submit(delay_seconds=3600)
    assert broker.lengths().scheduled == 2
    time.sleep(0.1)
    promoted, wait_ms = broker.promote_due()
    assert len(promoted) == 1 and 3_500_000 < wait_ms <= 3_600_000
    assert broker.where_is(str(due.id)) == ["default"]
    assert broker.where_is(str(later.id)) == ["scheduled"]
    outbox.apply_and_settle(broker, promoted)
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.status, due.scheduled_at) == ("queued", None)  # the database follows
    assert later.status == "scheduled"


@pytest.mark.parametrize("where", ["queued", "scheduled", "running", "dead"])
def test_cancel_removes_job_from_wherever_it_is(broker, where):
    from jobs.services import cancel_job

    job = submit(delay_seconds=3600) if where == "scheduled" else submit(max_attempts=1)
    if where in ("running", "dead"):
        [c] = claim(broker)
        if where == "dead":
            finish_and_write(broker, [outcome(c, "failed", "x")])
    cancel_job(job_id=str(job.id))
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert broker.where_is(str(job.id)) == []
    if where == "running":
        [late] = broker.finish([outcome(c)])
        assert late.stale
        job.refresh_from_db()
        assert job.status == "cancelled"


def test_replay_moves_oldest_dead_jobs_with_fresh_budget(broker):
    from jobs.services import replay_dlq

    jobs = [submit("demo.fail", max_attempts=1) for _ in range(3)]
    for _ in jobs:  # one at a time: they die oldest first
        [c] = claim(broker)
        finish_and_write(broker, [outcome(c, "failed", "x")])
    assert replay_dlq(limit=2) == 2
    assert broker.lengths().dlq == 1
    replayed = Job.objects.filter(status="queued").order_by("id")
    assert [j.id for j in replayed] == [jobs[0].id, jobs[1].id]
    assert all(j.attempt_limit == 2 for j in replayed)
    [c] = claim(broker)
    assert c.attempt == 2
    [r] = broker.finish([outcome(c, "failed", "x", retry_delay_ms=10)])
    assert r.state == "dead"  # budget of max_attempts=1 again


def test_concurrent_replays_move_each_job_once(broker):
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(20):
        submit("demo.fail", max_attempts=1)
    for c in claim(broker, max_jobs=20):
        finish_and_write(broker, [outcome(c, "failed", "x")])
    with ThreadPoolExecutor(8) as pool:
        moved = list(pool.map(lambda _: broker.replay_dlq(5), range(8)))
    ids = [entry for batch in moved for entry in batch]
    assert len(ids) == 20 and broker.lengths().default == 20


def test_interrupted_release_goes_to_head_without_spending_budget(broker):
    job = submit(max_attempts=1)
    submit()
    [c] = claim(broker)
    [r] = finish_and_write(broker, [outcome(c, "interrupted", "shutdown")])
    assert r.state == "queued"
    assert broker.redis.lindex(broker.keys_for(str(job.id)).queue("default"), 0) == str(job.id)
    [c2] = claim(broker)
    assert c2.id == str(job.id) and c2.attempt == 2
    [r2] = broker.finish([outcome(c2, "failed", "x", retry_delay_ms=5)])
    assert r2.state == "dead"  # one real attempt allowed: the released one did not count


def test_every_lua_script_compiles(raw_redis):
    from jobs.broker.scripts import LUA_DIR, SCRIPT_NAMES, source

    assert {p.stem for p in LUA_DIR.glob("*.lua")} - {"_now"} == set(SCRIPT_NAMES)
    for name in SCRIPT_NAMES:
        assert len(raw_redis.script_load(source(name))) == 40
