"""The broker: every Redis operation Queuey performs, each atomic change one Lua script."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.commands.core import Script
from redis.typing import EncodableT

from jobs import conf
from jobs.broker.connection import get_redis
from jobs.broker.keys import Keys
from jobs.broker.scripts import source
from jobs.broker.types import ClaimedJob, Dispatch, Finished, Outcome

logger = logging.getLogger("queuey.broker")

STALE = "stale"
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


class Broker:
    def __init__(self, client: redis.Redis | None = None, prefix: str | None = None) -> None:
        self.redis = client or get_redis()
        self.keys = Keys(prefix or conf.get("KEY_PREFIX"))

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
        k = self.keys
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
        k = self.keys
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
        """Block until a job is enqueued (a wake-up token) or the timeout passes."""
        return self.redis.blpop([self.keys.notify], timeout=max(timeout, 0.01)) is not None

    def renew(self, leases: list[tuple[str, str]], visibility_ms: int) -> list[int]:
        """Extend the given (id, token) leases; returns the indexes of the lost ones."""
        if not leases:
            return []
        k = self.keys
        args: list[EncodableT] = [visibility_ms]
        for job_id, token in leases:
            args += [job_id, token]
        return [int(p) - 1 for p in self._run("renew", [k.job_prefix, k.leases], args)]

    def finish(self, outcomes: list[Outcome]) -> list[Finished]:
        if not outcomes:
            return []
        k = self.keys
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
        k = self.keys
        return list(
            self._run(
                "requeue_expired",
                [k.job_prefix, k.queue_prefix, k.leases, k.dlq, k.outbox, k.notify],
                [max_jobs],
            )
        )

    def promote_due(self, max_jobs: int = 500) -> tuple[list[str], int]:
        """Move due scheduled jobs to their queues: (their outbox entries, ms until the
        next is due or -1)."""
        k = self.keys
        _moved, wait, *entries = self._run(
            "promote", [k.job_prefix, k.queue_prefix, k.scheduled, k.notify, k.outbox], [max_jobs]
        )
        return entries, int(wait)

    # --- admin transitions ----------------------------------------------------------
    def cancel(self, job_id: str) -> tuple[str, str]:
        k = self.keys
        code, value = self._run(
            "cancel",
            [k.job_prefix, k.queue_prefix, k.scheduled, k.leases, k.dlq, k.outbox],
            [job_id],
        )
        return code, value

    def replay_dlq(self, limit: int) -> list[str]:
        return self._move(["dlq", limit])

    def move_to_queue(self, job_ids: list[str]) -> list[str]:
        return self._move(["ids", *job_ids]) if job_ids else []

    def delete_jobs(self, job_ids: list[str]) -> list[str]:
        """Remove the jobs (a tombstone each); returns the running ones it refused."""
        if not job_ids:
            return []
        k = self.keys
        ttl_ms = int(conf.get("TOMBSTONE_SECONDS") * 1000)
        return list(self._run("delete", [k.job_prefix, k.scheduled, k.dlq], [ttl_ms, *job_ids]))

    def _move(self, args: list[EncodableT]) -> list[str]:
        k = self.keys
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
        # The client decodes every reply (decode_responses=True): members are str.
        members = self.redis.zrangebyscore(
            self.keys.outbox, "-inf", now_ms - age_ms, start=0, num=limit
        )
        return list(cast(list[str], members))

    def settle(self, settled: list[tuple[str, str, str]]) -> int:
        """Drop (entry, job id, version to forget at or "") once the database holds them."""
        if not settled:
            return 0
        k = self.keys
        args: list[EncodableT] = [int(conf.get("TOMBSTONE_SECONDS") * 1000)]
        for entry, job_id, forget_at in settled:
            args += [entry, job_id, forget_at]
        return int(self._run("settle", [k.job_prefix, k.outbox], args))

    # --- reconciliation ---------------------------------------------------------------
    def missing_jobs(self, job_ids: list[str]) -> list[str]:
        """The ids of which Redis holds no job at all."""
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.exists(self.keys.job(job_id))
        return [j for j, found in zip(job_ids, pipe.execute(), strict=True) if not found]

    def has_epoch(self) -> bool:
        return bool(self.redis.exists(self.keys.epoch))

    def mark_epoch(self) -> None:
        self.redis.set(self.keys.epoch, "1")

    def mark_watchdog_pass(self) -> None:
        """When a watchdog last completed a pass (wall ms), for the silent-watchdog alert."""
        self.redis.set(self.keys.watchdog_pass, self.now_ms())

    def watchdog_last_pass_ms(self) -> int | None:
        value = self.redis.get(self.keys.watchdog_pass)
        return int(value) if value else None

    # --- reads ------------------------------------------------------------------------
    def now_ms(self) -> int:
        seconds, micros = self.redis.time()
        return seconds * 1000 + micros // 1000

    def lengths(self) -> QueueLengths:
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        for name in conf.QUEUES:
            pipe.llen(k.queue(name))
        for key in (k.scheduled, k.leases, k.dlq, k.outbox):
            pipe.zcard(key)
        high, default, low, scheduled, running, dlq, outbox = pipe.execute()
        return QueueLengths(high, default, low, scheduled, running, dlq, outbox)

    def oldest_waiting(self) -> dict[str, str | None]:
        """Per queue, the id at the head (the oldest waiting job), if any."""
        pipe = self.redis.pipeline(transaction=False)
        for name in conf.QUEUES:
            pipe.lindex(self.keys.queue(name), 0)
        return dict(zip(conf.QUEUES, pipe.execute(), strict=True))

    def created_ms(self, job_ids: list[str]) -> dict[str, int]:
        """When each job was created (Redis ms), for those Redis holds."""
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hget(self.keys.job(job_id), "created")
        found = zip(job_ids, pipe.execute(), strict=True)
        return {job_id: int(ms) for job_id, ms in found if ms}

    def job_state(self, job_id: str) -> dict[str, str]:
        return cast(dict[str, str], self.redis.hgetall(self.keys.job(job_id)))

    def where_is(self, job_id: str) -> list[str]:
        """Every place Redis holds the job: queue names, scheduled, leases, dlq."""
        k = self.keys
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
        key = self.keys.rate_window(scope, ident, window)
        pipe = self.redis.pipeline(transaction=False)
        pipe.incrby(key, count)
        pipe.expire(key, period + 1, nx=True)
        return int(pipe.execute()[0])

    # --- workers ----------------------------------------------------------------------
    def heartbeat(self, worker_id: str, info: dict, ttl_ms: int) -> int:
        k = self.keys
        return int(
            self._run(
                "heartbeat", [k.workers, k.worker(worker_id)], [worker_id, json.dumps(info), ttl_ms]
            )
        )

    def forget_worker(self, worker_id: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(self.keys.workers, worker_id)
        pipe.delete(self.keys.worker(worker_id))
        pipe.execute()

    def workers(self) -> list[dict]:
        ids = cast(
            list[tuple[str, float]], self.redis.zrange(self.keys.workers, 0, -1, withscores=True)
        )
        if not ids:
            return []
        infos = self.redis.mget([self.keys.worker(w) for w, _ in ids])
        out = []
        for (worker_id, beat_ms), info in zip(ids, infos, strict=True):
            if info:
                out.append({**json.loads(info), "id": worker_id, "last_heartbeat_ms": int(beat_ms)})
        return out
