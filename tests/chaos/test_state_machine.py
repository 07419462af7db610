"""A Hypothesis state machine over the real Lua scripts, the real services and the real
watchdog (the test's Redis and database): submit / claim / renew / ack / fail / expire /
promote / cancel / replay / flush-and-reconcile, plus late (stale-token) renew / ack /
fail. After every step: each job is in exactly one Redis place matching its model state,
its Redis hash and its database row agree, queues are FIFO, and a stale token is refused
and never equals a live one."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from jobs import conf, outbox
from jobs.broker.client import Broker
from jobs.broker.types import Outcome
from jobs.errors import InvalidTransition
from jobs.models import DedupeKey, Job
from jobs.services import cancel_job, replay_dlq, submit_job
from jobs.states import JobStatus
from jobs.submission import JobRequest
from jobs.timeutil import from_ms, wall_ms
from workers.watchdog import Watchdog

VISIBILITY_MS = 60_000
PLACE = {
    "scheduled": ["scheduled"],
    "retrying": ["scheduled"],
    "running": ["leases"],
    "dead": ["dlq"],
}


class QueueMachine(RuleBasedStateMachine):
    @initialize()
    def reset(self):
        self.broker = Broker()
        self.redis = self.broker.redis
        for key in self.redis.scan_iter(self.broker.keys.base + "*"):
            self.redis.delete(key)
        DedupeKey.objects.all().delete()
        Job.objects.all().delete()
        self.jobs: dict[str, dict] = {}
        self.queues: dict[str, list[str]] = {q: [] for q in conf.QUEUES}
        self.stale: list[tuple[str, str]] = []  # (job id, revoked token)
        self.live_tokens: set[tuple[str, str]] = set()
        self.reported: set[tuple[str, str]] = set()  # tokens whose outcome Redis took

    # --- helpers --------------------------------------------------------------------
    def apply(self, entries):
        outbox.apply_and_settle(self.broker, [e for e in entries if e])

    def in_state(self, *states):
        return sorted(j for j, m in self.jobs.items() if m["state"] in states)

    def revoke(self, job_id):
        m = self.jobs[job_id]
        if m.get("token"):
            self.stale.append((job_id, m["token"]))
            self.live_tokens.discard((job_id, m["token"]))
            m["token"] = None

    def enqueue_tail(self, job_id):
        m = self.jobs[job_id]
        m["state"] = "queued"
        self.queues[m["queue"]].append(job_id)

    def outcome(self, job_id, token, kind, delay=0):
        now = wall_ms()
        detail = json.dumps({"ok": job_id}) if kind == "succeeded" else "boom"
        return Outcome(job_id, token, kind, detail, "", now, now, delay)

    # --- rules ----------------------------------------------------------------------
    @rule(queue=st.sampled_from(conf.QUEUES), later=st.booleans(), attempts=st.integers(1, 3))
    def submit(self, queue, later, attempts):
        result = submit_job(
            JobRequest(
                type="demo.noop",
                payload={"n": len(self.jobs)},
                queue=queue,
                max_attempts=attempts,
                delay_seconds=3600 if later else None,
            )
        )
        self.jobs[result.job_id] = {
            "state": "scheduled" if later else "queued",
            "queue": queue,
            "attempt": 0,
            "limit": attempts,
            "max": attempts,
            "token": None,
        }
        if not later:
            self.queues[queue].append(result.job_id)

    @rule(n=st.integers(1, 3))
    def claim(self, n):
        expected = [j for q in conf.QUEUES for j in self.queues[q]][:n]
        claimed = self.broker.claim(
            max_jobs=n, worker_id="w:1:x", queues=list(conf.QUEUES), visibility_ms=VISIBILITY_MS
        )
        assert [c.id for c in claimed] == expected  # strict priority, FIFO
        for c in claimed:
            m = self.jobs[c.id]
            self.queues[m["queue"]].remove(c.id)
            m.update(state="running", attempt=m["attempt"] + 1, token=c.token)
            assert c.attempt == m["attempt"]
            assert (c.id, c.token) not in self.stale, "a revoked token was handed out again"
            self.live_tokens.add((c.id, c.token))
            # the worker's claim mark (what the reporter writes)
            Job.objects.filter(pk=c.id, version__lt=c.version).update(
                status=JobStatus.RUNNING,
                attempts=c.attempt,
                version=c.version,
                started_at=from_ms(c.claimed_ms),
            )

    @precondition(lambda self: self.in_state("running"))
    @rule(data=st.data())
    def renew(self, data):
        job = data.draw(st.sampled_from(self.in_state("running")))
        m = self.jobs[job]
        assert self.broker.renew([(job, m["token"])], VISIBILITY_MS) == []

    @precondition(lambda self: self.in_state("running"))
    @rule(data=st.data())
    def ack(self, data):
        job = data.draw(st.sampled_from(self.in_state("running")))
        [r] = self.broker.finish([self.outcome(job, self.jobs[job]["token"], "succeeded")])
        assert r.state == "succeeded"
        self.apply([r.entry])
        self.reported.add((job, self.jobs[job]["token"]))
        self.revoke(job)
        self.jobs[job]["state"] = "succeeded"

    @precondition(lambda self: self.in_state("running"))
    @rule(
        data=st.data(),
        delay=st.sampled_from([0, -1, 3_600_000]),
        kind=st.sampled_from(["failed", "timeout"]),
    )
    def fail(self, data, delay, kind):
        job = data.draw(st.sampled_from(self.in_state("running")))
        m = self.jobs[job]
        [r] = self.broker.finish([self.outcome(job, m["token"], kind, delay)])
        self.apply([r.entry])
        self.reported.add((job, m["token"]))
        self.revoke(job)
        m["state"] = "dead" if m["attempt"] >= m["limit"] or delay < 0 else "retrying"
        m["due_now"] = delay == 0
        assert r.state == m["state"]

    @precondition(lambda self: self.in_state("running"))
    @rule(data=st.data())
    def expire(self, data):
        job = data.draw(st.sampled_from(self.in_state("running")))
        self.redis.zadd(self.broker.keys.leases, {job: 0}, xx=True)  # its deadline passed
        entries = self.broker.requeue_expired()
        assert len(entries) == 1
        self.apply(entries)
        m = self.jobs[job]
        self.revoke(job)
        if m["attempt"] >= m["limit"]:
            m["state"] = "dead"
        else:
            self.enqueue_tail(job)

    @precondition(lambda self: self.stale)
    @rule(data=st.data(), kind=st.sampled_from(["renew", "succeeded", "failed"]))
    def late_report(self, data, kind):
        """A worker that lost its lease renews, acks or fails late: refused, no effect."""
        job, token = data.draw(st.sampled_from(self.stale))
        before = (self.redis.hgetall(self.broker.keys.job(job)), self.broker.where_is(job))
        if kind == "renew":
            assert self.broker.renew([(job, token)], VISIBILITY_MS) == [0]
        else:
            [r] = self.broker.finish([self.outcome(job, token, kind, 0)])
            # "accepted": the call repeats the outcome this token already reported (a
            # retry after a lost reply); it must change nothing either.
            assert r.stale or (r.state == "accepted" and (job, token) in self.reported), (
                f"late {kind} of {job} with revoked token {token} was accepted"
            )
        assert (self.redis.hgetall(self.broker.keys.job(job)), self.broker.where_is(job)) == before

    @rule()
    def promote(self):
        due = [j for j in self.in_state("retrying") if self.jobs[j].get("due_now")]
        scores = {j: self.redis.zscore(self.broker.keys.scheduled, j) for j in due}
        promoted, _ = self.broker.promote_due()
        assert len(promoted) == len(due)
        self.apply(promoted)
        for j in sorted(due, key=lambda j: (scores[j], j)):
            self.enqueue_tail(j)

    @precondition(lambda self: self.jobs)
    @rule(data=st.data())
    def cancel(self, data):
        job = data.draw(st.sampled_from(sorted(self.jobs)))
        m = self.jobs[job]
        if m["state"] in ("succeeded", "cancelled"):
            with pytest.raises(InvalidTransition):
                cancel_job(job_id=job)
            return
        cancel_job(job_id=job)
        if m["state"] == "queued":
            self.queues[m["queue"]].remove(job)
        self.revoke(job)
        m["state"] = "cancelled"

    @rule(limit=st.integers(1, 3))
    def replay(self, limit):
        dead = self.redis.zrange(self.broker.keys.dlq, 0, -1)
        assert sorted(dead) == self.in_state("dead")
        assert replay_dlq(limit=limit) == len(dead[:limit])
        for j in dead[:limit]:
            m = self.jobs[j]
            m["limit"] = m["attempt"] + m["max"]
            self.enqueue_tail(j)

    @rule()
    def flush_and_reconcile(self):
        """Redis loses everything; the watchdog rebuilds it from the database."""
        self.redis.flushall()
        Watchdog(self.broker).run_once()
        for job, m in self.jobs.items():
            if m["state"] == "running":  # its lease died with Redis: queued again
                self.revoke(job)
                m["state"] = "queued"
            elif m["state"] == "queued" or (m["state"] == "retrying" and m.get("due_now")):
                # It could have been claimed unseen: one attempt number is kept for that
                # run, and the budget grows to match (workers/reconcile.py, point 4).
                m.update(state="queued", attempt=m["attempt"] + 1, limit=m["limit"] + 1)
        # reconcile dispatches in database order: take the order, check the members
        for q in conf.QUEUES:
            actual = self.redis.lrange(self.broker.keys.queue(q), 0, -1)
            expected = [
                j for j, m in self.jobs.items() if m["state"] == "queued" and m["queue"] == q
            ]
            assert sorted(actual) == sorted(expected)
            self.queues[q] = actual

    # --- invariants -----------------------------------------------------------------
    @invariant()
    def exactly_one_place_matching_the_database(self):
        if not hasattr(self, "jobs"):
            return
        rows = dict(Job.objects.values_list("id", "status"))
        for job, m in self.jobs.items():
            state = m["state"]
            where = self.broker.where_is(job)
            if state == "queued":
                assert where == [m["queue"]], (job, state, where)
            else:
                assert where == PLACE.get(state, []), (job, state, where)
            hash_state = self.redis.hget(self.broker.keys.job(job), "state")
            if state in ("succeeded", "cancelled"):
                assert hash_state in (None, state), (job, state, hash_state)  # tombstone
            else:
                assert hash_state == state, (job, state, hash_state)
            assert rows[__import__("uuid").UUID(job)] == state, (job, state, rows)
        for q in conf.QUEUES:
            assert self.redis.lrange(self.broker.keys.queue(q), 0, -1) == self.queues[q]

    @invariant()
    def fencing_tokens_never_reused(self):
        if not hasattr(self, "jobs"):
            return
        assert not (set(self.stale) & self.live_tokens)
        tokens = [t for _, t in self.live_tokens]
        assert len(tokens) == len(set(tokens))


@pytest.mark.django_db(transaction=True)
def test_lua_transitions_state_machine():
    """Pass: no sequence of up to 30 operations (30 examples) breaks an invariant."""
    run_state_machine_as_test(
        QueueMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
