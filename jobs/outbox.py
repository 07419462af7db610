"""Write outbox entries (state changes Redis made) to the database, then settle them.

Applying is idempotent, so a worker and a watchdog may both apply the same entry: the
attempt row is unique per (job, number) and a job row only moves to a newer version.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from jobs.broker.client import Broker
from jobs.broker.types import Outcome
from jobs.bulk_insert import insert_rows
from jobs.bulk_update import update_versioned
from jobs.models import Attempt, Job
from jobs.states import AttemptOutcome, JobStatus
from jobs.timeutil import from_ms

logger = logging.getLogger("queuey.outbox")

# Once the database holds these, Redis has nothing left to do for the job.
_FORGET_IN_REDIS = {JobStatus.SUCCEEDED, JobStatus.CANCELLED}
# A rebuild of Redis from the database (workers/reconcile.py) steps a job's version by
# this: far more transitions than one job goes through between two database writes, so
# `version // VERSION_STEP` counts the rebuilds a version is from.
VERSION_STEP = 1 << 20
LOST_WITH_REDIS = (
    "lease lost with Redis's data: the attempt succeeded, but its result reached the "
    "database only after the job was dispatched again"
)


def decode(raw_entries: list[str]) -> list[dict[str, Any]]:
    """The entries as dicts (for events: id, status, attempt, q, type, worker, ...)."""
    return [json.loads(r) for r in raw_entries if r]


def apply(raw_entries: list[str]) -> list[tuple[str, str, str]]:
    """Write entries in one transaction; returns what to settle in Redis."""
    entries = sorted(((json.loads(r), r) for r in raw_entries if r), key=_order)
    if not entries:
        return []
    with transaction.atomic():
        # A job whose row was deleted meanwhile (a purge) has nothing left to update, and
        # its attempt row would break the foreign key and with it the whole batch.
        versions = {
            str(pk): version
            for pk, version in Job.objects.filter(pk__in={e["id"] for e, _ in entries}).values_list(
                "pk", "version"
            )
        }
        live = [e for e, _ in entries if e["id"] in versions]
        succeeded = _latest_successes([e for e in live if e["status"] == JobStatus.SUCCEEDED])
        insert_rows(
            Attempt,
            ATTEMPT_COLUMNS,
            [_attempt_row(e, versions[e["id"]]) for e in live if e.get("outcome")],
            ignore_conflicts=True,
        )
        # The hot path: every success in one statement.
        update_versioned(
            constants={
                "status": JobStatus.SUCCEEDED,
                "error": "",
                "traceback": "",
                "updated_at": timezone.now(),
            },
            columns=SUCCESS_COLUMNS,
            rows=[_success_row(e) for e in succeeded],
        )
        for entry in live:
            if entry["status"] != JobStatus.SUCCEEDED:
                Job.objects.filter(pk=entry["id"], version__lt=entry["v"]).update(
                    **_job_fields(entry)
                )
    return [
        (raw, e["id"], str(e["v"]) if e["status"] in _FORGET_IN_REDIS else "") for e, raw in entries
    ]


def record_refused(worker_id: str, outcomes: list[Outcome]) -> int:
    """Record attempts whose result Redis refused as stale, unless their number already
    has a row (a lease the watchdog expired, a timeout, a cancel: those wrote it). A run
    the database never saw start (Redis lost its data between the claim and the running
    mark) is otherwise missing from the job's history. Returns the rows inserted."""
    jobs = {o.id for o in outcomes if o.attempt > 0}
    if not jobs:
        return 0
    alive = {str(pk) for pk in Job.objects.filter(pk__in=jobs).values_list("pk", flat=True)}
    rows = [
        [
            uuid.UUID(o.id),
            o.attempt,
            worker_id,
            AttemptOutcome.LEASE_EXPIRED,
            f"lease lost before the result was reported; its {o.outcome} result was refused",
            "",
            from_ms(o.started_ms),
            from_ms(o.finished_ms),
            o.run,
        ]
        for o in outcomes
        if o.id in alive and o.attempt > 0
    ]
    return insert_rows(Attempt, ATTEMPT_COLUMNS, rows, ignore_conflicts=True)


def apply_and_settle(broker: Broker, raw_entries: list[str]) -> int:
    settled = apply(raw_entries)
    broker.settle(settled)
    return len(settled)


SUCCESS_COLUMNS = [
    "id",
    "version",
    "attempts",
    "attempt_limit",
    "started_at",
    "finished_at",
    "result",
]


def _latest_successes(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per job (the newest): an UPDATE ... FROM with two rows for one job would
    apply either of them."""
    latest: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e["id"] not in latest or e["v"] > latest[e["id"]]["v"]:
            latest[e["id"]] = e
    return list(latest.values())


def _success_row(e: dict[str, Any]) -> list[Any]:
    result = e.get("result")
    return [
        uuid.UUID(e["id"]),
        e["v"],
        e["attempt"],
        e["limit"],
        from_ms(e.get("started")),
        from_ms(e.get("finished")),
        None if result in (None, "null") else result,
    ]


def _order(pair: tuple[dict[str, Any], str]) -> tuple[str, int]:
    entry = pair[0]
    return entry["id"], int(entry["v"])


ATTEMPT_COLUMNS = [
    "job_id",
    "number",
    "worker_id",
    "outcome",
    "error",
    "traceback",
    "started_at",
    "finished_at",
    "run",
]


def _attempt_row(e: dict[str, Any], job_version: int) -> list[Any]:
    outcome, error = e["outcome"], e.get("error") or ""
    if outcome == AttemptOutcome.SUCCEEDED and e["v"] // VERSION_STEP < job_version // VERSION_STEP:
        # From before a rebuild that dispatched the job again: that rerun's outcome is
        # the job's one recorded outcome, so this one is recorded as lost.
        outcome, error = AttemptOutcome.LEASE_EXPIRED, LOST_WITH_REDIS
    return [
        uuid.UUID(e["id"]),
        e.get("attempt") or 0,
        e.get("worker") or "",
        outcome,
        error,
        e.get("tb") or "",
        from_ms(e.get("started")),
        from_ms(e.get("finished")),
        e.get("run") or 1,
    ]


def _job_fields(e: dict[str, Any]) -> dict[str, Any]:
    status = e["status"]
    fields: dict[str, Any] = {"status": status, "version": e["v"], "updated_at": timezone.now()}
    if e.get("attempt") is not None:
        fields["attempts"] = e["attempt"]
    if e.get("limit") is not None:
        fields["attempt_limit"] = e["limit"]
    if e.get("run") is not None:
        fields["run"] = e["run"]
    if e.get("run_base") is not None:
        fields["run_base"] = e["run_base"]
    if e.get("outcome") and e.get("started"):
        fields["started_at"] = from_ms(e["started"])  # the latest attempt's start
    if status == JobStatus.SUCCEEDED:
        fields.update(
            result=json.loads(e["result"]),
            error="",
            traceback="",
            finished_at=from_ms(e.get("finished")),
        )
    elif status == JobStatus.RETRYING:
        fields.update(
            error=e.get("error") or "",
            traceback=e.get("tb") or "",
            scheduled_at=from_ms(e.get("due")),
        )
    elif status == JobStatus.DEAD:
        fields.update(
            error=e.get("error") or "",
            traceback=e.get("tb") or "",
            finished_at=from_ms(e.get("at")),
        )
    elif status == JobStatus.QUEUED:
        fields.update(finished_at=None, scheduled_at=None)
        if e.get("error"):
            fields["error"] = e["error"]
    elif status == JobStatus.CANCELLED:
        fields["finished_at"] = from_ms(e.get("at"))
    return fields
