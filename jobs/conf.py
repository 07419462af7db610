"""Queue settings, read lazily from django.conf.settings at call time."""

from __future__ import annotations

from typing import Any

from django.conf import settings

QUEUES = ("high", "default", "low")  # strict priority order


def get(name: str) -> Any:
    """The QUEUEY_<NAME> setting, e.g. get("VISIBILITY_TIMEOUT")."""
    return getattr(settings, f"QUEUEY_{name}")
