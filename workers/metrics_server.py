"""Expose a process's metrics on its own port (workers, watchdog)."""

from __future__ import annotations

import logging

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from jobs import conf

logger = logging.getLogger("queuey.metrics")


class QueueDepthCollector(Collector):
    """Queue depths read from Redis at scrape time: one process only (the watchdog)."""

    def collect(self):
        from jobs.selectors import list_workers, queue_stats

        depth = GaugeMetricFamily(
            "queuey_queue_depth", "Jobs per queue and place", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "queuey_oldest_job_age_seconds", "Age of the oldest waiting job", labels=["queue"]
        )
        alive = GaugeMetricFamily("queuey_workers_alive", "Workers with a live heartbeat")
        try:
            stats = queue_stats()
            workers = list_workers()
        except Exception:
            logger.warning("queuey.metrics_scrape_failed", exc_info=True)
            return
        for name in (*conf.QUEUES, "scheduled", "running", "dlq"):
            depth.add_metric([name], stats[name])
        for name, age in stats["oldest_age_seconds"].items():
            oldest.add_metric([name], age or 0.0)
        alive.add_metric([], len(workers))
        yield from (depth, oldest, alive)


def start_metrics_server(setting: str, *, with_queue_gauges: bool = False) -> None:
    from django.conf import settings

    port = int(getattr(settings, f"QUEUEY_{setting}", 0) or 0)
    if not port:
        return
    if with_queue_gauges:
        REGISTRY.register(QueueDepthCollector())
    try:
        start_http_server(port, addr=getattr(settings, "QUEUEY_METRICS_ADDR", "0.0.0.0"))  # noqa: S104  # fallback only; settings default to 127.0.0.1  # nosec B104
        logger.info("queuey.metrics_listening port=%d", port)
    except OSError as exc:
        logger.warning("queuey.metrics_port_unavailable port=%d error=%s", port, exc)
