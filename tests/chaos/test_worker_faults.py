"""Worker faults: SIGKILL, crashes at each step, SIGSTOP and network cuts past the lease,
CPU-bound and hung handlers, poison jobs, SIGTERM, watchdogs killed and racing."""

from __future__ import annotations

import random
import re
import signal
import time

import pytest

from jobs.submission import JobRequest
from tests.support.stack import wait_for


def sleepers(n: int, seconds: float = 0.05, **opts) -> list[JobRequest]:
    return [
        JobRequest(type="demo.sleep", payload={"seconds": seconds, "i": i}, **opts)
        for i in range(n)
    ]


def test_sigkill_mid_job(chaos):
    """Case 1a. A worker SIGKILLed while a job runs: the job runs again on another worker
    after the lease expires and succeeds; the first execution is recorded lease_expired.
    Pass: oracle clean (lost 0, unexpected 0, the duplicate explained)."""
    chaos.watchdog()
    victim = chaos.worker()
    job = chaos.submit("demo.sleep", {"seconds": 1.5})
    [start] = chaos.wait_started(job)
    assert start["pid"] == victim.pid
    chaos.worker()
    chaos.kill(victim)
    chaos.wait_status(job, "succeeded")
    report = chaos.drain_and_check()
    assert report.duplicates == report.explained == 1


def test_kill_storm_with_two_racing_watchdogs(chaos):
    """Cases 1b and 8. 10,000 jobs; every ~2 s a random one of 3 workers is SIGKILLed and
    restarted, 20 times; two watchdogs race the whole time and one of them is SIGKILLed
    and restarted halfway. Pass: oracle clean, every duplicate explained, and each expired
    lease requeued exactly once: the watchdogs' logged requeue counts add up to exactly
    the lease_expired attempts recorded, and no queue ever holds an id twice."""
    dogs = [chaos.watchdog(), chaos.watchdog()]
    workers = [chaos.worker() for _ in range(3)]
    reqs = [JobRequest(type="demo.noop", payload={"i": i}) for i in range(7000)]
    reqs += sleepers(3000, 0.02)
    random.Random(4).shuffle(reqs)
    chaos.submit_many(reqs)
    rng = random.Random(1)
    dup_seen = []
    for kill in range(20):
        time.sleep(rng.uniform(1.5, 2.5))  # fault cadence, not synchronisation
        i = rng.randrange(len(workers))
        chaos.kill(workers[i])
        workers[i] = chaos.worker()
        if kill == 10:
            chaos.kill(dogs[0])
            dogs[0] = chaos.watchdog()
        for name in ("high", "default", "low"):
            ids = chaos.rv.client.lrange(chaos.rv.keys.queue(name), 0, -1)
            if len(ids) != len(set(ids)):
                dup_seen.append(name)
    report = chaos.drain_and_check(timeout=120)
    assert not dup_seen, f"a queue held an id twice: {dup_seen}"
    assert report.acknowledged == 10_000 and report.states["succeeded"] == 10_000
    # stop the watchdogs so their logs are complete, then add up what they requeued
    for d in dogs:
        chaos.kill(d, signal.SIGTERM)
    # Each requeue is one lease_expired record, logged before it is applied: a logged
    # (job, attempt) has its attempt row, and none is logged twice. The SIGKILLed watchdog
    # may have died between requeueing a batch and logging all of it, so some rows may
    # lack their line, never the other way round.
    logged = re.findall(
        r"queuey\.events lease_expired job_id=(\S+) attempt=(\d+)", chaos.log_text()
    )
    rows = {
        (job, str(a["number"]))
        for job, attempts in chaos.db.attempts().items()
        for a in attempts
        if a["outcome"] == "lease_expired"
    }
    assert len(logged) == len(set(logged)), "a lease expiry was logged twice"
    assert set(logged) <= rows
    expired = len(rows)
    assert expired > 0
    print(report.table({"lease expiries": expired}))


