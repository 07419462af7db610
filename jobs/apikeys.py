"""API keys: stored as SHA-256 digests, looked up by digest, compared in constant time.

A plain digest suffices because generated keys carry 256 bits of randomness; a slow
password hash would only add latency to every request. The dev key `dev` exists only
where QUEUEY_DEV_API_KEY is set (DEBUG defaults).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from django.utils import timezone

from jobs.errors import InvalidInput
from jobs.models import ApiKey, ApiKeyScope

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
    _recent.clear()
    return ApiKey.objects.filter(name=name, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


# Live keys seen in the last CACHE_SECONDS, by digest: a database query per API call was
# a fifth of the submit path. A revocation made in another process therefore takes
# effect within CACHE_SECONDS; in this process at once.
CACHE_SECONDS = 5.0
_recent: dict[str, tuple[ApiKey, float]] = {}


def authenticate(raw_key: str) -> ApiKey | None:
    """The live key matching raw_key, or None (unknown, wrong and revoked look alike)."""
    wanted = digest(raw_key)
    cached = _recent.get(wanted)
    if cached is not None and cached[1] > time.monotonic():
        key = cached[0]
    else:
        key = ApiKey.objects.filter(key_digest=wanted).first()
        if key is None or key.revoked_at is not None:
            _recent.pop(wanted, None)
            return None
        if len(_recent) > 10_000:
            _recent.clear()
        _recent[wanted] = (key, time.monotonic() + CACHE_SECONDS)
    return key if hmac.compare_digest(key.key_digest, wanted) else None


def ensure_dev_key(raw_key: str) -> ApiKey:
    key = ApiKey.objects.filter(key_digest=digest(raw_key)).first()
    if key is None:
        key, _ = create_api_key(name="dev", scope=ApiKeyScope.ADMIN, raw_key=raw_key)
    return key
