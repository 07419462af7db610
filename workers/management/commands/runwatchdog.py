"""`manage.py runwatchdog`: requeue expired leases, promote due jobs, reconcile."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    # System checks import the URLconf, and with it the whole API and admin: 25 MiB a
    # worker never uses. `manage.py check` runs them at deploy time instead.
    requires_system_checks: list[str] = []
    help = "Run the Queuey watchdog (several may run at once)."

    def handle(self, *args: Any, **options: Any) -> None:
        from workers.metrics_server import start_metrics_server
        from workers.watchdog import Watchdog

        start_metrics_server("WATCHDOG_METRICS_PORT")
        watchdog = Watchdog()
        watchdog.install_signal_handlers()
        sys.exit(watchdog.run())