@pytest.mark.parametrize("step", ["after_claim", "before_ack", "after_ack_before_db"])
def test_worker_crashing_at_each_step_boundary(chaos, step):
    """Case 2. A worker that os._exits right after its claim, after the handler returned
    but before the ack, or after the Redis ack but before the database write
    (QUEUEY_CRASH_AT). Pass: oracle clean; after_claim and before_ack attempts come back
    as lease_expired and rerun elsewhere; an ack that reached Redis is written by the
    watchdog from the outbox and the job does *not* run again."""
    doomed = chaos.worker(QUEUEY_CRASH_AT=step)
    ids = [chaos.submit("demo.noop", {"i": i}) for i in range(12)]
    assert doomed.wait(timeout=30) == 70
    chaos.watchdog()
    chaos.worker()
    report = chaos.drain_and_check()
    attempts = chaos.db.attempts()
    by_doomed = [a for rows in attempts.values() for a in rows if f":{doomed.pid}:" in a["worker"]]
    ran_on_doomed = [s for s in chaos.ledger.starts() if s["pid"] == doomed.pid]
    assert by_doomed, "the crashed worker claimed nothing"
    if step == "after_claim":
        assert not ran_on_doomed
        assert {a["outcome"] for a in by_doomed} == {"lease_expired"}
    elif step == "before_ack":
        assert ran_on_doomed and {a["outcome"] for a in by_doomed} == {"lease_expired"}
        assert report.duplicates >= 1
    else:
        written = [a for a in by_doomed if a["outcome"] == "succeeded"]
        assert written, "the acked outcome was not written from the outbox"
        for a in written:  # acked in Redis: recorded once, never run again
            job = next(j for j, rows in attempts.items() if a in rows)
            assert len(chaos.ledger.starts(job)) == 1
    assert len(ids) == report.acknowledged == report.states["succeeded"]


def test_sigstop_past_the_lease_late_renew_ack_and_fail_are_refused(chaos):
    """Case 3a. A worker SIGSTOPped mid-job past its lease; another worker finishes the
    jobs; SIGCONT: the stopped worker's late renewal is refused (lease_lost), its late
    ack and its late fail are refused as stale. Pass: each job has one recorded outcome,
    from the second worker; the first execution is recorded lease_expired; oracle clean;
    the stopped worker serves new jobs afterwards.

    The renewal is shown on a third job, still running when the worker resumes: the two
    short jobs' handlers return at once on SIGCONT, and their refused acks may beat the
    lease keeper's next tick, leaving it nothing of theirs to renew. That job has one
    attempt, so its expiry sends it to the DLQ and no other worker runs it."""
    chaos.watchdog()
    stopped = chaos.worker()
    ack = chaos.submit("demo.sleep", {"seconds": 2.5})
    fail = chaos.submit("demo.sleep", {"seconds": 2.5, "fail": True})
    held = chaos.submit("demo.sleep", {"seconds": 20}, max_attempts=1, timeout_seconds=60)
    for job in (ack, fail, held):
        chaos.wait_started(job)
    chaos.kill(stopped, signal.SIGSTOP)
    other = chaos.worker()
    chaos.wait_status(ack, "succeeded", timeout=30)
    chaos.wait_status(fail, "retrying", "dead", "queued", timeout=30)
    chaos.wait_status(held, "dead", timeout=30)
    chaos.kill(stopped, signal.SIGCONT)
    wait_for(lambda: chaos.log_text().count("result_refused") >= 2, what="two stale refusals")
    wait_for(
        lambda: f"queuey.lease_lost job={held}" in chaos.log_text(), what="the refused renewal"
    )
    chaos.kill(other, signal.SIGTERM)  # from now on only the resumed worker serves
    later = chaos.submit("demo.noop")
    report = chaos.drain_and_check()
    rows = chaos.db.attempts()
    assert [a["outcome"] for a in sorted(rows[ack], key=lambda a: a["number"])] == [
        "lease_expired",
        "succeeded",
    ]
    assert f":{other.pid}:" in rows[ack][-1]["worker"]
    assert rows[fail][0]["outcome"] == "lease_expired"
    assert [a["outcome"] for a in rows[held]] == ["lease_expired"]
    assert f":{stopped.pid}:" in rows[later][0]["worker"]
    assert report.duplicates >= 2


