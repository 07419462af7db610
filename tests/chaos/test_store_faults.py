"""Store faults: Redis restarted, wiped, down, out of memory; the database down and its
connections killed mid-transaction. Redis and PostgreSQL here are the test's own."""

from __future__ import annotations

import time

import pytest

from jobs.submission import JobRequest
from tests.chaos.harness import env_seconds
from tests.support.stack import wait_for


def test_redis_restarted_twice_under_steady_load(chaos):
    """Case 9a. Steady load (loadgen, 40 jobs/s) for CHAOS_RESTART_SECONDS (default 60 s);
    Redis (AOF) is restarted twice: once with SIGTERM, once with SIGKILL. Pass: every
    submit acknowledged (the database commits first), oracle clean after the drain, and
    the workers and watchdog are the same processes as before (they reconnected)."""
    seconds = env_seconds("CHAOS_RESTART_SECONDS", 60)
    procs = [chaos.watchdog(), chaos.worker(), chaos.worker()]
    chaos.loadgen("--rate", "40", "--seconds", str(seconds), "--threads", "2")
    time.sleep(seconds / 3)  # fault schedule
    chaos.redis.restart()
    time.sleep(seconds / 3)
    chaos.redis.kill()
    chaos.redis.start()
    chaos.collect_loadgens(timeout=seconds + 60)
    report = chaos.drain_and_check(timeout=90)
    assert report.refused == report.unknown == 0 and report.acknowledged > seconds * 30
    assert all(p.poll() is None for p in procs)


def test_redis_loses_all_data(chaos):
    """Case 9b. FLUSHALL while jobs are queued, scheduled, running and dead, and a dedupe
    key is live. Pass: the watchdog rebuilds every place from the database (queued on its
    queue, scheduled, running back on its queue, dead in the DLQ); the dedupe key still
    returns the first job; the wiped running attempt's late ack is refused; after the
    drain the oracle is clean (the rerun explained by the wipe) and dead stays dead."""
    from jobs.broker.client import Broker
    from jobs.services import submit_job

    worker = chaos.worker("--queues", "high,default")
    dead = chaos.submit("demo.fail", max_attempts=1)
    chaos.wait_status(dead, "dead")
    done = chaos.submit("demo.noop")
    chaos.wait_status(done, "succeeded")
    running = chaos.submit("demo.sleep", {"seconds": 2.5})
    chaos.wait_started(running)
    wait_for(lambda: chaos.status(running) == "running", what="running in the database")
    queued = chaos.submit("demo.noop", {"q": 1}, queue="low")
    deduped = chaos.submit("demo.noop", {"d": 1}, queue="low", dedupe_key="chaos-key")
    scheduled = chaos.submit("demo.noop", {"s": 1}, delay_seconds=4)
    chaos.wipe_redis()
    chaos.watchdog()
    broker = Broker()
    wait_for(lambda: broker.where_is(dead) == ["dlq"], what="rebuild")
    assert broker.where_is(queued) == broker.where_is(deduped) == ["low"]
    assert broker.where_is(scheduled) == ["scheduled"]
    assert broker.where_is(running) in (["default"], ["leases"])
    assert broker.where_is(done) == []
    again = submit_job(
        JobRequest(type="demo.noop", payload={"d": 1}, queue="low", dedupe_key="chaos-key")
    )
    assert again.job_id == deduped and not again.created
    wait_for(lambda: "result_refused" in chaos.log_text(), what="the late ack refused")
    chaos.worker()  # now serve `low` too
    report = chaos.drain_and_check()
    assert chaos.status(dead) == "dead" and report.states["dead"] == 1
    assert len(chaos.ledger.starts(running)) == 2
    assert worker.poll() is None


def test_redis_down_for_ten_seconds(chaos):
    """Case 9c. Redis stopped for 10 s while jobs run and clients submit. Pass: every
    submit during the outage is acknowledged (row committed, dispatched by the watchdog
    once Redis is back), no outcome lost, the same worker and watchdog processes carry
    on; oracle clean."""
    procs = [chaos.watchdog(), chaos.worker(), chaos.worker()]
    chaos.submit_many(
        [JobRequest(type="demo.sleep", payload={"seconds": 0.2, "i": i}) for i in range(100)]
    )
    wait_for(lambda: len(chaos.ledger.starts()) >= 10, what="work in progress")
    chaos.redis.stop()
    down_until = time.monotonic() + 10
    while time.monotonic() < down_until:  # clients keep submitting during the outage
        chaos.submit("demo.noop", {"during": True})
        time.sleep(0.2)
    chaos.redis.start()
    report = chaos.drain_and_check(timeout=90)
    assert report.refused == 0 and report.acknowledged > 105
    assert all(p.poll() is None for p in procs)


