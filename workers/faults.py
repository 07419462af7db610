"""Test-only crash points: QUEUEY_CRASH_AT=<step> makes a worker die right there."""

from __future__ import annotations

import logging
import os

from django.conf import settings

logger = logging.getLogger("queuey.worker")

STEPS = ("after_claim", "before_ack", "after_ack_before_db")


def maybe_crash(step: str) -> None:
    if step == settings.QUEUEY_CRASH_AT:
        logger.error("queuey.fault_injected step=%s: exiting now", step)
        os._exit(70)
