"""Reads. Database reads keep answering while Redis is down; Redis reads say so."""

from __future__ import annotations

import base64
import functools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from django.db import OperationalError, connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    F,
    Func,
    Min,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Concat, StrIndex, Substr, TruncMinute, Upper
from django.utils import timezone

from jobs import conf
from jobs.broker.client import Broker
from jobs.errors import InvalidInput, JobNotFound, StoreUnavailable
from jobs.ids import first_id_at, parse_job_id
from jobs.models import ApiKey, Attempt, Job
from jobs.paging import keyset_page
from jobs.states import AttemptOutcome, JobStatus

MAX_PAGE = 200


@dataclass(frozen=True)
class JobPage:
    jobs: list[Job]
    next_cursor: str | None


def get_job(*, job_id: str) -> Job:
    parsed = parse_job_id(job_id)
    if parsed is None:
        raise JobNotFound("no job with this id", field="id")
    try:
        job = Job.objects.prefetch_related("attempt_records").filter(pk=parsed).first()
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    if job is None:
        raise JobNotFound("no job with this id", field="id")
    return job


def runs_of(job: Job) -> list[dict]:
    """The job's attempts grouped by run: the submit is run 1, each replay or manual
    retry starts the next with a fresh budget of max_attempts. Uses the prefetched
    attempt rows (get_job)."""
    numbers: dict[int, list[int]] = {run: [] for run in range(1, job.run + 1)}
    for attempt in job.attempt_records.all():
        numbers.setdefault(attempt.run, []).append(attempt.number)
    return [
        {"run": run, "max_attempts": job.max_attempts, "attempts": sorted(found)}
        for run, found in sorted(numbers.items())
    ]


