"""What only a cluster shows: jobs spread over its masters, one master's data loss is
rebuilt from the database while the others' jobs stay as they are, and an idle worker
wakes for a job in any partition (one thread per wake list: a cluster refuses a BLPOP
over several slots)."""

from __future__ import annotations

import threading

import pytest

from jobs import outbox
from jobs.models import Attempt, Job
from tests.cluster.conftest import PARTITIONS
from tests.support.factories import claim, outcome, submit
from workers.watchdog import Watchdog

pytestmark = pytest.mark.django_db(transaction=True)


def master_of(redis_cluster, broker, job_id: str) -> int:
    """Which of the cluster's masters holds the job (its index in redis_cluster.nodes)."""
    node = broker.redis.get_node_from_key(broker.keys_for(job_id).job(job_id))
    return [n.port for n in redis_cluster.nodes].index(node.port)


def test_jobs_land_on_every_master(broker, redis_cluster, capsys):
    for _ in range(300):
        submit()
    per_master = redis_cluster.keys_per_master(f"{broker.prefix}:*:job:*")
    with capsys.disabled():
        print(f"\njob hashes per master ({PARTITIONS} partitions, 300 jobs): {per_master}")
    assert sum(per_master) == 300
    # Two partitions per master by construction; 300 random ids put far more than 40
    # on each (a master with none would mean the keyspace does not spread at all).
    assert all(n > 40 for n in per_master)
    ids = Job.objects.values_list("id", flat=True)
    assert {master_of(redis_cluster, broker, str(i)) for i in ids} == {0, 1, 2}


def test_one_master_flushed_is_rebuilt_and_the_others_keep_their_leases(broker, redis_cluster):
    jobs = [submit() for _ in range(60)]
    running = claim(broker, max_jobs=30)
    assert len(running) == 30
    from workers.reporter import Reporter

    Reporter(broker, lambda *a: None).write(running, [])  # the database knows they run
    Watchdog(broker).run_once()  # epochs marked
    tokens = {c.id: c.token for c in running}
    victim = 1
    lost = {str(j.id) for j in jobs if master_of(redis_cluster, broker, str(j.id)) == victim}
    assert lost and len(lost) < len(jobs)

    redis_cluster.client(redis_cluster.nodes[victim]).flushall()
    assert not broker.has_epoch()
    done = Watchdog(broker).run_once()

    assert done["redispatched"] == len(lost)
    assert broker.has_epoch()
    for c in running:
        state = broker.job_state(c.id)
        if c.id in lost:  # its lease went with the master: a new run, a new token
            assert state["state"] == "queued"
            assert Attempt.objects.get(job_id=c.id, number=1).outcome == "lease_expired"
        else:  # untouched: still running under the same lease
            assert (state["state"], state["token"]) == ("running", tokens[c.id])
    for job in jobs:
        assert broker.where_is(str(job.id)), f"{job.id} is nowhere in Redis"
    # A worker's late result from before the loss is refused; the others' are taken.
    finished = broker.finish([outcome(c) for c in running])
    assert {f.job_id for f in finished if f.stale} == {c.id for c in running if c.id in lost}
    outbox.apply_and_settle(broker, [f.entry for f in finished if not f.stale])
    assert Job.objects.filter(status="succeeded").count() == len(
        [c for c in running if c.id not in lost]
    )


def test_an_idle_worker_wakes_for_a_job_in_any_partition(broker):
    from jobs.broker.client import Broker

    woken: list[bool] = []
    waiter = Broker()  # a worker's own broker, its wake threads and all
    assert waiter.wait_for_work(0.2) is False  # nothing enqueued: times out
    for _ in range(3):  # each job in whatever partition its id picks
        thread = threading.Thread(target=lambda: woken.append(waiter.wait_for_work(20)))
        thread.start()
        job = submit()
        thread.join(30)
        where = broker.keys_for(str(job.id)).tag
        assert woken[-1] is True, f"no wake-up for a job in partition {where}"
        [c] = claim(broker)
        assert c.id == str(job.id)
