"""The test settings, except that the watchdog's metrics port comes from the environment
(tests/settings.py pins it to 0 so that no other test binds the default 9101)."""

import os

from tests.settings import *  # noqa: F403

QUEUEY_WATCHDOG_METRICS_PORT = int(os.environ.get("QUEUEY_WATCHDOG_METRICS_PORT") or 0)
