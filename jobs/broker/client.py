"""The broker: every Redis operation Queuey performs, each atomic change one Lua script.

The keyspace is split into partitions (jobs/broker/keys.py); a job lives in the one its
id picks, and every script runs inside one partition. Methods about given jobs route
each to its partition; methods about "any job" (claim, promote, requeue, the outbox)
visit every partition.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import redis
from redis.commands.core import Script
from redis.typing import EncodableT

from jobs import conf
from jobs.broker.connection import RedisClient, get_redis
from jobs.broker.keys import Keys, partition_of, partition_tags
from jobs.broker.scripts import source
from jobs.broker.types import ClaimedJob, Dispatch, Finished, Outcome
from jobs.broker.wakeup import ListWaiters

logger = logging.getLogger("queuey.broker")

STALE = "stale"
# How often a replay over several partitions looks again for jobs a concurrent replay
# took first.
REPLAY_ROUNDS = 16
# One Script per Lua source for the process: a Broker is cheap to create (one per request)
# and must not hash every script again.
_SCRIPTS: dict[str, Script] = {}


@dataclass(frozen=True)
class QueueLengths:
    high: int
    default: int
    low: int
    scheduled: int
    running: int
    dlq: int
    outbox: int


class PartitionLayoutMismatch(RuntimeError):
    """Redis holds jobs laid out in another partition count than this process's."""


T = TypeVar("T")


