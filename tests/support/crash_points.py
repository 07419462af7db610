"""Crash points for the fault tests: a worker that kills its own process at a step.

Lives in tests/ so production workers carry no fault checks: tests/settings.py makes
`runworker` use CrashingWorker when QUEUEY_CRASH_AT names a step.
"""

from __future__ import annotations

import logging
import os

from django.conf import settings

from jobs.broker.types import ClaimedJob, Outcome
from workers.reporter import Reporter
from workers.worker import Worker

logger = logging.getLogger("queuey.worker")

STEPS = ("after_claim", "before_ack", "after_ack_before_db")


def crash_at(step: str) -> None:
    if step == settings.QUEUEY_CRASH_AT:
        logger.error("queuey.fault_injected step=%s: exiting now", step)
        os._exit(70)


class CrashingReporter(Reporter):
    def _hand_to_writer(self, entries: list[str], refused: list[Outcome]) -> None:
        crash_at("after_ack_before_db")
        super()._hand_to_writer(entries, refused)


class CrashingWorker(Worker):
    reporter_class = CrashingReporter

    def _start(self, jobs: list[ClaimedJob]) -> None:
        crash_at("after_claim")
        super()._start(jobs)

    def _report(self, outcome: Outcome) -> None:
        crash_at("before_ack")
        super()._report(outcome)