def list_jobs(
    *,
    status: str | None = None,
    type: str | None = None,
    queue: str | None = None,
    dedupe_key: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> JobPage:
    """Newest first; the cursor is the last id seen (ids sort by creation time)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}", field="limit")
    jobs = Job.objects.order_by("-id")
    if status is not None:
        if status not in JobStatus.values:
            raise InvalidInput(
                f"unknown status; valid: {', '.join(JobStatus.values)}", field="status"
            )
        jobs = jobs.filter(status=status)
    if queue is not None:
        if queue not in conf.QUEUES:
            raise InvalidInput(f"unknown queue; valid: {', '.join(conf.QUEUES)}", field="queue")
        jobs = jobs.filter(queue=queue)
    if type is not None:
        jobs = jobs.filter(type=type)
    if dedupe_key is not None:
        jobs = jobs.filter(dedupe_key=dedupe_key)
    page, last = keyset_page(jobs, below=decode_cursor(cursor) if cursor else None, limit=limit)
    return JobPage(page, encode_cursor(last) if last is not None else None)


def encode_cursor(job_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(job_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (ValueError, TypeError):
        raise InvalidInput("cursor is not one this API issued", field="cursor") from None


def queue_stats() -> dict:
    """Lengths of every queue and place, and the age of the oldest waiting job."""
    try:
        broker = Broker()
        lengths = broker.lengths()
        heads = broker.oldest_waiting()
        now_ms = broker.now_ms()
        created_ms = broker.created_ms([job_id for job_id in heads.values() if job_id])
        created = {q: created_ms.get(job_id) if job_id else None for q, job_id in heads.items()}
    except redis.RedisError as exc:
        raise StoreUnavailable("the queue broker is unavailable; retry shortly") from exc
    return {
        "high": lengths.high,
        "default": lengths.default,
        "low": lengths.low,
        "scheduled": lengths.scheduled,
        "running": lengths.running,
        "dlq": lengths.dlq,
        "oldest_age_seconds": {
            q: (max(0, now_ms - int(ms)) / 1000 if ms else None) for q, ms in created.items()
        },
    }


def list_workers() -> list[dict]:
    try:
        return Broker().workers()
    except redis.RedisError as exc:
        raise StoreUnavailable("the queue broker is unavailable; retry shortly") from exc


def broker_available() -> bool:
    """Whether Redis answers now (the dashboard's banner); never raises."""
    try:
        Broker().now_ms()
    except redis.RedisError:
        return False
    return True


# --- overview and search reads (plain data; the dashboard renders them) -----------------
# Past this many jobs a state's count in one queue shows as "1,000+" (the overview), as
# the jobs page's count does: 21 counts of up to 1,001 index entries each.
COUNT_CAP = 1_000


def job_counts(*, cap: int | None = None) -> dict:
    """Jobs by state, overall and per queue, each (state, queue) counted up to `cap`, in
    one query: per pair a COUNT over at most cap + 1 entries of the (status, queue) index,
    gathered by a GROUP BY. It reads at most states x queues x (cap + 1) index entries
    however big the table is; a plain GROUP BY read every row (1,000,000 of them in the
    dashboard benchmark). `capped_status` / `capped_queue` say which counts are "at
    least"; `cap` is COUNT_CAP unless given."""
    cap = COUNT_CAP if cap is None else cap
    by_status = dict.fromkeys(JobStatus.values, 0)
    by_queue = {q: dict.fromkeys(JobStatus.values, 0) for q in conf.QUEUES}
    capped_queue = {q: dict.fromkeys(JobStatus.values, False) for q in conf.QUEUES}
    quote = connection.ops.quote_name
    table = quote(Job._meta.db_table)
    status_col = quote(str(Job._meta.get_field("status").column))
    queue_col = quote(str(Job._meta.get_field("queue").column))
    id_col = quote(str(Job._meta.get_field("id").column))
    arms: list[str] = []
    params: list[str] = []
    for status in JobStatus.values:
        for queue in conf.QUEUES:
            arms.append(
                "SELECT CAST(%s AS VARCHAR(16)) AS s, CAST(%s AS VARCHAR(16)) AS q, "  # noqa: S608  # nosec B608  # identifiers from the model, quoted; values are parameters
                f"(SELECT COUNT(*) FROM (SELECT 1 AS one FROM {table} "
                f"WHERE {status_col} = %s AND {queue_col} = %s "
                # In the index's order: a scan that stops at the limit, never a bitmap of
                # every match (PostgreSQL's choice when the visibility map lags).
                f"ORDER BY {id_col} DESC LIMIT {int(cap) + 1}) "
                f"AS a{len(arms)}) AS n"
            )
            params += [status, queue, status, queue]
    sql = f"SELECT s, q, SUM(n) FROM ({' UNION ALL '.join(arms)}) AS capped GROUP BY s, q"  # noqa: S608  # nosec B608  # the arms above
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchall()
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    for status, queue, n in found:
        over = n > cap
        by_queue[queue][status] = min(n, cap)
        capped_queue[queue][status] = over
        by_status[status] += min(n, cap)
    capped_status = {s: any(capped_queue[q][s] for q in conf.QUEUES) for s in JobStatus.values}
    return {
        "by_status": by_status,
        "by_queue": by_queue,
        "total": sum(by_status.values()),
        "cap": cap,
        "capped": any(capped_status.values()),
        "capped_status": capped_status,
        "capped_queue": capped_queue,
    }


# An attempt counts as failed when it ended without a result through no one's choice; a
# cancelled attempt was an operator's decision and counts as neither.
FAILED_OUTCOMES = (
    AttemptOutcome.FAILED,
    AttemptOutcome.TIMEOUT,
    AttemptOutcome.LEASE_EXPIRED,
    AttemptOutcome.INTERRUPTED,
)


def _finish_minute() -> Func:
    """The minute an attempt finished, to group by. On SQLite the first 16 characters of
    the stored value ("YYYY-MM-DD HH:MM": Django stores aware datetimes there as UTC
    text): TruncMinute calls a Python function per row there, 33 ms for one hour's 4,000
    attempts in the dashboard benchmark."""
    if connection.vendor == "sqlite":
        return Substr("finished_at", 1, 16)
    return TruncMinute("finished_at")


def outcomes_per_minute(*, minutes: int = 60, now: datetime | None = None) -> dict:
    """Finished attempts per minute over the last `minutes` (the current minute last),
    from the attempt rows: succeeded, and failed (FAILED_OUTCOMES). Grouped in the
    database, so the cost does not grow with the rows sent back."""
    end = (now or timezone.now()).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    rows = (
        Attempt.objects.filter(finished_at__gte=start, finished_at__lt=end)
        .filter(outcome__in=[AttemptOutcome.SUCCEEDED, *FAILED_OUTCOMES])
        .annotate(minute=_finish_minute())
        .order_by()
        .values_list("minute", "outcome")
        .annotate(n=Count("id"))
    )
    succeeded, failed = [0] * minutes, [0] * minutes
    try:
        found = list(rows)
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    for minute, outcome, n in found:
        if isinstance(minute, str):  # SQLite's "YYYY-MM-DD HH:MM" (_finish_minute)
            minute = datetime.fromisoformat(minute).replace(tzinfo=UTC)
        index = int((minute - start).total_seconds() // 60)
        if 0 <= index < minutes:
            series = succeeded if outcome == AttemptOutcome.SUCCEEDED else failed
            series[index] += n
    done, lost = sum(succeeded), sum(failed)
    return {
        "start": start,
        "minutes": minutes,
        "succeeded": succeeded,
        "failed": failed,
        "total_succeeded": done,
        "total_failed": lost,
        "failure_rate": lost / (done + lost) if done + lost else None,
    }


@dataclass(frozen=True)
class JobSearch:
    """What the jobs page filters on; None means "any"."""

    status: str | None = None
    type: str | None = None
    queue: str | None = None
    job_id: uuid.UUID | None = None
    dedupe_key: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    finished_from: datetime | None = None
    finished_to: datetime | None = None
    error_contains: str | None = None
    # A top-level payload key equal to a JSON value (jsonb on PostgreSQL, json_extract on
    # SQLite); both or neither.
    payload_key: str | None = None
    payload_value: object = None


@dataclass(frozen=True)
class JobRowPage:
    rows: list[dict]
    next_cursor: str | None
    matched: int  # how many rows match, counted up to count_cap + 1
    capped: bool  # more than count_cap match
    # A bounded scan (SCAN_ROWS): how many jobs this page examined, newest first, and
    # which ("jobs", "jobs with an error"), the creation time of the oldest of them,
    # and the cursor that searches on below it (when the page did not fill; a full
    # page continues by next_cursor). scanned is None when the search was exhaustive.
    scanned: int | None = None
    scan_of: str = "jobs"
    searched_back_to: datetime | None = None
    search_further: str | None = None


# Listed columns only: a row never loads the payload, result or traceback.
JOB_ROW_FIELDS = (
    "id",
    "type",
    "queue",
    "status",
    "attempts",
    "run_base",
    "max_attempts",
    "dedupe_key",
    "error",
    "created_at",
    "finished_at",
)


# Filters that no index answers on a backend (a payload field on SQLite, error text where
# there is no trigram index) are searched in windows: a page examines at most SCAN_ROWS
# rows, newest first below its cursor, of the index the filter walks (the jobs that
# have an error, for the error text; else every job), and when that does not fill it, it
# shows what it found and where it stopped, with a cursor to search further (as big log
# search tools do). Every page then costs about the same, whatever the table's size and
# however rare the match, a search that matches nothing included. Where an index does
# answer (a payload containment or a trigram index on PostgreSQL), the window is only
# the first try: a page it fills costs no more than a window (a common value, whose
# index scan would read every match), and one it does not fill is asked again of the
# index, which is quick for a value that rare (benchmarks/dashboard.py).
SCAN_ROWS = 10_000


def search_jobs(
    *, search: JobSearch, cursor: str | None = None, limit: int = 50, count_cap: int = 1000
) -> JobRowPage:
    """Newest first, keyset-paginated by id like list_jobs; the count is bounded (a
    COUNT over a LIMIT subquery), never a COUNT(*) over the table; a search with a
    filter no index answers is a bounded scan (SCAN_ROWS)."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}", field="limit")
    matching = _searched(search)
    below = decode_cursor(cursor) if cursor else None
    try:
        if _residual(search):
            windowed = _windowed_page(search, below=below, limit=limit, count_cap=count_cap)
            if windowed is not None and (windowed.next_cursor or not _indexed(search)):
                return windowed
        return _page(search, matching, below=below, limit=limit, count_cap=count_cap)
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc


def _page(
    search: JobSearch,
    matching: QuerySet[Job],
    *,
    below: uuid.UUID | None,
    limit: int,
    count_cap: int,
) -> JobRowPage:
    page_rows = _searched(search, walk=True) if _walked(search) else matching
    if below:
        page_rows = page_rows.filter(id__lt=below)
    rows = list(page_rows.values(*JOB_ROW_FIELDS)[: limit + 1])
    matched = _bounded(matching).values("id")[: count_cap + 1].count()
    rows, next_cursor = _trimmed(rows, limit)
    return JobRowPage(rows, next_cursor, min(matched, count_cap), matched > count_cap)


def _windowed_page(
    search: JobSearch, *, below: uuid.UUID | None, limit: int, count_cap: int
) -> JobRowPage | None:
    """The page from the SCAN_ROWS jobs (with an error, when the search is for error
    text) below `below` only; None when fewer than that are left (then the whole rest is
    searched, as without a window)."""
    newest = Job.objects.order_by("-id")
    if search.error_contains:  # the partial index of the jobs with an error (0004)
        newest = newest.filter(_has_error())
    if below is not None:
        newest = newest.filter(id__lt=below)
    # The lowest id of the window (as text, which sorts as the UUIDs do: PostgreSQL has
    # no min(uuid)), read from the primary key alone.
    window = newest.values("id")[:SCAN_ROWS].aggregate(
        floor=Min(Cast("id", output_field=TextField())), n=Count("id")
    )
    if window["n"] < SCAN_ROWS:
        return None
    floor = uuid.UUID(window["floor"])
    in_window = _searched(search, windowed=True, walk=_walked(search)).filter(id__gte=floor)
    if below is not None:
        in_window = in_window.filter(id__lt=below)
    rows = list(in_window.values(*JOB_ROW_FIELDS)[: limit + 1])
    if len(rows) > limit:  # a full page: count the rest of the window, up to the cap
        matched = _bounded(in_window).values("id")[: count_cap + 1].count()
    else:
        matched = len(rows)
    rows, next_cursor = _trimmed(rows, limit)
    return JobRowPage(
        rows,
        next_cursor,
        min(matched, count_cap),
        matched > count_cap,
        scanned=SCAN_ROWS,
        scan_of="jobs with an error" if search.error_contains else "jobs",
        searched_back_to=id_time(floor),
        search_further=None if next_cursor else encode_cursor(floor),
    )


def _walked(search: JobSearch) -> bool:
    """Whether the page's rows are to be read by walking the primary key from the id
    bound a finish-time window implies (_id_range) even on SQLite, which, offered the
    finished_at index, reads the whole window through it and sorts it by id: a window
    from 25 days back to 1 day back at 1M jobs, 1.6 s; walked, a few ms, as jobs finish
    soon after they are created. PostgreSQL walks the key by itself."""
    return connection.vendor == "sqlite" and (
        search.finished_from is not None or search.finished_to is not None
    )


def _has_error() -> RawSQL:
    """error <> '' with the empty text in the SQL itself: SQLite reads a partial index
    alone (covering) only when the query states the index's condition, and it cannot
    know that a parameter is ''. The window's floor at 1M jobs: 14 ms to 1 ms."""
    column = connection.ops.quote_name(str(Job._meta.get_field("error").column))
    sql = f"NOT ({column} = '')"  # a column name from the model, no user text
    return RawSQL(sql, [], output_field=BooleanField())  # noqa: S611  # nosec B611


def _trimmed(rows: list[dict], limit: int) -> tuple[list[dict], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:  # what the API calls attempt_count: the current run's attempts
        row["attempt_count"] = max(0, row["attempts"] - row["run_base"])
    return rows, encode_cursor(rows[-1]["id"]) if more and rows else None


def _residual(search: JobSearch) -> bool:
    """Whether the search has a filter that some backend's indexes do not answer: the
    error text or a payload field (the others each have an index, migration 0004)."""
    return bool(search.error_contains) or search.payload_key is not None


def _indexed(search: JobSearch) -> bool:
    """Whether this backend has an index for each of the search's residual filters, so
    that a search the window did not satisfy can be asked of it."""
    if connection.vendor != "postgresql":
        return False
    if search.payload_key is not None and search.payload_value is None:
        return False  # no containment is added for a null (_searched)
    return not search.error_contains or _has_trigram_index()


@functools.cache
def _has_trigram_index() -> bool:
    """Whether migration 0004 could make the trigram index on the error text (it needs
    the pg_trgm extension)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", ["job_error_trgm"])
        return cursor.fetchone() is not None


def id_time(job_id: uuid.UUID) -> datetime:
    """The creation time a job id carries (UUIDv7: its first 48 bits, in ms); past
    datetime's range (not an id Queuey made), its last moment."""
    try:
        return datetime.fromtimestamp((job_id.int >> 80) / 1000, tz=UTC)
    except (OverflowError, ValueError, OSError):
        return datetime.max.replace(tzinfo=UTC)


def _first_id_at(moment: datetime, shift: timedelta) -> uuid.UUID:
    """The smallest UUIDv7 of the millisecond `moment + shift` (ids from then on are not
    below it), within the range a UUIDv7 time can hold."""
    return first_id_at(int(moment.timestamp() * 1000) + int(shift.total_seconds() * 1000))


def _bounded(matching: QuerySet[Job]) -> QuerySet[Job]:
    """The matches to count up to a cap, any of them. On SQLite without the ORDER BY, so
    a filter's own index answers without sorting every match by id first (a created-time
    window at 1M jobs: 21 ms to 0.1 ms); PostgreSQL keeps it, as an ordered index scan
    there stops at the cap where its unordered choice, a bitmap scan, reads every match
    (benchmarks/dashboard.py)."""
    return matching if connection.vendor == "postgresql" else matching.order_by()


# How far a job's id time may be from its created_at: ids are UUIDv7, made beside
# created_at on the submitting host (jobs/submission.py), so the two differ by the clock
# read between them; jobs/ids.py moves an id's millisecond on only past 4,096 ids in one
# millisecond of one process. The margin is for clocks: hosts whose clocks disagree.
ID_CLOCK_MARGIN = timedelta(hours=1)


def _id_range(search: JobSearch) -> Q:
    """The id range a created or finished time window implies (a job finishes after it
    was created), within ID_CLOCK_MARGIN: with it the newest-first walk of the primary
    key starts at the window instead of at the newest job, and stops past its start.
    Without it PostgreSQL walks the key from the newest job and tests every row (a 6 h
    window ten days back at 1M jobs: 71 ms; twenty days back, by finish time: 167 ms)."""
    q = Q()
    if search.created_from is not None:
        q &= Q(id__gte=_first_id_at(search.created_from, -ID_CLOCK_MARGIN))
    upper = [t for t in (search.created_to, search.finished_to) if t is not None]
    if upper:
        q &= Q(id__lt=_first_id_at(min(upper), ID_CLOCK_MARGIN))
    return q


def _searched(search: JobSearch, *, windowed: bool = False, walk: bool = False) -> QuerySet[Job]:
    """The matching jobs, newest first. `windowed`: for a bounded scan's window, whose
    id range is to be walked in order, so on PostgreSQL the error text and payload tests
    take forms its GIN indexes do not answer (a bitmap scan of one of them for a common
    text or value reads every match before the first page: 46 ms for "TimeoutError" at
    1M jobs). `walk`: the finish-time tests in a form no index answers (_walked)."""
    unindexed = windowed and connection.vendor == "postgresql"
    finished = "finished_unindexed" if walk else "finished_at"
    if search.status is not None and search.status not in JobStatus.values:
        raise InvalidInput(f"unknown status; valid: {', '.join(JobStatus.values)}", field="status")
    if search.queue is not None and search.queue not in conf.QUEUES:
        raise InvalidInput(f"unknown queue; valid: {', '.join(conf.QUEUES)}", field="queue")
    exact = {
        "status": search.status,
        "queue": search.queue,
        "type": search.type,
        "pk": search.job_id,
        "dedupe_key": search.dedupe_key,
        "created_at__gte": search.created_from,
        "created_at__lt": search.created_to,
        f"{finished}__gte": search.finished_from,
        f"{finished}__lt": search.finished_to,
        "error__icontains": None if unindexed else search.error_contains,
    }
    jobs = Job.objects.order_by("-id")
    if walk:  # SQLite's unary + (a no-op on any value) keeps a term off every index (_walked)
        jobs = jobs.alias(
            finished_unindexed=Func(
                F("finished_at"), template="+%(expressions)s", output_field=DateTimeField()
            )
        )
    jobs = jobs.filter(**{k: v for k, v in exact.items() if v is not None})
    jobs = jobs.filter(_id_range(search))
    if search.error_contains:
        # Implied by a non-empty text, and the condition of the index of the
        # jobs that have an error (migration 0004): only those are read.
        jobs = jobs.exclude(error="")
        if unindexed:  # UPPER(error) LIKE as icontains, but not the trigram index's UPPER(error)
            jobs = jobs.alias(
                error_upper=Upper(Concat("error", Value(""), output_field=TextField()))
            ).filter(error_upper__contains=Upper(Value(search.error_contains)))
    if search.payload_key is not None:
        # KeyTransform takes the key as one name (never split on "__" or "."), quoted by
        # the backend, so user text cannot reach the SQL or the JSON path unescaped.
        jobs = jobs.alias(payload_field=KeyTransform(search.payload_key, "payload")).filter(
            payload_field=search.payload_value
        )
        contained = connection.vendor == "postgresql" and search.payload_value is not None
        if contained and not unindexed:
            # Implied by key = scalar value, and what the GIN index answers (0004).
            jobs = jobs.filter(payload__contains={search.payload_key: search.payload_value})
    return jobs


def attempt_timeline(job: Job) -> list[dict]:
    """The job's attempts grouped by run (runs_of), newest run first, each attempt as
    plain data. Uses the prefetched attempt rows (get_job)."""
    by_number = {a.number: a for a in job.attempt_records.all()}
    runs = [
        {
            "run": run["run"],
            "max_attempts": run["max_attempts"],
            "current": run["run"] == job.run,
            "attempts": [_attempt_row(by_number[n]) for n in run["attempts"]],
        }
        for run in runs_of(job)
    ]
    return runs[::-1]


def _attempt_row(attempt: Attempt) -> dict:
    # Worker ids are host:pid:random (workers/worker.py); anything else is shown whole.
    parts = attempt.worker_id.rsplit(":", 2)
    host, pid = (parts[0], parts[1]) if len(parts) == 3 else (attempt.worker_id, "")
    started, finished = attempt.started_at, attempt.finished_at
    return {
        "number": attempt.number,
        "worker_id": attempt.worker_id,
        "host": host,
        "pid": pid,
        "outcome": attempt.outcome,
        "error": attempt.error,
        "traceback": attempt.traceback,
        "started_at": attempt.started_at,
        "finished_at": attempt.finished_at,
        "duration_seconds": (
            (finished - started).total_seconds() if started and finished else None
        ),
    }


# Errors read "ExceptionClass: message" (workers/execution.py); a class name is short.
ERROR_CLASS_CHARS = 120


# The dead letters page groups the newest DEAD_SAMPLE dead jobs (and says so when there
# are more): the groups show why jobs die now, and the page costs the same with 20,000
# dead jobs (145 ms on SQLite for a GROUP BY over all of them at 1M jobs) or 2,000,000.
DEAD_SAMPLE = 1_000
DEAD_COUNT_CAP = 10_000


def dead_letter_groups(*, limit: int = 100, sample: int | None = None) -> list[dict]:
    """The newest `sample` dead jobs (DEAD_SAMPLE unless given) by type and error class
    (the text before the first ": "), biggest group first: one range of the status
    index, newest first, the class cut in SQL, grouped here."""
    error_class = Case(
        When(colon__gt=0, then=Substr("error", 1, F("colon") - 1)),
        default=Substr("error", 1, ERROR_CLASS_CHARS),
    )
    newest = (
        Job.objects.filter(status=JobStatus.DEAD)
        .order_by("-id")
        .annotate(colon=StrIndex("error", Value(": ")))
        .annotate(error_class=error_class)
        .values_list("type", "error_class", "finished_at")
    )
    groups: dict[tuple[str, str], dict] = {}
    try:
        found = list(newest[: DEAD_SAMPLE if sample is None else sample])
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    for type_, cls, died in found:
        key = (type_, cls[:ERROR_CLASS_CHARS])
        group = groups.setdefault(
            key, {"type": key[0], "error_class": key[1], "count": 0, "last_died": None}
        )
        group["count"] += 1
        if died is not None and (group["last_died"] is None or died > group["last_died"]):
            group["last_died"] = died
    ordered = sorted(groups.values(), key=lambda g: (-g["count"], g["type"], g["error_class"]))
    return ordered[:limit]


def dead_job_count(*, cap: int | None = None) -> tuple[int, bool]:
    """How many jobs are dead, counted up to `cap` (DEAD_COUNT_CAP unless given) over
    the status index, and whether there are more."""
    cap = DEAD_COUNT_CAP if cap is None else cap
    dead = Job.objects.filter(status=JobStatus.DEAD).order_by("-id").values("id")
    try:
        n = dead[: cap + 1].count()
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    return min(n, cap), n > cap


# --- operations pages: the matching queryset, waiting jobs, queues, workers, keys -------
def jobs_matching(search: JobSearch) -> QuerySet[Job]:
    """The jobs a search matches, newest first, for the services that act on all of them
    (jobs/bulk_actions.py); validates the search as search_jobs does."""
    return _searched(search)


WAITING_FIELDS = ("id", "type", "queue", "status", "attempts", "run_base", "max_attempts")


def waiting_jobs(*, limit: int = 100, cursor: str | None = None) -> dict:
    """Scheduled and retrying jobs, soonest due first, keyset-paginated by (due, id) from
    `cursor` (the last row of the previous page), and how many wait (bounded). Each
    state is read apart, in the order of its range of the (status, scheduled_at, id)
    index (migration 0006), and the two merged here: SQLite does not use a partial
    index for `status IN (...)` given as parameters, and sorted every waiting job (84 ms
    at 1M jobs, 25,000 of them waiting)."""
    after = Q()
    if cursor:
        due, last_id = _decode_due_cursor(cursor)
        # scheduled_at >= due bounds the index range; the OR drops what the last page
        # showed of that same instant.
        after = Q(scheduled_at__gte=due) & (Q(scheduled_at__gt=due) | Q(id__gt=last_id))
    waiting = Job.objects.filter(status__in=[JobStatus.SCHEDULED, JobStatus.RETRYING])
    columns = (*WAITING_FIELDS, "scheduled_at", "error")
    try:
        rows = [
            row
            for status in (JobStatus.SCHEDULED, JobStatus.RETRYING)
            for row in Job.objects.filter(after, status=status)
            .order_by("scheduled_at", "id")
            .values(*columns)[: limit + 1]
        ]
        total = waiting.values("id")[: 10 * limit + 1].count()
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    rows = sorted(rows, key=_due_order)
    more, rows = len(rows) > limit, rows[:limit]
    for row in rows:
        row["attempt_count"] = max(0, row["attempts"] - row["run_base"])
    # A waiting job without a due time (none is written so) has no place to continue
    # from: the pages end there.
    last = rows[-1] if more and rows and rows[-1]["scheduled_at"] is not None else None
    return {
        "rows": rows,
        "total": min(total, 10 * limit),
        "capped": total > 10 * limit,
        "next_cursor": _encode_due_cursor(last["scheduled_at"], last["id"]) if last else None,
    }


def _encode_due_cursor(due: datetime, job_id: uuid.UUID) -> str:
    raw = f"{due.astimezone(UTC).isoformat()}|{job_id.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_due_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        due, job_id = raw.split("|")
        moment = datetime.fromisoformat(due)
        if moment.tzinfo is None:
            raise ValueError("a due time carries its offset")
        return moment, uuid.UUID(hex=job_id)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput("cursor is not one this page issued", field="cursor") from None


def _due_order(row: dict) -> tuple[bool, datetime, str]:
    due = row["scheduled_at"]
    return (due is not None, due or datetime.min.replace(tzinfo=UTC), str(row["id"]))


def throughput_by_queue(*, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Attempts finished per queue in the last minute and the last hour (any outcome),
    from the attempt rows: one GROUP BY over the hour's attempts."""
    now = now or timezone.now()
    minute_ago = now - timedelta(minutes=1)
    rows = (
        Attempt.objects.filter(finished_at__gte=now - timedelta(hours=1), finished_at__lte=now)
        .order_by()
        .values("job__queue")
        .annotate(hour=Count("id"), minute=Count("id", filter=Q(finished_at__gte=minute_ago)))
    )
    out = {q: {"minute": 0, "hour": 0} for q in conf.QUEUES}
    try:
        for row in rows:
            out[row["job__queue"]] = {"minute": row["minute"], "hour": row["hour"]}
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
    return out


def worker_rows() -> list[dict]:
    """The workers' heartbeats, each flagged `stale` when its last beat is older than two
    heartbeat intervals by Redis's clock (its entry outlives it until the TTL ends)."""
    try:
        broker = Broker()
        workers, now_ms = broker.workers(), broker.now_ms()
    except redis.RedisError as exc:
        raise StoreUnavailable("the queue broker is unavailable; retry shortly") from exc
    stale_ms = 2000 * conf.get("HEARTBEAT_INTERVAL")
    return [
        {**w, "stale": now_ms - w["last_heartbeat_ms"] > stale_ms}
        for w in sorted(workers, key=lambda w: w["id"])
    ]


API_KEY_FIELDS = ("id", "name", "scope", "created_at", "last_used_at", "revoked_at")


def api_keys() -> list[dict]:
    """Every API key but its digest, live ones first, newest first."""
    keys = ApiKey.objects.order_by(F("revoked_at").desc(nulls_first=True), "-id")
    try:
        return list(keys.values(*API_KEY_FIELDS))
    except OperationalError as exc:
        raise StoreUnavailable("the database is unavailable; retry shortly") from exc