def test_network_cut_longer_than_the_lease(chaos):
    """Case 3b. One worker reaches Redis through a proxy that blackholes its traffic for
    longer than the lease. Pass: the job is requeued and finished by the other worker,
    the cut worker's late ack is refused, it reconnects after the heal without hanging
    and serves new jobs; oracle clean."""
    from tests.chaos.netfault import BlackholeProxy

    proxy = BlackholeProxy(chaos.redis.port)
    try:
        chaos.watchdog()
        cut = chaos.worker(REDIS_URL=proxy.url)
        job = chaos.submit("demo.sleep", {"seconds": 1.0})
        [start] = chaos.wait_started(job)
        assert start["pid"] == cut.pid
        proxy.cut()
        other = chaos.worker()
        chaos.wait_status(job, "succeeded", timeout=30)
        time.sleep(1)  # keep the cut a little past the rerun: the fault's length
        proxy.heal()
        wait_for(lambda: "result_refused" in chaos.log_text(), timeout=30, what="refusal")
        chaos.kill(other, signal.SIGTERM)
        later = [chaos.submit("demo.noop", {"i": i}) for i in range(5)]
        report = chaos.drain_and_check(timeout=40)
        rows = chaos.db.attempts()
        assert [a["outcome"] for a in sorted(rows[job], key=lambda a: a["number"])] == [
            "lease_expired",
            "succeeded",
        ]
        assert all(f":{cut.pid}:" in rows[j][0]["worker"] for j in later)
        assert cut.poll() is None and report.duplicates == 1
    finally:
        proxy.close()


def test_cpu_bound_handler_three_times_the_visibility_timeout_is_never_requeued(chaos):
    """Case 4. A CPU-bound handler (and a sleeping one) running 3x the visibility timeout
    with a watchdog watching. Pass: each ran exactly once, one succeeded attempt, no
    lease expiry; oracle clean."""
    chaos.watchdog()
    chaos.worker(QUEUEY_VISIBILITY_TIMEOUT=1)
    spin = chaos.submit("demo.spin", {"seconds": 3.2})
    nap = chaos.submit("demo.sleep", {"seconds": 3.2})
    report = chaos.drain_and_check()
    rows = chaos.db.attempts()
    assert [a["outcome"] for a in rows[spin]] == [a["outcome"] for a in rows[nap]] == ["succeeded"]
    assert report.executions == 2 and report.duplicates == 0


