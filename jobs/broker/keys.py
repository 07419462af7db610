"""Redis key names: the one place that builds them.

A Lua script may only touch keys of one Redis Cluster slot, so keys are grouped by hash
tag. With one partition (QUEUEY_PARTITIONS=1, the default) every key shares the tag
`{main}`. With P > 1, each partition's job hashes, queues, schedule, leases, dead
letters, outbox, wake-up list, fencing counter and epoch share a tag of their own, so a
cluster spreads partitions over its masters; keys that are not about one job (the
worker registry, rate windows, locks, the watchdog's pass, the partition count) stay
under `{main}`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

MAIN_TAG = "main"


@dataclass(frozen=True)
class Keys:
    prefix: str
    tag: str = MAIN_TAG

    @property
    def base(self) -> str:
        return f"{self.prefix}:{{{self.tag}}}"

    @property
    def job_prefix(self) -> str:
        return f"{self.base}:job:"

    @property
    def queue_prefix(self) -> str:
        return f"{self.base}:queue:"

    def job(self, job_id: str) -> str:
        return self.job_prefix + job_id

    def queue(self, name: str) -> str:
        return self.queue_prefix + name

    @property
    def scheduled(self) -> str:
        return f"{self.base}:scheduled"

    @property
    def leases(self) -> str:
        return f"{self.base}:leases"

    @property
    def dlq(self) -> str:
        return f"{self.base}:dlq"

    @property
    def outbox(self) -> str:
        return f"{self.base}:outbox"

    @property
    def notify(self) -> str:
        return f"{self.base}:notify"

    @property
    def token_seq(self) -> str:
        return f"{self.base}:token_seq"

    @property
    def epoch(self) -> str:
        """Sentinel set by the watchdog; its absence means Redis lost this partition's
        data."""
        return f"{self.base}:epoch"

    # --- global keys (only meaningful under the main tag) ---------------------------
    @property
    def partition_count(self) -> str:
        """How many partitions the jobs in this Redis are laid out in."""
        return f"{self.base}:partitions"

    @property
    def watchdog_pass(self) -> str:
        return f"{self.base}:watchdog_pass"

    @property
    def workers(self) -> str:
        return f"{self.base}:workers"

    def worker(self, worker_id: str) -> str:
        return f"{self.base}:worker:{worker_id}"

    def rate_window(self, scope: str, ident: str, window: int) -> str:
        return f"{self.base}:rate:{scope}:{ident}:{window}"

    def lock(self, name: str) -> str:
        return f"{self.base}:lock:{name}"

    @property
    def key_revocations(self) -> str:
        """Pub/sub channel: an API key was revoked, drop cached keys."""
        return f"{self.base}:key_revocations"


@cache
def partition_tags(count: int) -> tuple[str, ...]:
    """One hash tag per partition, chosen so partition i's slot lies in the i-th of
    `count` equal stretches of the slot space: a cluster whose masters own equal
    stretches (what `redis-cli --cluster create` makes) gets an equal share of
    partitions on each master, where plain names ("p0", "p1", ...) can crowd onto one."""
    if count < 1:
        raise ValueError("the partition count must be at least 1")
    if count == 1:
        return (MAIN_TAG,)
    tags = []
    for i in range(count):
        low = i * REDIS_CLUSTER_HASH_SLOTS // count
        high = (i + 1) * REDIS_CLUSTER_HASH_SLOTS // count
        n = 0
        while not low <= key_slot(f"p{i}.{n}".encode()) < high:
            n += 1
        tags.append(f"p{i}.{n}")
    return tuple(tags)


def partition_of(job_id: str, count: int) -> int:
    """The partition a job lives in for life: its id's integer (a UUIDv7, whose low
    bits are random) modulo the partition count."""
    if count == 1:
        return 0
    return uuid.UUID(job_id).int % count
