"""Per-key (and, for the public schema and docs, per-client-address) request rates.

A fixed-window counter in Redis shared by every API process. A process does not count
each request there: it takes a share of the window's budget at a time (1/200 of the
limit, at most 500 requests) and spends it locally, so a busy key costs one Redis round
trip per share instead of one per request. The counter never admits more than the
limit; a share a process does not use up before its window ends is lost, so a key may
be admitted up to (share - 1) fewer requests per process and window: 0.5% of the limit.
Small limits get a share of 1, i.e. exact counting.

DRF's SimpleRateThrottle keeps a list of timestamps per client and rewrites it on every
request, which does not scale to thousands of requests a minute. If Redis is
unreachable the request goes through: losing throttling for a while is better than
refusing jobs the database could accept.
"""

from __future__ import annotations

import math
import threading
import time

import redis
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from jobs import conf
from jobs.api.auth import KeyUser
from jobs.broker.client import Broker

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SHARE_OF_LIMIT = 200
MAX_SHARE = 500


def parse_rate(rate: str) -> tuple[int, int]:
    """ "600/minute" -> (600, 60). Raises ValueError on a malformed setting."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1].lower()]


class WindowAllowance:
    """This process's unspent share of each (scope, identity) budget in the current window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (scope, identity, limit, period) -> (window, requests left)
        self._left: dict[tuple[str, str, int, int], tuple[int, int]] = {}

    def take(self, scope: str, ident: str, limit: int, period: int, now: float) -> bool:
        window = int(now // period)
        slot = (scope, ident, limit, period)  # a changed setting starts afresh
        with self._lock:
            held_window, left = self._left.get(slot, (window, 0))
            if held_window == window and left > 0:
                self._left[slot] = (window, left - 1)
                return True
        share = max(1, min(MAX_SHARE, limit // SHARE_OF_LIMIT))
        total = Broker().count_in_window(scope, ident, window, period, share)
        granted = min(share, limit - (total - share))
        if granted <= 0:
            return False
        with self._lock:
            held_window, left = self._left.get(slot, (window, 0))
            left = left if held_window == window else 0
            self._left[slot] = (window, left + granted - 1)
            if len(self._left) > 10_000:  # identities of past windows
                self._left = {k: v for k, v in self._left.items() if v[0] == window}
        return True


_allowance = WindowAllowance()


class _WindowThrottle(BaseThrottle):
    setting = "API_RATE"
    scope = "key"

    def __init__(self) -> None:
        self._wait: float | None = None

    def ident(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: APIView) -> bool:
        ident = self.ident(request)
        if ident is None:
            return True
        limit, period = parse_rate(conf.get(self.setting))
        now = time.time()
        try:
            if _allowance.take(self.scope, ident, limit, period, now):
                return True
        except redis.RedisError:
            return True
        self._wait = period - (now % period)
        return False

    def wait(self) -> float | None:
        return math.ceil(self._wait) if self._wait is not None else None


class KeyRateThrottle(_WindowThrottle):
    """QUEUEY_API_RATE per API key; the key's row id is the identity (no user text)."""

    def ident(self, request: Request) -> str | None:
        user = request.user
        return str(user.key.pk) if isinstance(user, KeyUser) else None


class AddressRateThrottle(_WindowThrottle):
    """QUEUEY_API_ANON_RATE per client address, for the unauthenticated schema and docs."""

    setting = "API_ANON_RATE"
    scope = "addr"

    def ident(self, request: Request) -> str | None:
        return request.META.get("REMOTE_ADDR") or "unknown"
