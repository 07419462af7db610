"""Queue settings, read lazily from django.conf.settings at call time."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from jobs.queues import QUEUES  # noqa: F401  (the queues' home; importable without Django)


def get(name: str) -> Any:
    """The QUEUEY_<NAME> setting, e.g. get("VISIBILITY_TIMEOUT")."""
    return getattr(settings, f"QUEUEY_{name}")
