"""Failed dashboard logins, throttled per username and per client address.

Counts live in the project's cache (django-redis) for WINDOW_SECONDS from the first
failure; past the limit the login form refuses even the right password until the window
ends. With Redis down the cache answers nothing (IGNORE_EXCEPTIONS) and logins are not
throttled: failing open keeps staff able to log in during the outage they must handle.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest

WINDOW_SECONDS = 15 * 60
MAX_PER_USERNAME = 5
# Higher: several people may share one address (an office behind NAT).
MAX_PER_ADDRESS = 20


def _keys(username: str, address: str) -> dict[str, int]:
    # Hashed, so no user-typed text becomes part of a cache key.
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return {
        f"dashboard:login-failures:user:{user}": MAX_PER_USERNAME,
        f"dashboard:login-failures:addr:{address}": MAX_PER_ADDRESS,
    }


def is_throttled(username: str, address: str) -> bool:
    limits = _keys(username, address)
    counts = cache.get_many(list(limits)) or {}
    return any(int(counts.get(key) or 0) >= limit for key, limit in limits.items())


def record_failure(username: str, address: str) -> None:
    for key in _keys(username, address):
        cache.add(key, 0, timeout=WINDOW_SECONDS)  # the window starts at the first failure
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: start again
            cache.add(key, 1, timeout=WINDOW_SECONDS)


def record_success(username: str, address: str) -> None:
    user_key = next(iter(_keys(username, address)))
    cache.delete(user_key)


def client_address(request: HttpRequest | None) -> str:
    # REMOTE_ADDR: behind a proxy that is the proxy's, which then shares the address limit.
    return (request.META.get("REMOTE_ADDR") if request else None) or "unknown"


class ThrottledLoginForm(AdminAuthenticationForm):
    """The admin's staff-only login form, refusing while a username or address is
    throttled and counting every refusal (wrong password, inactive, not staff)."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        if is_throttled(username, address):
            minutes = WINDOW_SECONDS // 60
            raise ValidationError(
                f"Too many failed logins. Try again in up to {minutes} minutes.",
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except ValidationError:
            record_failure(username, address)
            raise
        record_success(username, address)
        return cleaned
