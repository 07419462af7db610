"""/healthz, /readyz and /metrics: answered first, before any other middleware.

Load balancers and orchestrators probe by IP, with a Host header that is rarely in
ALLOWED_HOSTS, and a probe must not count as API traffic: so these paths never reach
the host check, sessions or the request metrics.

- /healthz: the process serves (no store touched; for liveness).
- /readyz: the database and Redis answer now; 503 with the failing part named when not
  (for readiness: an instance that cannot reach its stores is taken out of rotation).
- /metrics: Prometheus text format, the sum over every process of this gunicorn
  (PROMETHEUS_MULTIPROC_DIR) plus the stores' gauges (jobs/store_gauges.py). Only
  clients in QUEUEY_METRICS_ALLOWED_NETWORKS get it (default: loopback and private
  networks), never through a proxy (a request with X-Forwarded-For, Forwarded or
  X-Real-IP), so a public listener does not hand out queue names and job types.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable, Iterator

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from jobs.broker.client import Broker
from jobs.broker.connection import get_redis
from jobs.store_gauges import StoreGauges


class OperationalEndpoints:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.routes: dict[str, Callable[[HttpRequest], HttpResponse]] = {
            "/healthz": healthz,
            "/readyz": readyz,
            "/metrics": metrics,
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        route = self.routes.get(request.path_info.rstrip("/") or "/")
        if route is None:
            return self.get_response(request)
        if request.method not in {"GET", "HEAD"}:
            return _error(405, "method_not_allowed", "use GET")
        return route(request)


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    checks = {"database": _check_database(), "redis": _check_redis()}
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "unavailable", **checks}
    return JsonResponse(body, status=200 if ready else 503)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"unreachable: {type(exc).__name__}"
    return "ok"


def _check_redis() -> str:
    try:
        get_redis().ping()
        # Jobs this process would dispatch where no worker looks: not ready.
        problem = Broker().layout_problem()
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}"
    return f"wrong partition count: {problem}" if problem else "ok"


# Headers a proxy adds. Behind a load balancer every client arrives from its private
# address, inside the allowed networks: a request that came through one is refused, so
# /metrics is never served to the internet by way of the public listener.
_PROXIED = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def metrics(request: HttpRequest) -> HttpResponse:
    if any(header in request.META for header in _PROXIED):
        return _error(403, "forbidden", "metrics are not served through a proxy; scrape directly")
    if not _allowed(request.META.get("REMOTE_ADDR", "")):
        return _error(403, "forbidden", "metrics are served to QUEUEY_METRICS_ALLOWED_NETWORKS")
    return HttpResponse(generate_latest(_Exposition()), content_type=CONTENT_TYPE_LATEST)


class _Exposition:
    """What one scrape returns: this process's (or every gunicorn process's) series and
    the stores' gauges, which are computed here, once."""

    def collect(self) -> Iterator[Metric]:
        yield from _process_series()
        yield from StoreGauges().collect()


def _process_series() -> Iterable[Metric]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return registry.collect()
    return REGISTRY.collect()


def _allowed(address: str) -> bool:
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in network for network in _allowed_networks())


def _allowed_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    raw = settings.QUEUEY_METRICS_ALLOWED_NETWORKS
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in raw if n.strip())


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "field": None, "message": message}}, status=status)