def test_hung_handler_times_out_and_nothing_stays_pinned(chaos):
    """Case 5. A handler that never returns, timeout_seconds=2, on a worker with one
    slot. Pass: the attempt ends as `timeout` (job dead: one attempt allowed), the same
    worker process serves 10 other jobs meanwhile and afterwards, its slot and lease are
    free again (heartbeat busy = 0, no lease held); oracle clean."""
    w = chaos.worker("--concurrency", "1")
    hung = chaos.submit("demo.hang", timeout_seconds=2)
    chaos.wait_started(hung)
    others = [chaos.submit("demo.noop", {"i": i}) for i in range(10)]
    chaos.wait_status(hung, "dead", timeout=20)
    chaos.drain_and_check()
    assert [a["outcome"] for a in chaos.db.attempts()[hung]] == ["timeout"]
    assert all(chaos.status(j) == "succeeded" for j in others)
    from jobs.broker.client import Broker

    wait_for(lambda: [x["busy"] for x in Broker().workers()] == [0], what="an idle slot")
    assert w.poll() is None and chaos.rv.in_flight()["leases"] == 0


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_poison_job_that_kills_its_worker(chaos, how):
    """Case 6. Poison jobs that kill their worker process (os._exit / SIGKILL to self),
    under `runworker --processes 2`. Pass: the poison job is dead after its 2 attempts
    (both lease_expired), the 30 other jobs succeed, the supervisor restarted workers
    only as often as the poison ran (no tight crash loop); oracle clean."""
    chaos.watchdog()
    supervisor = chaos.worker("--processes", "2")
    poison = chaos.submit("demo.crash", {"how": how})
    others = [chaos.submit("demo.sleep", {"seconds": 0.05, "i": i}) for i in range(30)]
    chaos.wait_status(poison, "dead", timeout=40)
    chaos.drain_and_check(timeout=40)
    outcomes = [a["outcome"] for a in chaos.db.attempts()[poison]]
    assert outcomes == ["lease_expired", "lease_expired"]
    assert all(chaos.status(j) == "succeeded" for j in others)
    exits = chaos.log_text().count("queuey.worker_exited")
    assert exits <= len(chaos.ledger.starts(poison)) == 2
    assert supervisor.poll() is None


def test_sigterm_drains_under_load(chaos):
    """Case 7a. SIGTERM to a busy worker: it stops claiming, finishes what it runs and
    exits 0 within the grace period. Pass: no job ran twice, no lease expired, the rest
    finish on a later worker; oracle clean."""
    w = chaos.worker()
    chaos.submit_many(sleepers(60, 0.1))
    wait_for(lambda: len(chaos.ledger.starts()) >= 8, what="work in progress")
    chaos.kill(w, signal.SIGTERM)
    assert w.returncode == 0
    chaos.watchdog()
    chaos.worker()
    report = chaos.drain_and_check()
    assert report.duplicates == 0
    assert "lease_expired" not in {
        a["outcome"] for rows in chaos.db.attempts().values() for a in rows
    }


def test_sigterm_releases_a_job_longer_than_the_grace_period(chaos):
    """Case 7b. SIGTERM with a job longer than the grace period: the job is released at
    once (attempt `interrupted`, back on its queue, budget untouched), the worker exits 0
    quickly and another worker runs the job to success. Pass: oracle clean, the one
    duplicate explained by `interrupted`."""
    w = chaos.worker(QUEUEY_SHUTDOWN_GRACE=0.5)
    job = chaos.submit("demo.sleep", {"seconds": 4}, max_attempts=1)
    chaos.wait_started(job)
    began = time.monotonic()
    chaos.kill(w, signal.SIGTERM)
    assert w.returncode == 0 and time.monotonic() - began < 3.5
    chaos.worker()
    report = chaos.drain_and_check()
    assert [a["outcome"] for a in chaos.db.attempts()[job]] == ["interrupted", "succeeded"]
    assert report.duplicates == report.explained == 1


def test_sigkill_during_a_full_speed_drain_loses_nothing(chaos):
    """Issue 5's guarantee under the batched fast path: 4,000 queued no-op jobs drained
    by 2 workers at full speed (several claims per round trip, acks and database writes
    in batches), one SIGKILLed mid-drain with claims, acks and writes in flight. Pass:
    every job succeeded, oracle clean (lost 0, unexpected 0, one recorded outcome per
    job, every second execution explained by a recorded lease expiry)."""
    chaos.submit_many([JobRequest(type="demo.noop", payload={"i": i}) for i in range(4000)])
    chaos.watchdog()
    victim = chaos.worker("--concurrency", "16")
    chaos.worker("--concurrency", "16")
    wait_for(lambda: chaos.db.status_counts()["succeeded"] >= 800, timeout=60)
    chaos.kill(victim)
    assert chaos.db.status_counts()["succeeded"] < 4000, "the kill came after the drain"
    report = chaos.drain_and_check(timeout=120)
    assert report.acknowledged == 4000 and report.states["succeeded"] == 4000