class Broker:
    def __init__(
        self,
        client: RedisClient | None = None,
        prefix: str | None = None,
        partitions: int | None = None,
    ) -> None:
        self.redis = client or get_redis()
        self.prefix = prefix or conf.get("KEY_PREFIX")
        self.partition_count = partitions or conf.get("PARTITIONS")
        self.partitions = [Keys(self.prefix, tag) for tag in partition_tags(self.partition_count)]
        # Keys not about one job; with one partition these are that partition's.
        self.global_keys = Keys(self.prefix)
        # Partition 0: with one partition, every key (tests of the one-partition layout
        # read keys through it).
        self.keys = self.partitions[0]
        self._waiters: ListWaiters | None = None

    def keys_for(self, job_id: str) -> Keys:
        """The keys of the partition the job lives in."""
        return self.partitions[partition_of(job_id, self.partition_count)]

    def _grouped(self, items: Sequence[T], id_of: Callable[[T], str]) -> dict[int, list[int]]:
        """Per partition, the indexes of the items whose job lives there (in order)."""
        groups: dict[int, list[int]] = defaultdict(list)
        for index, item in enumerate(items):
            groups[partition_of(id_of(item), self.partition_count)].append(index)
        return groups

    def _run(self, name: str, keys: list[str], args: list[EncodableT]) -> Any:
        """The script's reply: an int, a str or a (nested) list of them, per script header."""
        script = _SCRIPTS.get(name)
        if script is None:  # hashed on first use; sent to Redis once (EVALSHA after)
            script = _SCRIPTS[name] = self.redis.register_script(source(name))
        return script(keys=keys, args=args, client=self.redis)

    # --- dispatch -------------------------------------------------------------------
    def enqueue(self, jobs: list[Dispatch]) -> int:
        """Create the jobs Redis does not hold yet; returns how many it created."""
        return len(self.enqueue_new(jobs))

    def enqueue_new(self, jobs: list[Dispatch]) -> list[str]:
        """Create the jobs Redis does not hold yet; returns the ids it created."""
        if not jobs:
            return []
        created: list[str] = []
        for part, indexes in self._grouped(jobs, lambda j: j.id).items():
            created += self._enqueue_in(self.partitions[part], [jobs[i] for i in indexes])
        return created

    def _enqueue_in(self, k: Keys, jobs: list[Dispatch]) -> list[str]:
        args: list[EncodableT] = []
        for j in jobs:
            args += [
                j.id,
                j.type,
                j.queue,
                j.payload_json,
                j.attempt,
                j.limit,
                j.max_attempts,
                j.timeout,
                j.created_ms,
                j.due_ms,
                j.state,
                j.version,
                j.run,
                j.trace,
            ]
        return list(
            self._run("enqueue", [k.job_prefix, k.queue_prefix, k.scheduled, k.dlq, k.notify], args)
        )

    def claim(
        self, *, max_jobs: int, worker_id: str, queues: list[str], visibility_ms: int
    ) -> list[ClaimedJob]:
        """Up to max_jobs jobs, leased, strictly by priority (queues in the given order)
        and FIFO within a queue. With several partitions one pipelined look at every
        queue's head comes first; then each queue, highest first, is claimed from the
        partitions that hold work in it, the one with the oldest head first (UUIDv7 ids
        sort by creation). FIFO across partitions is so by head only: a claim of several
        takes them from one partition before the next."""
        if self.partition_count == 1:
            return self._claim_in(self.keys, max_jobs, worker_id, queues, visibility_ms)
        pipe = self.redis.pipeline(transaction=False)
        for k in self.partitions:
            for name in queues:
                pipe.lindex(k.queue(name), 0)
        heads = pipe.execute()
        claimed: list[ClaimedJob] = []
        for level, name in enumerate(queues):
            holding = sorted(
                (head, part)
                for part, head in enumerate(heads[level :: len(queues)])
                if head is not None
            )
            for _head, part in holding:
                want = max_jobs - len(claimed)
                if want <= 0:
                    return claimed
                claimed += self._claim_in(
                    self.partitions[part], want, worker_id, [name], visibility_ms
                )
        return claimed

    def _claim_in(
        self, k: Keys, max_jobs: int, worker_id: str, queues: list[str], visibility_ms: int
    ) -> list[ClaimedJob]:
        raw = self._run(
            "claim",
            [k.job_prefix, k.queue_prefix, k.leases, k.token_seq],
            [max_jobs, worker_id, visibility_ms, *queues],
        )
        now = int(raw[0])
        return [
            ClaimedJob(
                id=raw[i],
                token=str(raw[i + 1]),
                attempt=int(raw[i + 2]),
                version=int(raw[i + 3]),
                type=raw[i + 4],
                payload_json=raw[i + 5],
                timeout=float(raw[i + 6]),
                queue=raw[i + 7],
                created_ms=int(raw[i + 8]),
                claimed_ms=now,
                run=int(raw[i + 9]),
                trace=raw[i + 10],
            )
            for i in range(1, len(raw), 11)
        ]

    def wait_for_work(self, timeout: float) -> bool:
        """Block until a job is enqueued in any partition (a wake-up token) or the
        timeout passes."""
        timeout = max(timeout, 0.01)
        lists = [k.notify for k in self.partitions]
        if isinstance(self.redis, redis.RedisCluster) and len(lists) > 1:
            if self._waiters is None:
                self._waiters = ListWaiters(self.redis, lists)
            return self._waiters.wait(timeout)
        return self.redis.blpop(lists, timeout=timeout) is not None

    def renew(self, leases: list[tuple[str, str]], visibility_ms: int) -> list[int]:
        """Extend the given (id, token) leases; returns the indexes of the lost ones."""
        lost: list[int] = []
        for part, indexes in self._grouped(leases, lambda lease: lease[0]).items():
            k = self.partitions[part]
            args: list[EncodableT] = [visibility_ms]
            for i in indexes:
                args += list(leases[i])
            lost += [
                indexes[int(p) - 1] for p in self._run("renew", [k.job_prefix, k.leases], args)
            ]
        return sorted(lost)

    def finish(self, outcomes: list[Outcome]) -> list[Finished]:
        finished: list[Finished | None] = [None] * len(outcomes)
        for part, indexes in self._grouped(outcomes, lambda o: o.id).items():
            group = [outcomes[i] for i in indexes]
            for i, result in zip(
                indexes, self._finish_in(self.partitions[part], group), strict=True
            ):
                finished[i] = result
        return cast(list[Finished], finished)

    def _finish_in(self, k: Keys, outcomes: list[Outcome]) -> list[Finished]:
        args: list[EncodableT] = []
        for o in outcomes:
            args += [
                o.id,
                o.token,
                o.outcome,
                o.detail,
                o.traceback,
                o.started_ms,
                o.finished_ms,
                o.retry_delay_ms,
            ]
        raw = self._run(
            "finish",
            [k.job_prefix, k.queue_prefix, k.leases, k.scheduled, k.dlq, k.outbox, k.notify],
            args,
        )
        # A stale result is the caller's to report (the worker logs queuey.result_refused).
        return [Finished(o.id, raw[2 * i], raw[2 * i + 1]) for i, o in enumerate(outcomes)]

    # --- watchdog transitions -----------------------------------------------------
    def requeue_expired(self, max_jobs: int = 500) -> list[str]:
        """Requeue (or dead-letter) expired leases; returns their outbox entries."""
        entries: list[str] = []
        for k in self.partitions:
            entries += self._run(
                "requeue_expired",
                [k.job_prefix, k.queue_prefix, k.leases, k.dlq, k.outbox, k.notify],
                [max_jobs],
            )
        return entries

    def promote_due(self, max_jobs: int = 500) -> tuple[list[str], int]:
        """Move due scheduled jobs to their queues: (their outbox entries, ms until the
        next is due or -1)."""
        entries: list[str] = []
        waits: list[int] = []
        for k in self.partitions:
            _moved, wait, *moved = self._run(
                "promote",
                [k.job_prefix, k.queue_prefix, k.scheduled, k.notify, k.outbox],
                [max_jobs],
            )
            entries += moved
            if int(wait) >= 0:
                waits.append(int(wait))
        return entries, min(waits, default=-1)

    # --- admin transitions ----------------------------------------------------------
    def cancel(self, job_id: str) -> tuple[str, str]:
        k = self.keys_for(job_id)
        code, value = self._run(
            "cancel",
            [k.job_prefix, k.queue_prefix, k.scheduled, k.leases, k.dlq, k.outbox],
            [job_id],
        )
        return code, value

    def replay_dlq(self, limit: int) -> list[str]:
        """Move the `limit` jobs that died first back onto their queues."""
        if self.partition_count == 1:
            return self._move(self.keys, ["dlq", limit])
        entries: list[str] = []
        # A concurrent replay may take some of the ones found first (each job moves
        # once): look again for the rest. Bounded, for a dead id that will not move.
        for _round in range(REPLAY_ROUNDS):
            candidates = self._first_dead(limit - len(entries))
            if not candidates:
                break
            entries += self.move_to_queue(candidates)
            if len(entries) >= limit:
                break
        return entries

    def _first_dead(self, limit: int) -> list[str]:
        """The ids of the `limit` jobs that died first, over every partition."""
        pipe = self.redis.pipeline(transaction=False)
        for k in self.partitions:
            pipe.zrange(k.dlq, 0, limit - 1, withscores=True)
        dead = sorted((score, job_id) for found in pipe.execute() for job_id, score in found)
        return [job_id for _score, job_id in dead[:limit]]

    def move_to_queue(self, job_ids: list[str]) -> list[str]:
        entries: list[str] = []
        for part, indexes in self._grouped(job_ids, str).items():
            entries += self._move(self.partitions[part], ["ids", *(job_ids[i] for i in indexes)])
        return entries

    def delete_jobs(self, job_ids: list[str]) -> list[str]:
        """Remove the jobs (a tombstone each); returns the running ones it refused."""
        ttl_ms = int(conf.get("TOMBSTONE_SECONDS") * 1000)
        refused: list[str] = []
        for part, indexes in self._grouped(job_ids, str).items():
            k = self.partitions[part]
            ids = [job_ids[i] for i in indexes]
            refused += self._run("delete", [k.job_prefix, k.scheduled, k.dlq], [ttl_ms, *ids])
        return refused

    def _move(self, k: Keys, args: list[EncodableT]) -> list[str]:
        return list(
            self._run(
                "move_to_queue",
                [k.job_prefix, k.queue_prefix, k.dlq, k.scheduled, k.outbox, k.notify],
                args,
            )
        )

    # --- outbox ---------------------------------------------------------------------
    def outbox_older_than(self, age_ms: int, limit: int = 500) -> list[str]:
        now_ms = self.now_ms()
        members: list[str] = []
        for k in self.partitions:
            if len(members) >= limit:
                break
            # The client decodes every reply (decode_responses=True): members are str.
            found = self.redis.zrangebyscore(
                k.outbox, "-inf", now_ms - age_ms, start=0, num=limit - len(members)
            )
            members += cast(list[str], found)
        return members

    def settle(self, settled: list[tuple[str, str, str]]) -> int:
        """Drop (entry, job id, version to forget at or "") once the database holds them."""
        ttl_ms = int(conf.get("TOMBSTONE_SECONDS") * 1000)
        dropped = 0
        for part, indexes in self._grouped(settled, lambda s: s[1]).items():
            k = self.partitions[part]
            args: list[EncodableT] = [ttl_ms]
            for i in indexes:
                args += list(settled[i])
            dropped += int(self._run("settle", [k.job_prefix, k.outbox], args))
        return dropped

    # --- reconciliation ---------------------------------------------------------------
    def missing_jobs(self, job_ids: list[str]) -> list[str]:
        """The ids of which Redis holds no job at all."""
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.exists(self.keys_for(job_id).job(job_id))
        return [j for j, found in zip(job_ids, pipe.execute(), strict=True) if not found]

    def has_epoch(self) -> bool:
        """Whether every partition still holds the watchdog's epoch mark (one that lost
        its data, alone on a cluster master that was flushed, has none)."""
        pipe = self.redis.pipeline(transaction=False)
        for k in self.partitions:
            pipe.exists(k.epoch)
        return all(pipe.execute())

    def mark_epoch(self) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for k in self.partitions:
            pipe.set(k.epoch, "1")
        pipe.execute()

    def mark_watchdog_pass(self) -> None:
        """When a watchdog last completed a pass (wall ms), for the silent-watchdog alert."""
        self.redis.set(self.global_keys.watchdog_pass, self.now_ms())

    def watchdog_last_pass_ms(self) -> int | None:
        value = self.redis.get(self.global_keys.watchdog_pass)
        return int(value) if value else None

    # --- layout -------------------------------------------------------------------------
    def check_layout(self) -> None:
        """Record this process's partition count in Redis, or refuse to go on when Redis
        holds jobs laid out in another count: no worker would ever see them. A change is
        taken once the old layout is drained. Raises PartitionLayoutMismatch."""
        problem = self.layout_problem()
        if problem:
            raise PartitionLayoutMismatch(problem)
        self.redis.set(self.global_keys.partition_count, self.partition_count)

    def layout_problem(self) -> str | None:
        """Why this process's partition count does not fit the jobs in Redis, or None.
        A different count is fine once nothing waits, runs, is dead or is unwritten in
        the old layout."""
        held = int(cast(str | None, self.redis.get(self.global_keys.partition_count)) or 0)
        if held in (0, self.partition_count):
            return None
        old = vars(Broker(self.redis, self.prefix, held).lengths())
        left = ", ".join(f"{n} {where}" for where, n in old.items() if n)
        if not left:
            return None
        return (
            f"QUEUEY_PARTITIONS={self.partition_count}, but this Redis holds jobs laid "
            f"out in {held} partition(s) ({left}). Start with QUEUEY_PARTITIONS={held}, "
            "or stop the API, let the workers drain the queues (replay or delete the "
            "dead jobs), then change it."
        )

    # --- reads ------------------------------------------------------------------------
    def now_ms(self) -> int:
        seconds, micros = self.redis.time()
        return seconds * 1000 + micros // 1000

    def lengths(self) -> QueueLengths:
        pipe = self.redis.pipeline(transaction=False)
        for k in self.partitions:
            for name in conf.QUEUES:
                pipe.llen(k.queue(name))
            for key in (k.scheduled, k.leases, k.dlq, k.outbox):
                pipe.zcard(key)
        counts = pipe.execute()
        width = len(conf.QUEUES) + 4
        totals = [sum(counts[i::width]) for i in range(width)]
        return QueueLengths(*totals)

    def oldest_waiting(self) -> dict[str, str | None]:
        """Per queue, the id at the head (the oldest waiting job), if any. Across
        partitions the oldest head is the smallest id (UUIDv7 ids sort by creation)."""
        pipe = self.redis.pipeline(transaction=False)
        for k in self.partitions:
            for name in conf.QUEUES:
                pipe.lindex(k.queue(name), 0)
        heads = pipe.execute()
        width = len(conf.QUEUES)
        return {
            name: min((h for h in heads[i::width] if h), default=None)
            for i, name in enumerate(conf.QUEUES)
        }

    def created_ms(self, job_ids: list[str]) -> dict[str, int]:
        """When each job was created (Redis ms), for those Redis holds."""
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(self.keys_for(job_id).job(job_id), "created")
        found = zip(job_ids, pipe.execute(), strict=True)
        return {job_id: int(ms) for job_id, ms in found if ms}

    def job_state(self, job_id: str) -> dict[str, str]:
        return cast(dict[str, str], self.redis.hgetall(self.keys_for(job_id).job(job_id)))

    def where_is(self, job_id: str) -> list[str]:
        """Every place Redis holds the job: queue names, scheduled, leases, dlq."""
        k = self.keys_for(job_id)
        pipe = self.redis.pipeline(transaction=False)
        for name in conf.QUEUES:
            pipe.lpos(k.queue(name), job_id)
        for key in (k.scheduled, k.leases, k.dlq):
            pipe.zscore(key, job_id)
        found = pipe.execute()
        names = [*conf.QUEUES, "scheduled", "leases", "dlq"]
        return [n for n, hit in zip(names, found, strict=True) if hit is not None]

    # --- rate limits --------------------------------------------------------------------
    def count_in_window(
        self, scope: str, ident: str, window: int, period: int, count: int = 1
    ) -> int:
        """Count `count` more requests in a fixed window; returns the new total. One round
        trip."""
        key = self.global_keys.rate_window(scope, ident, window)
        pipe = self.redis.pipeline(transaction=False)
        pipe.incrby(key, count)
        pipe.expire(key, period + 1, nx=True)
        return int(pipe.execute()[0])

    # --- workers ----------------------------------------------------------------------
    def heartbeat(self, worker_id: str, info: dict, ttl_ms: int) -> int:
        k = self.global_keys
        return int(
            self._run(
                "heartbeat", [k.workers, k.worker(worker_id)], [worker_id, json.dumps(info), ttl_ms]
            )
        )

    def forget_worker(self, worker_id: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(self.global_keys.workers, worker_id)
        pipe.delete(self.global_keys.worker(worker_id))
        pipe.execute()

    def workers(self) -> list[dict]:
        ids = cast(
            list[tuple[str, float]],
            self.redis.zrange(self.global_keys.workers, 0, -1, withscores=True),
        )
        if not ids:
            return []
        infos = self.redis.mget([self.global_keys.worker(w) for w, _ in ids])
        out = []
        for (worker_id, beat_ms), info in zip(ids, infos, strict=True):
            if info:
                out.append({**json.loads(info), "id": worker_id, "last_heartbeat_ms": int(beat_ms)})
        return out
