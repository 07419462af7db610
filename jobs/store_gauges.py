"""Gauges of the stores, computed when Prometheus scrapes, by one process.

Depth, oldest age, workers and the watchdog's last pass are facts about Redis and the
database, not about a process: each scrape of the API's /metrics reads them once (a
Redis pipeline and one GROUP BY over the unfinished jobs), so several gunicorn workers
never add them up, and they stay right when a worker or the watchdog dies (then
`queuey_workers_online` falls, and the watchdog's last pass grows old).

A store that does not answer is reported as `queuey_redis_up 0` / `queuey_database_up 0`
and its gauges are left out of that scrape, rather than reported as zeros.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis
from django.db import DatabaseError
from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from jobs import conf
from jobs.broker.client import Broker
from jobs.models import Job
from jobs.states import JobStatus

# The database's unfinished states that are not in a ready queue, by gauge state.
_DB_STATES = {
    JobStatus.SCHEDULED: "scheduled",
    JobStatus.RETRYING: "scheduled",
    JobStatus.RUNNING: "leased",
    JobStatus.DEAD: "dead",
}


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels or [])


class StoreGauges(Collector):
    def collect(self) -> Iterator[Metric]:
        redis_up = _gauge("queuey_redis_up", "1 when Redis answered this scrape")
        database_up = _gauge("queuey_database_up", "1 when the database answered this scrape")
        depth = _gauge("queuey_queue_depth", "Jobs per queue and state", ["queue", "state"])
        from_redis = self._redis_gauges(redis_up, depth)
        self._database_depth(database_up, depth)
        yield from (redis_up, database_up, depth, *from_redis)

    def _redis_gauges(self, up: GaugeMetricFamily, depth: GaugeMetricFamily) -> list[Metric]:
        try:
            read = _read_redis()
        except redis.RedisError:
            up.add_metric([], 0)
            return []
        up.add_metric([], 1)
        oldest = _gauge(
            "queuey_oldest_job_age_seconds", "Age of the oldest ready job per queue", ["queue"]
        )
        for queue in conf.QUEUES:
            depth.add_metric([queue, "ready"], read["ready"][queue])
            oldest.add_metric([queue], read["oldest_age"][queue])
        workers = read["workers"]
        online = _gauge("queuey_workers_online", "Worker processes with a live heartbeat")
        online.add_metric([], len(workers))
        slots = _gauge("queuey_worker_slots", "Handler slots of the workers online")
        slots.add_metric([], sum(int(w.get("concurrency") or 0) for w in workers))
        busy = _gauge("queuey_worker_busy_slots", "Handler slots running a job")
        busy.add_metric([], sum(int(w.get("busy") or 0) for w in workers))
        found: list[Metric] = [oldest, online, slots, busy]
        if read["watchdog_pass_ms"] is not None:
            last = _gauge(
                "queuey_watchdog_last_pass_timestamp_seconds",
                "When a watchdog last completed a pass (Unix time)",
            )
            last.add_metric([], read["watchdog_pass_ms"] / 1000)
            found.append(last)
        return found

    def _database_depth(self, up: GaugeMetricFamily, depth: GaugeMetricFamily) -> None:
        try:
            counts = _count_unfinished()
        except DatabaseError:
            up.add_metric([], 0)
            return
        up.add_metric([], 1)
        for (queue, state), n in counts.items():
            depth.add_metric([queue, state], n)


def _read_redis() -> dict:
    broker = Broker()
    lengths = broker.lengths()
    heads = broker.oldest_waiting()
    now_ms = broker.now_ms()
    created = broker.created_ms([job_id for job_id in heads.values() if job_id])
    oldest_ms = {q: created.get(job_id) if job_id else None for q, job_id in heads.items()}
    return {
        "ready": {q: getattr(lengths, q) for q in conf.QUEUES},
        "oldest_age": {q: max(0, now_ms - ms) / 1000 if ms else 0.0 for q, ms in oldest_ms.items()},
        "workers": broker.workers(),
        "watchdog_pass_ms": broker.watchdog_last_pass_ms(),
    }


def _count_unfinished() -> dict[tuple[str, str], int]:
    """Scheduled, leased and dead jobs per queue (every queue reported, zeros too), from
    the job table's (status, id) index: the states Redis keeps in one set for all queues."""
    counts = {(q, s): 0 for q in conf.QUEUES for s in ("scheduled", "leased", "dead")}
    rows = (
        Job.objects.filter(status__in=list(_DB_STATES))
        .order_by()
        .values_list("queue", "status")
        .annotate(n=Count("id"))
    )
    for queue, status, n in rows:
        key = (queue, _DB_STATES[status])
        counts[key] = counts.get(key, 0) + n
    return counts
