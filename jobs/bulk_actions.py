"""Acting on many jobs at once: retry, run now, replay, cancel or delete everything a
filter (or a selection) matches, after a preview, in chunks.

Each chunk is its own round trip and its own short transaction, so a filter matching a
million rows never holds one huge transaction or one long Redis script. A run acts on at
most the number its preview showed (jobs matching later are left for the next one), and
writes one audit entry with the count it changed, also when it stopped half-way.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import redis
from django.db import DatabaseError, OperationalError
from django.db.models import Q, QuerySet

from jobs import audit, events, outbox, selectors, services
from jobs.broker.client import Broker
from jobs.errors import InvalidInput, InvalidTransition, StoreUnavailable
from jobs.models import Job
from jobs.selectors import ERROR_CLASS_CHARS, JobSearch
from jobs.states import JobStatus

logger = logging.getLogger("queuey.bulk_actions")

CHUNK = 500
# Between chunks of a run: a replay of 100,000 dead jobs reaches the queues over ~10 s
# rather than at once, so the workers' first claims meet the jobs already waiting too.
PAUSE_SECONDS = 0.05
SAMPLE = 10
MAX_SELECTION = 200
S = JobStatus


@dataclass(frozen=True)
class Target:
    """What to act on: the jobs `search` matches, narrowed to the selected ids when
    `job_ids` is given, and to one dead-letter error class when `error_class` is."""

    search: JobSearch = field(default_factory=JobSearch)
    job_ids: tuple[uuid.UUID, ...] | None = None
    error_class: str | None = None

    def describe(self) -> dict:
        """The target as JSON for the audit entry's params."""
        found = {k: v for k, v in vars(self.search).items() if v is not None}
        # Dates and UUIDs as text; the payload value (any JSON scalar) as it is.
        params: dict[str, object] = {
            k: v if isinstance(v, str | int | float | bool) else str(v) for k, v in found.items()
        }
        if self.job_ids is not None:
            params["ids"] = [str(i) for i in self.job_ids]
        if self.error_class is not None:
            params["error_class"] = self.error_class
        return params


@dataclass(frozen=True)
class Preview:
    count: int
    sample: list[dict]
    running: int  # matched but refused (delete): running jobs must be cancelled first


@dataclass(frozen=True)
class Done:
    changed: int
    skipped: int


@dataclass(frozen=True)
class Action:
    statuses: frozenset[str]
    apply: Callable[[list[str]], int]  # acts on one chunk of ids; returns how many changed
    audit_name: str


def preview(*, action: str, target: Target) -> Preview:
    """How many jobs the action would change and the newest few of them; changes nothing."""
    matching = _matching(target)
    eligible = matching.filter(status__in=_action(action).statuses)
    fields = ("id", "type", "queue", "status", "error", "created_at", "finished_at")
    try:
        running = matching.filter(status=S.RUNNING).count() if action == "delete" else 0
        return Preview(eligible.count(), list(eligible.values(*fields)[:SAMPLE]), running)
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc


def run(
    *,
    action: str,
    target: Target,
    expected: int,
    actor: audit.Actor,
    via: str,
    chunk_size: int | None = None,
    pause_seconds: float | None = None,
    audit_name: str | None = None,
) -> Done:
    """Act on at most `expected` eligible jobs, newest first, `chunk_size` at a time;
    `pause_seconds` between chunks spreads a big replay out for the workers."""
    spec = _action(action)
    # Read at call time, so a test (or an operator's setting) can make chunks small.
    chunk_size = chunk_size or CHUNK
    pause_seconds = PAUSE_SECONDS if pause_seconds is None else pause_seconds
    eligible = _matching(target).filter(status__in=spec.statuses)
    changed = seen = 0
    try:
        for ids in _chunks(eligible, expected, chunk_size):
            changed += spec.apply(ids)
            seen += len(ids)
            if pause_seconds and seen < expected:
                time.sleep(pause_seconds)
    finally:
        audit.record(
            actor=actor,
            via=via,
            action=audit_name or spec.audit_name,
            count=changed,
            target=_summary(target),
            params={**target.describe(), "expected": expected, "seen": seen},
        )
    return Done(changed=changed, skipped=seen - changed)


