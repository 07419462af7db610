"""`manage.py runworker`: run worker processes (thin: parses options, hands over)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs import conf


class Command(BaseCommand):
    # System checks import the URLconf, and with it the whole API and admin: 25 MiB a
    # worker never uses. `manage.py check` runs them at deploy time instead.
    requires_system_checks: list[str] = []
    help = "Run Queuey workers: claim jobs from Redis by priority and run their handlers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="worker processes; above 1 a supervisor restarts them",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="handler threads per process (QUEUEY_WORKER_CONCURRENCY)",
        )
        parser.add_argument(
            "--queues",
            default=",".join(conf.QUEUES),
            help="comma-separated queues, highest priority first",
        )
        parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")

    def handle(self, *args: Any, **options: Any) -> None:
        queues = [q.strip() for q in options["queues"].split(",") if q.strip()]
        unknown = sorted(set(queues) - set(conf.QUEUES))
        if unknown or not queues:
            raise CommandError(f"unknown queues {unknown}; valid: {', '.join(conf.QUEUES)}")
        concurrency = options["concurrency"]
        if concurrency is not None and not 1 <= concurrency <= 1024:
            raise CommandError("--concurrency must be from 1 to 1024")
        if options["processes"] > 1:
            from django.conf import settings

            from workers.supervisor import Supervisor

            supervisor = Supervisor(
                processes=options["processes"],
                argv=sys.argv,
                metrics_port=settings.QUEUEY_WORKER_METRICS_PORT,
                metrics_addr=settings.QUEUEY_METRICS_ADDR,
            )
            sys.exit(supervisor.run())
        from django.conf import settings
        from django.utils.module_loading import import_string

        from workers.metrics_server import start_metrics_server

        # The test settings swap in a worker with crash points (tests/support); the
        # project's settings name none, so production runs the plain Worker.
        Worker = import_string(getattr(settings, "QUEUEY_WORKER_CLASS", "workers.worker.Worker"))
        start_metrics_server("WORKER_METRICS_PORT")
        # Hand the GIL over every 1 ms rather than 5: a job that has just been claimed
        # should not wait behind the reporter's batch work to start (p99 start latency).
        sys.setswitchinterval(0.001)
        worker = Worker(concurrency=concurrency, queues=queues, burst=options["burst"])
        worker.install_signal_handlers()
        sys.exit(worker.run())
