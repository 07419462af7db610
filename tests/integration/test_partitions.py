"""The partitioned keyspace on one Redis server: the layout, routing and the refusal of
a partition count that does not fit the jobs Redis holds."""

from __future__ import annotations

import pytest
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from jobs import outbox
from jobs.broker.client import Broker, PartitionLayoutMismatch
from jobs.broker.keys import Keys, partition_of, partition_tags
from tests.support.factories import claim, outcome, submit
from workers.layout import EXIT_WRONG_LAYOUT
from workers.watchdog import Watchdog
from workers.worker import Worker

pytestmark = pytest.mark.django_db


def test_one_partition_keeps_every_key_under_main():
    assert partition_tags(1) == ("main",)
    assert Broker(partitions=1).keys == Keys(Broker().prefix)


@pytest.mark.parametrize("count", [2, 3, 6, 16])
def test_partition_tags_cover_equal_stretches_of_the_slot_space(count):
    slots = [key_slot(tag.encode()) for tag in partition_tags(count)]
    stretch = REDIS_CLUSTER_HASH_SLOTS / count
    assert [int(slot // stretch) for slot in slots] == list(range(count))


def test_every_key_of_a_partition_shares_its_tag():
    for tag in partition_tags(6):
        k = Keys("qy", tag)
        names = [k.job("x"), k.queue("high"), k.scheduled, k.leases, k.dlq, k.outbox]
        names += [k.notify, k.token_seq, k.epoch]
        assert {key_slot(n.encode()) for n in names} == {key_slot(tag.encode())}


def test_a_job_lives_in_the_partition_its_id_picks(settings):
    settings.QUEUEY_PARTITIONS = 6
    broker = Broker()
    jobs = [submit() for _ in range(60)]
    for job in jobs:
        part = broker.partitions[partition_of(str(job.id), 6)]
        assert broker.redis.lindex(part.queue("default"), 0) is not None
        assert broker.redis.exists(part.job(str(job.id)))
    used = {partition_of(str(j.id), 6) for j in jobs}
    assert used == set(range(6))  # 60 random ids miss a partition once in ~10^4 runs
    assert broker.lengths().default == 60


def test_several_partitions_on_one_server_claim_finish_and_wake(settings):
    settings.QUEUEY_PARTITIONS = 4
    broker = Broker()
    low, high = submit(queue="low"), submit(queue="high")
    assert broker.wait_for_work(1) is True  # one BLPOP over every partition's wake list
    claimed = claim(broker, max_jobs=1)
    assert [c.id for c in claimed] == [str(high.id)]  # priority holds across partitions
    [c_low] = claim(broker)
    assert c_low.id == str(low.id)
    finished = broker.finish([outcome(claimed[0]), outcome(c_low)])
    assert [f.job_id for f in finished] == [claimed[0].id, c_low.id]
    assert all(f.state == "succeeded" for f in finished)


def test_a_different_count_is_refused_while_redis_holds_jobs(settings):
    Broker(partitions=1).check_layout()
    submit()  # one job waits in the one-partition layout
    six = Broker(partitions=6)
    with pytest.raises(
        PartitionLayoutMismatch, match=r"QUEUEY_PARTITIONS=6.*1 partition.*1 default"
    ):
        six.check_layout()
    assert "holds jobs laid out in 1 partition" in (six.layout_problem() or "")
    settings.QUEUEY_PARTITIONS = 6
    assert Worker(concurrency=1).run() == EXIT_WRONG_LAYOUT
    assert Watchdog().run() == EXIT_WRONG_LAYOUT
    assert Broker(partitions=1).layout_problem() is None  # the old count still fits


def test_a_different_count_is_taken_once_the_old_layout_is_drained():
    one = Broker(partitions=1)
    one.check_layout()
    submit()
    [c] = claim(one)
    one.finish([outcome(c)])
    six = Broker(partitions=6)
    with pytest.raises(PartitionLayoutMismatch, match="1 outbox"):  # not written yet
        six.check_layout()
    outbox.apply_and_settle(one, one.outbox_older_than(0))
    six.check_layout()  # nothing waits, runs, is dead or unwritten: the change is taken
    assert six.redis.get(six.global_keys.partition_count) == "6"
    assert one.layout_problem() is None  # the new layout holds nothing either


def test_readyz_names_a_partition_count_that_does_not_fit(client, settings):
    Broker(partitions=1).check_layout()
    submit()
    settings.QUEUEY_PARTITIONS = 6
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "wrong partition count" in response.json()["redis"]