def _chunks(eligible: QuerySet[Job], limit: int, size: int) -> Iterator[list[str]]:
    """Ids in keyset chunks by id, newest first: a chunk acted on may leave the eligible
    set (or not, for a refused job), so the cursor, not the set, moves on."""
    last: uuid.UUID | None = None
    remaining = limit
    while remaining > 0:
        page = eligible.filter(id__lt=last) if last is not None else eligible
        ids = list(page.values_list("id", flat=True)[: min(size, remaining)])
        if not ids:
            return
        last, remaining = ids[-1], remaining - len(ids)
        yield [str(i) for i in ids]


def _matching(target: Target) -> QuerySet[Job]:
    jobs = selectors.jobs_matching(target.search)
    if target.job_ids is not None:
        if not 1 <= len(target.job_ids) <= MAX_SELECTION:
            raise InvalidInput(f"select from 1 to {MAX_SELECTION} jobs", field="ids")  # nosec B608  # a message, not SQL
        jobs = jobs.filter(pk__in=target.job_ids)
    if target.error_class:
        jobs = jobs.filter(_of_error_class(target.error_class))
    return jobs


def _of_error_class(name: str) -> Q:
    """The dead-letter groups' error class (selectors.dead_letter_groups): the text
    before the first ": ", or the first ERROR_CLASS_CHARS characters of an error
    without one."""
    whole = Q(error=name) | Q(error__startswith=f"{name}: ")
    if len(name) == ERROR_CLASS_CHARS:
        whole |= Q(error__startswith=name)
    return whole


def _summary(target: Target) -> str:
    if target.job_ids is not None:
        return f"{len(target.job_ids)} selected job(s)"
    described = {k: v for k, v in target.describe().items() if k != "ids"}
    return ", ".join(f"{k}={v}" for k, v in described.items()) or "all jobs"


# --- what one chunk does ----------------------------------------------------------------
def _move_now(ids: list[str]) -> int:
    """Retry, run now, replay: onto the back of their queues (RPUSH), so a big replay
    queues behind the work already waiting instead of jumping it."""
    broker = _broker()
    try:
        moved = broker.move_to_queue(ids)
    except redis.RedisError as exc:
        raise StoreUnavailable("the queue broker is unavailable; retry shortly") from exc
    _apply(broker, moved)
    events.jobs_replayed(outbox.decode(moved))
    return len(moved)


def _cancel(ids: list[str]) -> int:
    """One by one through services.cancel_job: it also cancels what Redis never held."""
    changed = 0
    for job_id in ids:
        try:
            services.cancel_job(job_id=job_id)
            changed += 1
        except InvalidTransition:  # finished since the chunk was read
            continue
    return changed


def _delete(ids: list[str]) -> int:
    """Redis first (a tombstone each, running jobs refused), then the rows with their
    attempts and dedupe keys. A job claimed since the chunk was read stays."""
    try:
        refused = set(_broker().delete_jobs(ids))
    except redis.RedisError as exc:
        raise StoreUnavailable("the queue broker is unavailable; retry shortly") from exc
    gone = [i for i in ids if i not in refused]
    try:
        _, per_model = Job.objects.filter(pk__in=gone).exclude(status=S.RUNNING).delete()
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    return per_model.get(Job._meta.label, 0)


def _apply(broker: Broker, entries: list[str]) -> None:
    """As services do: write now; if that fails the entries wait in the outbox for the
    watchdog, so the moved jobs still reach the database."""
    try:
        outbox.apply_and_settle(broker, entries)
    except (DatabaseError, redis.RedisError) as exc:
        logger.warning("queuey.outbox_deferred entries=%d error=%s", len(entries), exc)


def _broker() -> Broker:
    try:
        return Broker()
    except redis.RedisError as exc:
        raise StoreUnavailable("the queue broker is unavailable; retry shortly") from exc


ACTIONS: dict[str, Action] = {
    "retry": Action(frozenset({S.DEAD, S.RETRYING, S.SCHEDULED}), _move_now, "job.retry"),
    "run_now": Action(frozenset({S.SCHEDULED, S.RETRYING}), _move_now, "job.run_now"),
    "replay": Action(frozenset({S.DEAD}), _move_now, "dlq.replay"),
    "cancel": Action(frozenset(set(S) - {S.SUCCEEDED, S.CANCELLED}), _cancel, "job.cancel"),
    "delete": Action(frozenset(set(S) - {S.RUNNING}), _delete, "job.delete"),
}


def _action(name: str) -> Action:
    if name not in ACTIONS:
        raise InvalidInput(f"unknown action; valid: {', '.join(ACTIONS)}", field="action")
    return ACTIONS[name]
