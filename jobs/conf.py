"""Queue settings, read lazily from django.conf.settings at call time."""

from __future__ import annotations

import os

from django.conf import settings

QUEUES = ("high", "default", "low")  # strict priority order

# Settings with a default here, for those queuey_site/settings.py does not define: read
# from the environment at call time (a setting of that name in Django settings wins).
# API_KEY_CACHE_SECONDS: how long an API process trusts a key it looked up; the bound on
# a revocation's delay while Redis cannot announce it (docs/API.md, "Revoking a key").
_ENV_DEFAULTS: dict[str, tuple[type, object]] = {
    "API_KEY_CACHE_SECONDS": (float, 5.0),
}
_MISSING = object()


def get(name: str):
    """The QUEUEY_<NAME> setting, e.g. get("VISIBILITY_TIMEOUT")."""
    value = getattr(settings, f"QUEUEY_{name}", _MISSING)
    if value is not _MISSING:
        return value
    if name not in _ENV_DEFAULTS:
        raise AttributeError(f"no setting QUEUEY_{name}")
    parse, default = _ENV_DEFAULTS[name]
    raw = os.environ.get(f"QUEUEY_{name}", "").strip()
    return parse(raw) if raw else default
