"""One Redis client per process, created lazily and re-created after a fork."""

from __future__ import annotations

import logging
import os
import threading

import redis
from django.conf import settings
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

logger = logging.getLogger("queuey.broker")

# Above the longest blocking pop (1 s) so a half-open connection raises instead of hanging.
SOCKET_TIMEOUT = 5.0

_lock = threading.Lock()
_client: redis.Redis | None = None
_client_pid: int | None = None


def get_redis() -> redis.Redis:
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        with _lock:
            if _client is None or _client_pid != os.getpid():
                _client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_timeout=SOCKET_TIMEOUT,
                    socket_connect_timeout=2.0,
                    socket_keepalive=True,
                    health_check_interval=15,
                    retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
                    decode_responses=True,
                )
                _client_pid = os.getpid()
    return _client


def reset_redis() -> None:
    """Forget the client (tests point REDIS_URL elsewhere between runs)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None


def warn_unless_noeviction(client: redis.Redis) -> bool:
    """Log loudly when Redis may evict keys: an evicted job hash is a lost job."""
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except redis.ResponseError:
        # Managed Redis often forbids CONFIG; say so rather than guess.
        logger.warning("queuey.redis_config_unreadable: cannot verify maxmemory-policy")
        return False
    if policy != "noeviction":
        logger.error(
            "queuey.redis_eviction_policy: Redis maxmemory-policy is %r; it MUST be "
            "'noeviction' or Redis may silently drop queued jobs",
            policy,
        )
        return False
    return True
