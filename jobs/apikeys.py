"""API keys: stored as SHA-256 digests, looked up by digest, compared in constant time.

A plain digest suffices because generated keys carry 256 bits of randomness; a slow
password hash would only add latency to every request. The dev key `dev` exists only
where QUEUEY_DEV_API_KEY is set (DEBUG defaults).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time

import redis
from django.db import DatabaseError, transaction
from django.utils import timezone

from jobs import conf
from jobs.broker import revocations
from jobs.errors import InvalidInput
from jobs.models import ApiKey, ApiKeyScope

logger = logging.getLogger("queuey.api")

KEY_BYTES = 32


def digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()


def create_api_key(*, name: str, scope: str, raw_key: str | None = None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the raw key, which is never stored."""
    if scope not in ApiKeyScope.values:
        raise InvalidInput(f"scope must be one of {', '.join(ApiKeyScope.values)}", field="scope")
    raw = raw_key or "qy_" + secrets.token_urlsafe(KEY_BYTES)
    key = ApiKey.objects.create(name=name, key_digest=digest(raw), scope=scope)
    return key, raw


def revoke_api_key(*, name: str) -> int:
    """Revoke the live keys called `name`; every API process refuses them at once while
    Redis is up, within API_KEY_CACHE_SECONDS otherwise (docs/API.md)."""
    count = ApiKey.objects.filter(name=name, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _cache.clear()
    if count:
        # After the commit, or another process could reload the key before it sees the
        # row revoked (and then cache it for good).
        transaction.on_commit(_announce_revocation)
    return count


def _announce_revocation() -> None:
    _cache.clear()  # a request of ours may have re-cached it before the commit
    try:
        revocations.announce_revocation()
    except redis.RedisError as exc:
        # The database row is the truth and the revocation stands: the other processes
        # only take up to the cache lifetime to notice.
        logger.warning(
            "queuey.key_revocation_unannounced error=%s: other API processes refuse the key "
            "within %gs",
            exc,
            conf.get("API_KEY_CACHE_SECONDS"),
        )


class _KeyCache:
    """Live keys looked up in the last API_KEY_CACHE_SECONDS, by digest: a database
    query per API call was a fifth of the submit path.

    A revocation clears it in every process (this one directly, the others through
    jobs.broker.revocations). The generation closes the race with a lookup in flight:
    a request that read the key just before the revocation's clear must not store it
    just after, where it would outlive the revocation by a whole cache lifetime.
    """

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[ApiKey, float]] = {}
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, wanted: str) -> ApiKey | None:
        cached = self._entries.get(wanted)
        return cached[0] if cached is not None and cached[1] > time.monotonic() else None

    def put(self, wanted: str, key: ApiKey, generation: int) -> None:
        expires = time.monotonic() + conf.get("API_KEY_CACHE_SECONDS")
        with self._lock:
            if generation != self.generation:
                return  # cleared since the lookup began: the row read may be stale
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[wanted] = (key, expires)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


_cache = _KeyCache()


def authenticate(raw_key: str) -> ApiKey | None:
    """The live key matching raw_key, or None (unknown, wrong and revoked look alike)."""
    revocations.listen(_cache.clear)
    wanted = digest(raw_key)
    key = _cache.get(wanted)
    if key is None:
        generation = _cache.generation
        key = ApiKey.objects.filter(key_digest=wanted).first()
        if key is None or key.revoked_at is not None:
            return None
        _touch(key)
        _cache.put(wanted, key, generation)
    return key if hmac.compare_digest(key.key_digest, wanted) else None


def _touch(key: ApiKey) -> None:
    """Record the use on a cache miss only (once per API_KEY_CACHE_SECONDS per process):
    a write per request would cost the submit path more than the lookup it saves."""
    try:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    except DatabaseError as exc:  # a missed "last used" must not refuse the request
        logger.warning("queuey.key_last_used_unrecorded error=%s", exc)


def ensure_dev_key(raw_key: str) -> ApiKey:
    key = ApiKey.objects.filter(key_digest=digest(raw_key)).first()
    if key is None:
        key, _ = create_api_key(name="dev", scope=ApiKeyScope.ADMIN, raw_key=raw_key)
    return key