def test_redis_out_of_memory(chaos_factory):
    """Case 9d. Redis with a tiny maxmemory (noeviction): dispatches, acks, renewals and
    watchdog steps fail with OOM (each script is refused before its first write, so none
    is half-applied). Pass: every submit acknowledged (the database holds the jobs that
    Redis refused), the OOM is logged, no process dies, and once the limit is lifted (as
    an operator would) everything completes; oracle clean."""
    chaos = chaos_factory(redis_extra=["--maxmemory", "1500kb"])
    assert chaos.rv.client.info("memory")["maxmemory_policy"] == "noeviction"
    blob = "x" * 4000
    ids = chaos.submit_many(
        [JobRequest(type="demo.noop", payload={"i": i, "blob": blob}) for i in range(400)], chunk=20
    )
    assert len(ids) == 400
    assert len(chaos.rv.hashes()) < 400  # Redis refused some dispatches: OOM
    procs = [chaos.watchdog(), chaos.worker()]
    wait_for(lambda: "maxmemory" in chaos.log_text(), timeout=30, what="OOM seen by the processes")
    time.sleep(3)  # stay out of memory a while (the fault's length)
    chaos.rv.client.config_set("maxmemory", "0")
    report = chaos.drain_and_check(timeout=90)
    assert report.acknowledged == 400 and report.states["succeeded"] == 400
    assert all(p.poll() is None for p in procs)


@pytest.fixture
def own_pg():
    from tests.chaos.pg import PgCluster, pg_bindir

    if pg_bindir() is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    cluster = PgCluster().init()
    yield cluster
    cluster.cleanup()


def test_database_down_for_ten_seconds(chaos_factory, own_pg):
    """Case 10a. The database (a PostgreSQL of the test's own) stopped for 10 s while
    jobs run and a client submits. Pass: submits during the outage are refused (503 /
    StoreUnavailable), never half-written; no outcome lost (acked outcomes wait in the
    Redis outbox); the same worker and watchdog processes recover without restarting;
    oracle clean."""
    chaos = chaos_factory(db_url=own_pg.url)
    procs = [chaos.watchdog(), chaos.worker(), chaos.worker()]
    chaos.loadgen("--rate", "30", "--seconds", "25", "--threads", "2", "--mix", "noop:1,sleep:1")
    wait_for(lambda: len(chaos.ledger.starts()) >= 50, timeout=30, what="work in progress")
    own_pg.stop()
    time.sleep(10)  # the outage
    own_pg.start()
    chaos.collect_loadgens()
    report = chaos.drain_and_check(timeout=90)
    assert report.refused > 0 and report.acknowledged > 300
    assert all(p.poll() is None for p in procs)


def test_database_connections_killed_mid_transaction(chaos_factory, own_pg):
    """Case 10b. For 10 s every application connection inside a transaction is killed
    (pg_terminate_backend) as soon as it is seen, while jobs run and a client submits.
    Pass: no outcome lost, nothing half-written (a refused submit left no row), the
    processes recover without restarting; oracle clean."""
    chaos = chaos_factory(db_url=own_pg.url)
    procs = [chaos.watchdog(), chaos.worker(), chaos.worker()]
    chaos.loadgen("--rate", "30", "--seconds", "15", "--threads", "2", "--mix", "noop:1,sleep:1")
    wait_for(lambda: len(chaos.ledger.starts()) >= 30, timeout=30, what="work in progress")
    killed, until = 0, time.monotonic() + 10
    while time.monotonic() < until:
        killed += own_pg.terminate_backends(only_in_transaction=True)
        time.sleep(0.01)
    chaos.collect_loadgens()
    report = chaos.drain_and_check(timeout=90)
    assert killed > 0 and report.acknowledged > 200
    assert all(p.poll() is None for p in procs)
    print(report.table({"connections killed": killed}))
