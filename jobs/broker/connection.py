"""One Redis client per process, created lazily and re-created after a fork.

REDIS_URL names one server (`redis://`, `rediss://`, `unix://`) or a Redis Cluster
(`redis+cluster://host:port`, `rediss+cluster://`: any one node; the client discovers
the rest).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import redis
from django.conf import settings
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

logger = logging.getLogger("queuey.broker")

# Above the longest blocking pop (1 s) so a half-open connection raises instead of hanging.
SOCKET_TIMEOUT = 5.0

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

# Either client: the broker uses only the commands both have.
RedisClient = redis.Redis | RedisCluster

_lock = threading.Lock()
_client: RedisClient | None = None
_client_pid: int | None = None


def is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0] in CLUSTER_SCHEMES


def connect(url: str) -> RedisClient:
    """A client for the server or cluster the URL names, with the broker's timeouts."""
    options = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": 2.0,
        "socket_keepalive": True,
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        "decode_responses": True,
    }
    scheme, rest = url.split("://", 1)
    if scheme in CLUSTER_SCHEMES:
        return RedisCluster.from_url(f"{CLUSTER_SCHEMES[scheme]}://{rest}", **options)
    return redis.Redis.from_url(url, health_check_interval=15, **options)


def get_redis() -> RedisClient:
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        with _lock:
            if _client is None or _client_pid != os.getpid():
                _client = connect(settings.REDIS_URL)
                _client_pid = os.getpid()
    return _client


def reset_redis() -> None:
    """Forget the client (tests point REDIS_URL elsewhere between runs)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None


def warn_unless_noeviction(client: RedisClient) -> bool:
    """Log loudly when Redis may evict keys: an evicted job hash is a lost job. On a
    cluster every master is asked."""
    try:
        replies: list[Any]
        if isinstance(client, RedisCluster):
            by_node = client.config_get("maxmemory-policy", target_nodes=RedisCluster.PRIMARIES)
            # One master answers with its own dict; several with one per node.
            replies = list(by_node.values()) if "maxmemory-policy" not in by_node else [by_node]
        else:
            replies = [client.config_get("maxmemory-policy")]
        policies = {reply.get("maxmemory-policy") for reply in replies}
    except redis.ResponseError:
        # Managed Redis often forbids CONFIG; say so rather than guess.
        logger.warning("queuey.redis_config_unreadable: cannot verify maxmemory-policy")
        return False
    if policies != {"noeviction"}:
        logger.error(
            "queuey.redis_eviction_policy: Redis maxmemory-policy is %s; it MUST be "
            "'noeviction' or Redis may silently drop queued jobs",
            ", ".join(sorted(repr(p) for p in policies)),
        )
        return False
    return True
