"""Serve a process's metrics on its own port (workers, watchdog).

`runworker --processes N` serves one port for all its processes: the children write
their series to a multiprocess directory and the supervisor serves their sum
(serve_multiprocess), so a child that dies or is replaced keeps its counts in the sum.
The stores' gauges (depth, workers online, ...) are the API's /metrics' alone
(jobs/store_gauges.py): served here too they would be counted once per process.
"""

from __future__ import annotations

import logging

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger("queuey.metrics")


def start_metrics_server(setting: str) -> None:
    """This process's registry on the port settings.QUEUEY_<setting> names (0: none)."""
    from django.conf import settings

    port = _port(setting)
    if port:
        _serve(port, getattr(settings, "QUEUEY_METRICS_ADDR", "127.0.0.1"), REGISTRY)


def serve_multiprocess(port: int, addr: str, directory: str) -> None:
    """The sum of every process writing to `directory` (needs no Django: the supervisor)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    _serve(port, addr, registry)


def _port(setting: str) -> int:
    from django.conf import settings

    return int(getattr(settings, f"QUEUEY_{setting}", 0) or 0)


def _serve(port: int, addr: str, registry: CollectorRegistry) -> None:
    try:
        start_http_server(port, addr=addr, registry=registry)
        logger.info("queuey.metrics_listening port=%d", port)
    except OSError as exc:
        logger.warning("queuey.metrics_port_unavailable port=%d error=%s", port, exc)
