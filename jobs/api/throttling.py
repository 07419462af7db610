"""Per-key (and, for the public schema and docs, per-client-address) request rates.

A fixed-window counter in Redis: one INCR (+ EXPIRE) round trip per request, shared by
every API process. DRF's SimpleRateThrottle keeps a list of timestamps per client and
rewrites it on every request, which does not scale to thousands of requests a minute.
If Redis is unreachable the request goes through: losing throttling for a while is
better than refusing jobs the database could accept.
"""

from __future__ import annotations

import math
import time

import redis
from rest_framework.throttling import BaseThrottle

from jobs import conf
from jobs.api.auth import KeyUser
from jobs.broker.client import Broker

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/minute" -> (600, 60). Raises ValueError on a malformed setting."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1].lower()]


class _WindowThrottle(BaseThrottle):
    setting = "API_RATE"
    scope = "key"

    def __init__(self) -> None:
        self._wait: float | None = None

    def ident(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        ident = self.ident(request)
        if ident is None:
            return True
        limit, period = parse_rate(conf.get(self.setting))
        now = time.time()
        window = int(now // period)
        try:
            count = Broker().count_in_window(self.scope, ident, window, period)
        except redis.RedisError:
            return True
        if count <= limit:
            return True
        self._wait = period - (now % period)
        return False

    def wait(self) -> float | None:
        return math.ceil(self._wait) if self._wait is not None else None


class KeyRateThrottle(_WindowThrottle):
    """QUEUEY_API_RATE per API key; the key's row id is the identity (no user text)."""

    def ident(self, request) -> str | None:
        user = request.user
        return str(user.key.pk) if isinstance(user, KeyUser) else None


class AddressRateThrottle(_WindowThrottle):
    """QUEUEY_API_ANON_RATE per client address, for the unauthenticated schema and docs."""

    setting = "API_ANON_RATE"
    scope = "addr"

    def ident(self, request) -> str | None:
        return request.META.get("REMOTE_ADDR") or "unknown"
