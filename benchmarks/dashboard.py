"""`python -m benchmarks.dashboard` (`make bench-dashboard`): the dashboard's pages at scale.

Fills a database of its own with JOBS job rows (default 1,000,000) and about three attempt
rows per job, then times each page as a logged-in staff user through Django's test
Client (in process: server time, no network), N requests each after a warm-up, and
prints p50 / p95 / max, the SQL statements per request and the access path of each page's
queries. It reports; it never fails on a number.

    DATABASE_URL unset            SQLite, in var/bench-dashboard-<jobs>.sqlite3
    DATABASE_URL=postgres://...   that server, database queuey_bench_dash (created here;
                                  never the URL's own database)

    --jobs N          rows to fill (default 1,000,000; develop at 100,000)
    --requests N      timed requests per page (default 30)
    --explain         print each page's query plans (EXPLAIN ANALYZE on PostgreSQL,
                      EXPLAIN QUERY PLAN on SQLite)
    --refill          fill again even when the database already holds this many jobs

A fill is kept (with its size and seed in table bench_fill) and reused by the next run of
the same size, so indexes can be changed and measured again without a refill: `migrate`
runs at every start, as a deployment would, building new indexes over the rows.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from benchmarks.env import ROOT, BenchRedis
from benchmarks.stats import percentile

SQLITE_DIR = ROOT / "var"
PG_DATABASE = "queuey_bench_dash"
SEED = 12
DAYS = 30
TARGET_MS = {"list": 50.0, "other": 50.0, "detail": 20.0}

TYPES = [  # (name, weight): a few busy types and a long tail
    ("email.send", 30),
    ("webhook.deliver", 20),
    ("image.resize", 12),
    ("report.build", 8),
    ("invoice.render", 6),
    ("search.index", 5),
    ("sms.send", 4),
    ("cache.warm", 3),
    ("billing.charge", 3),
    ("export.csv", 2),
    ("billing.refund", 1),
    ("audit.archive", 1),
    ("pdf.merge", 1),
    ("geo.lookup", 1),
    ("user.purge", 1),
    ("feed.rebuild", 1),
]
QUEUES = [("high", 20), ("default", 60), ("low", 20)]
STATUSES = [  # what a long-running system holds: mostly finished work
    ("succeeded", 900),
    ("cancelled", 25),
    ("dead", 20),
    ("queued", 25),
    ("scheduled", 15),
    ("retrying", 10),
    ("running", 5),
]
ERRORS = [
    ("ValueError", "invalid customer id {n}"),
    ("TimeoutError", "upstream did not answer within 30 s"),
    ("ConnectionError", "connection refused by smtp.example.com:25"),
    ("KeyError", "'template_{n}'"),
    ("PermissionError", "bucket exports-{n} denies write"),
    ("RuntimeError", "render failed at page {n}"),
]
LOST = ["failed", "failed", "timeout", "lease_expired"]
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/workers/execution.py", line 27, in run_attempt\n'
    "    result = spec.func(json.loads(job.payload_json))\n"
    '  File "/app/handlers/{type}.py", line 41, in handle\n'
    "    raise {error_class}({message!r})\n"
    "{error_class}: {message}\n"
)


# --- where -------------------------------------------------------------------------------
def bench_database_url(jobs: int) -> tuple[str, str]:
    """(vendor, URL) of the benchmark's own database, chosen by DATABASE_URL's scheme; on
    SQLite a file per fill size, so a small fill to develop with and the big one coexist."""
    given = os.environ.get("DATABASE_URL", "")
    if given.startswith(("postgres://", "postgresql://", "pgsql://")):
        server = given.rsplit("/", 1)[0] if given.count("/") >= 3 else given
        return "postgresql", f"{server}/{PG_DATABASE}"
    if given and not given.startswith("sqlite:"):
        sys.exit(f"benchmarks.dashboard: DATABASE_URL must be sqlite or postgres, not {given!r}")
    SQLITE_DIR.mkdir(parents=True, exist_ok=True)
    return "sqlite", f"sqlite:///{SQLITE_DIR / f'bench-dashboard-{jobs}.sqlite3'}"


def ensure_pg_database(url: str) -> None:
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        found = conn.execute("select 1 from pg_database where datname = %s", [PG_DATABASE])
        if not found.fetchone():
            conn.execute(f'create database "{PG_DATABASE}"')


# --- fill --------------------------------------------------------------------------------
def _weighted(rng: random.Random, table: list[tuple[str, int]], k: int) -> list[str]:
    return rng.choices([name for name, _ in table], weights=[w for _, w in table], k=k)


def uuid7_at(ms: int, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 for a given millisecond, as jobs.ids makes them (ids sort by creation)."""
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
    return uuid.UUID(int=value)


class Fill:
    """The rows, made deterministically from SEED: jobs oldest first over DAYS days ending
    at `end`, each with 0 to 5 attempts (about 3 on average)."""

    def __init__(self, jobs: int, end: datetime) -> None:
        self.jobs = jobs
        self.end = end
        self.start = end - timedelta(days=DAYS)
        self.rng = random.Random(SEED)
        self.attempt_rows = 0
        self.samples: dict[str, object] = {}

    def rows(self):
        """(job columns, [attempt columns]) per job, as plain Python values."""
        rng = self.rng
        start_ms = int(self.start.timestamp() * 1000)
        step = DAYS * 86_400_000 / self.jobs
        chunk = 10_000
        for base in range(0, self.jobs, chunk):
            n = min(chunk, self.jobs - base)
            types = _weighted(rng, TYPES, n)
            queues = _weighted(rng, QUEUES, n)
            statuses = _weighted(rng, STATUSES, n)
            for k in range(n):
                i = base + k
                yield self._job(i, start_ms + int(i * step), types[k], queues[k], statuses[k])

    def _job(self, i: int, created_ms: int, type_: str, queue: str, status: str):
        rng = self.rng
        created = datetime.fromtimestamp(created_ms / 1000, tz=UTC)
        # 1, 3 or 5 attempts; a dead job used all 5 of its budget, a scheduled one has not
        # run yet (about 3 attempts a job overall).
        tries = {"dead": 5, "scheduled": 0}.get(status, (1, 3, 5)[i % 3])
        max_attempts = max(5, tries)
        error_class, template = ERRORS[rng.randrange(len(ERRORS))]
        message = template.format(n=rng.randrange(1000))
        failed_error = f"{error_class}: {message}"
        traceback = TRACEBACK.format(type=type_, error_class=error_class, message=message)
        attempts = []
        at = created + timedelta(milliseconds=rng.randrange(5, 2000))
        for number in range(1, tries + 1):
            last = number == tries
            if not last:
                outcome = LOST[rng.randrange(len(LOST))]
            else:
                outcome = {"succeeded": "succeeded", "cancelled": "cancelled", "running": ""}.get(
                    status, "failed"
                )
            took = timedelta(milliseconds=rng.randrange(1, 800))
            running = status == "running" and last
            attempts.append(
                (
                    number,
                    f"worker-{rng.randrange(8)}.example:{rng.randrange(100, 60000)}:a1b2c3",
                    outcome or "interrupted",
                    "" if outcome in ("succeeded", "cancelled") or running else failed_error,
                    "" if outcome in ("succeeded", "cancelled") or running else traceback,
                    at,
                    None if running else at + took,
                )
            )
            at = at + took + timedelta(milliseconds=rng.randrange(100, 5000))
        terminal = status in ("succeeded", "dead", "cancelled")
        finished = attempts[-1][6] if attempts and terminal else None
        if status == "cancelled" and not attempts:
            finished = at
        has_error = status in ("dead", "retrying") or (status == "cancelled" and tries > 1)
        job = {
            "id": uuid7_at(created_ms, rng),
            "type": type_,
            "queue": queue,
            "payload": json.dumps({"customer_id": rng.randrange(50_000), "n": i}),
            "status": status,
            "result": json.dumps({"ok": True, "n": i}) if status == "succeeded" else None,
            "error": failed_error if has_error else "",
            "traceback": traceback if has_error else "",
            "attempts": tries,
            "max_attempts": max_attempts,
            "attempt_limit": max_attempts,
            "run": 1,
            "run_base": 0,
            "timeout_seconds": 300.0,
            "dedupe_key": f"order-{i}" if i % 3 == 0 else None,
            "created_at": created,
            "scheduled_at": created + timedelta(hours=2)
            if status in ("scheduled", "retrying")
            else None,
            "started_at": attempts[0][5] if attempts else None,
            "finished_at": finished,
            "updated_at": finished or at,
            "version": tries * 2 + 1,
        }
        self._sample(i, job)
        self.attempt_rows += len(attempts)
        return job, attempts

    def _sample(self, i: int, job: dict) -> None:
        """Values for the filters: taken at fixed places in the fill, so both backends'
        runs ask the same questions."""
        at = i / self.jobs
        s = self.samples
        if job["status"] == "dead" and job["attempts"] == 5 and at >= 0.5 and "detail" not in s:
            s["detail"] = str(job["id"])
        if at >= 0.37 and "id" not in s:
            s["id"] = str(job["id"])
        if at >= 0.61 and job["dedupe_key"] and "dedupe_key" not in s:
            s["dedupe_key"] = job["dedupe_key"]
        if at >= 0.73 and "customer_id" not in s:
            s["customer_id"] = json.loads(job["payload"])["customer_id"]


def fill(vendor: str, jobs: int) -> dict:
    from django.db import connection

    from jobs.models import Attempt, Job

    end = datetime.now(tz=UTC).replace(microsecond=0)
    plan = Fill(jobs, end)
    job_fields = [f for f in Job._meta.concrete_fields]
    attempt_fields = [f for f in Attempt._meta.concrete_fields if not f.primary_key]
    started = time.monotonic()
    with connection.cursor() as cursor:
        if vendor == "postgresql":  # no dead rows left behind for the scans to skip
            cursor.execute(f"TRUNCATE {Attempt._meta.db_table}, {Job._meta.db_table} CASCADE")
        else:
            cursor.execute(f"DELETE FROM {Attempt._meta.db_table}")  # noqa: S608
            cursor.execute(f"DELETE FROM {Job._meta.db_table}")  # noqa: S608
    if vendor == "postgresql":
        _fill_postgres(plan, job_fields, attempt_fields)
    else:
        _fill_sqlite(plan, job_fields, attempt_fields)
    took = time.monotonic() - started
    meta = {
        "jobs": jobs,
        "attempts": plan.attempt_rows,
        "seed": SEED,
        "end": end.isoformat(),
        "fill_seconds": round(took, 1),
        "samples": plan.samples,
    }
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM bench_fill")
        cursor.execute("INSERT INTO bench_fill (meta) VALUES (%s)", [json.dumps(meta)])
    return meta


def _defaults(fields, given: set[str]) -> dict[str, object]:
    """Columns a later migration may add and the fill does not know: their defaults."""
    out = {}
    for f in fields:
        if f.attname in given or f.column in given:
            continue
        out[f.column] = f.get_default()
    return out


JOB_KEYS = [
    "id",
    "type",
    "queue",
    "payload",
    "status",
    "result",
    "error",
    "traceback",
    "attempts",
    "max_attempts",
    "attempt_limit",
    "run",
    "run_base",
    "timeout_seconds",
    "dedupe_key",
    "created_at",
    "scheduled_at",
    "started_at",
    "finished_at",
    "updated_at",
    "version",
]
ATTEMPT_KEYS = ["number", "worker_id", "outcome", "error", "traceback", "started_at", "finished_at"]


def _fill_postgres(plan: Fill, job_fields, attempt_fields) -> None:
    from django.db import connection, transaction

    from jobs.models import Attempt, Job

    extra_job = _defaults(job_fields, set(JOB_KEYS))
    extra_attempt = _defaults(attempt_fields, {"job_id", "run", *ATTEMPT_KEYS})
    job_cols = [*JOB_KEYS, *extra_job]
    attempt_cols = ["job_id", "run", *ATTEMPT_KEYS, *extra_attempt]
    job_extra_values = [_pg_text(v) for v in extra_job.values()]
    attempt_extra_values = [_pg_text(v) for v in extra_attempt.values()]
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own cursor, for COPY
        cursor.execute("SET LOCAL synchronous_commit = off")
        attempts_buffer: list[tuple] = []
        job_sql = f"COPY {Job._meta.db_table} ({', '.join(job_cols)}) FROM STDIN"
        with cursor.copy(job_sql) as copy:
            for job, attempts in plan.rows():
                copy.write_row([*(job[k] for k in JOB_KEYS), *job_extra_values])
                attempts_buffer.extend((job["id"], 1, *a) for a in attempts)
        attempt_sql = f"COPY {Attempt._meta.db_table} ({', '.join(attempt_cols)}) FROM STDIN"
        with cursor.copy(attempt_sql) as copy:
            for row in attempts_buffer:
                copy.write_row([*row, *attempt_extra_values])
        del attempts_buffer


def _pg_text(value: object) -> object:
    return json.dumps(value) if isinstance(value, dict | list) else value


def _fill_sqlite(plan: Fill, job_fields, attempt_fields) -> None:
    from django.db import connection

    from jobs.models import Attempt, Job

    extra_job = _defaults(job_fields, set(JOB_KEYS))
    extra_attempt = _defaults(attempt_fields, {"job_id", "run", *ATTEMPT_KEYS})
    job_cols = [*JOB_KEYS, *extra_job]
    attempt_cols = ["job_id", "run", *ATTEMPT_KEYS, *extra_attempt]
    job_extra = [_sqlite_value(v) for v in extra_job.values()]
    attempt_extra = [_sqlite_value(v) for v in extra_attempt.values()]
    connection.ensure_connection()
    raw = connection.connection  # sqlite3.Connection: executemany in one transaction
    raw.execute("PRAGMA synchronous = OFF")
    raw.execute("PRAGMA cache_size = -262144")
    job_sql = (
        f"INSERT INTO {Job._meta.db_table} ({', '.join(job_cols)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(job_cols))})"
    )
    attempt_sql = (
        f"INSERT INTO {Attempt._meta.db_table} ({', '.join(attempt_cols)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(attempt_cols))})"
    )
    attempts_buffer: list[tuple] = []

    def jobs_rows():
        for job, attempts in plan.rows():
            hex_id = job["id"].hex
            attempts_buffer.extend(
                (hex_id, 1, a[0], a[1], a[2], a[3], a[4], _dt(a[5]), _dt(a[6]), *attempt_extra)
                for a in attempts
            )
            yield (
                hex_id,
                *(job[k] for k in JOB_KEYS[1:15]),
                *(_dt(job[k]) for k in JOB_KEYS[15:20]),
                job["version"],
                *job_extra,
            )

    raw.execute("BEGIN")
    try:
        raw.executemany(job_sql, jobs_rows())
        raw.executemany(attempt_sql, attempts_buffer)
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("PRAGMA synchronous = NORMAL")


def _dt(value: datetime | None) -> str | None:
    # As Django's SQLite backend stores an aware datetime: naive UTC, space-separated.
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def _sqlite_value(value: object) -> object:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value


def stored_fill() -> dict | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_fill (meta TEXT NOT NULL)")
        cursor.execute("SELECT meta FROM bench_fill")
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None


def analyze(vendor: str) -> None:
    """Planner statistics; on PostgreSQL also the visibility map (VACUUM), which index-only
    scans need and autovacuum keeps in a live system."""
    from django.db import connection

    from jobs.models import Attempt, Job

    with connection.cursor() as cursor:
        if vendor == "postgresql":
            for table in (Job._meta.db_table, Attempt._meta.db_table):
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")
        else:
            cursor.execute("ANALYZE")


# --- measure -----------------------------------------------------------------------------
def pages(meta: dict) -> list[tuple[str, str, str]]:
    """(label, URL, kind) of every page measured; kind picks the target."""
    end = datetime.fromisoformat(meta["end"])
    s = meta["samples"]

    def moment(days_ago: float) -> str:
        return (end - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S")

    def jobs(**query) -> str:
        return "/dashboard/jobs/" + ("?" + urlencode(query) if query else "")

    further = _search_further(payload_key="customer_id", payload_value=s["customer_id"])
    out = [
        ("overview", "/dashboard/", "list"),
        ("jobs, unfiltered", jobs(), "list"),
        ("jobs, status=dead", jobs(status="dead"), "list"),
        ("jobs, status=queued", jobs(status="queued"), "list"),
        ("jobs, type=billing.refund", jobs(type="billing.refund"), "list"),
        ("jobs, queue=low", jobs(queue="low"), "list"),
        ("jobs, id=", jobs(id=s["id"]), "list"),
        ("jobs, dedupe_key=", jobs(dedupe_key=s["dedupe_key"]), "list"),
        (
            "jobs, created 6 h window",
            jobs(created_from=moment(10), created_to=moment(9.75)),
            "list",
        ),
        (
            "jobs, finished 6 h window",
            jobs(finished_from=moment(20), finished_to=moment(19.75)),
            "list",
        ),
        (
            "jobs, finished 24 d window",
            jobs(finished_from=moment(25), finished_to=moment(1)),
            "list",
        ),
        ("jobs, error contains", jobs(error="TimeoutError"), "list"),
        ("jobs, error matches none", jobs(error="no such error text"), "list"),
        (
            "jobs, payload customer_id=",
            jobs(payload_key="customer_id", payload_value=str(s["customer_id"])),
            "list",
        ),
        (
            "jobs, combined",
            jobs(status="dead", queue="default", type="email.send", created_from=moment(15)),
            "list",
        ),
        ("jobs, unfiltered, deep page", jobs(cursor=_cursor(s["id"])), "list"),
        *[  # where the first page was a bounded scan that did not fill (SQLite)
            (
                "jobs, payload, search further",
                jobs(payload_key="customer_id", payload_value=str(s["customer_id"]), cursor=c),
                "list",
            )
            for c in [further]
            if c
        ],
        ("dead letters", "/dashboard/dead/", "list"),
        ("job detail (5 attempts)", f"/dashboard/jobs/{s['detail']}/", "detail"),
    ]
    return out + other_pages({url.split("?")[0] for _, url, _ in out})


def _cursor(job_id: str) -> str:
    """The jobs page's cursor for "older than this job" (a page deep in the table)."""
    from jobs.selectors import encode_cursor

    return encode_cursor(uuid.UUID(job_id))


def _search_further(**filters) -> str:
    """The cursor of the first page's "search further" link (the second window of a
    bounded scan), or "" when the first page needs none on this backend."""
    from jobs.selectors import JobSearch, search_jobs

    return search_jobs(search=JobSearch(**filters)).search_further or ""


def other_pages(seen: set[str]) -> list[tuple[str, str, str]]:
    """The dashboard's other pages that take no argument (Scheduled, Queues, Workers, API
    keys, Audit log, ... as they exist), each as a list."""
    from django.urls import URLPattern, reverse

    from dashboard import urls

    found = []
    for p in urls.urlpatterns:
        if not isinstance(p, URLPattern) or not p.name or p.pattern.converters:
            continue
        if p.name in {"login", "logout"}:
            continue
        path = reverse(f"dashboard:{p.name}")
        if path not in seen:
            found.append((p.name.replace("_", " "), path, "other"))
    return found


class QueryLog:
    """The SQL of one request, with parameters and time, less the session's and user's."""

    SKIP = re.compile(r"django_session|auth_user|auth_group|SAVEPOINT|RELEASE|ROLLBACK TO", re.I)

    def __init__(self) -> None:
        self.queries: list[tuple[str, tuple, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if not self.SKIP.search(sql):
                self.queries.append((sql, params, (time.perf_counter() - started) * 1000))


# A page far over its target takes fewer requests: at least MIN_REQUESTS, then only while
# the page's PAGE_BUDGET_S lasts (the table says how many were timed).
MIN_REQUESTS = 5
PAGE_BUDGET_S = 30.0


def measure(client, url: str, requests: int) -> dict:
    from django.db import connection

    log = QueryLog()
    with connection.execute_wrapper(log):  # the first request: its SQL, and a warm-up
        response = client.get(url)
    status = response.status_code
    for _ in range(2):  # warm-up: templates compiled, caches and the plan cache filled
        client.get(url)
    times: list[float] = []
    deadline = time.monotonic() + PAGE_BUDGET_S
    while len(times) < requests and (len(times) < MIN_REQUESTS or time.monotonic() < deadline):
        started = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - started) * 1000)
    return {
        "status": status,
        "n": len(times),
        "p50": percentile(times, 50),
        "p95": percentile(times, 95),
        "max": max(times),
        "queries": log.queries,
    }


def plan_of(vendor: str, sql: str, params) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return [row[-1] for row in cursor.fetchall()]


def run_time(sql: str, params) -> float:
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(5):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[2]


ACCESS = re.compile(
    r"((?:Parallel )?(?:Index Only Scan|Index Scan(?: Backward)?|Bitmap Index Scan|Seq Scan)"
    r"(?: Backward)?(?: using \S+)?(?: on \S+)?)|((?:SCAN|SEARCH) \S+(?: USING [A-Z ]*INDEX \S+"
    r"(?: \([^)]*\))?)?)|(USE TEMP B-TREE FOR [A-Z ]+)"
)


def access_paths(vendor: str, queries) -> str:
    """The access path of each of the page's job and attempt queries, in order."""
    paths = []
    for sql, params, _ in queries:
        if "jobs_" not in sql:
            continue
        lines = plan_of(vendor, sql, params)
        found = []
        for line in lines:
            for m in ACCESS.finditer(line):
                text = next(g for g in m.groups() if g)
                text = text.replace("jobs_job", "job").replace("jobs_attempt", "attempt")
                if text not in found:
                    found.append(text)
        paths.append(" + ".join(found) or "-")
    return " | ".join(paths)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard")
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--refill", action="store_true")
    args = parser.parse_args(argv)

    vendor, url = bench_database_url(args.jobs)
    if vendor == "postgresql":
        ensure_pg_database(url)
    bench_redis = BenchRedis()
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "queuey_site.settings",
            "DJANGO_SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnop",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_ALLOWED_HOSTS": "testserver",
            "DATABASE_URL": url,
            "REDIS_URL": bench_redis.url,
            "QUEUEY_KEY_PREFIX": "bench-dash",
            "QUEUEY_LOG_LEVEL": "WARNING",
        }
    )
    for name in [n for n in os.environ if n.startswith("QUEUEY_DEV")]:
        del os.environ[name]
    try:
        return run(vendor, url, args)
    finally:
        bench_redis.close()


def run(vendor: str, url: str, args) -> int:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    # No setup_test_environment(): its template instrumentation (contexts kept for
    # response.context) would be timed as if it were the server's.
    print(f"database: {vendor} ({url})", flush=True)
    started = time.monotonic()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrate: {time.monotonic() - started:.1f} s", flush=True)
    meta = stored_fill()
    if args.refill or not meta or meta.get("jobs") != args.jobs or meta.get("seed") != SEED:
        print(f"filling {args.jobs:,} jobs ...", flush=True)
        meta = fill(vendor, args.jobs)
        print(
            f"filled {meta['jobs']:,} jobs and {meta['attempts']:,} attempts "
            f"in {meta['fill_seconds']} s",
            flush=True,
        )
    else:
        print(
            f"reusing the fill of {meta['end']}: {meta['jobs']:,} jobs, "
            f"{meta['attempts']:,} attempts"
        )
    started = time.monotonic()
    analyze(vendor)
    print(f"ANALYZE: {time.monotonic() - started:.1f} s", flush=True)

    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench-pass-123"
    )
    client = Client()
    client.force_login(user)

    logging.getLogger("django.request").setLevel(logging.ERROR)  # the 405s probed below
    rows = []
    for label, page_url, kind in pages(meta):
        result = measure(client, page_url, args.requests)
        if kind == "other" and result["status"] != 200:
            continue  # an action's endpoint (405) or a form's target (400), not a page
        rows.append((label, page_url, kind, result))
        print(
            f"  {label:<30} p95 {result['p95']:8.1f} ms  ({len(result['queries'])} queries)",
            file=sys.stderr,
            flush=True,
        )
    print_table(vendor, meta, rows, args.requests)
    if args.explain:
        print_plans(vendor, rows)
    return 0


def print_table(vendor: str, meta: dict, rows, requests: int) -> None:
    print()
    print(
        f"Dashboard pages, {vendor}, {meta['jobs']:,} jobs / {meta['attempts']:,} attempts, "
        f"server time over {requests} requests a page, n where fewer (Django test Client, "
        "logged-in staff)"
    )
    header = f"{'page':<30} {'status':>6} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
    header += f"{'target':>7} {'SQL':>4}  access path of each job/attempt query"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} cores")
    print(header)
    print("-" * len(header))
    for label, _, kind, r in rows:
        target = TARGET_MS[kind]
        verdict = "ok" if r["p95"] <= target else "OVER"
        paths = access_paths(vendor, r["queries"])
        print(
            f"{label:<30} {r['status']:>6} {r['n']:>3} {r['p50']:>8.1f} {r['p95']:>8.1f} "
            f"{r['max']:>8.1f} "
            f"{'≤' + format(target, '.0f'):>5} {verdict:<4} {len(r['queries']):>3}  {paths}"
        )


def print_plans(vendor: str, rows) -> None:
    print()
    print("Query plans (EXPLAIN ANALYZE on PostgreSQL, EXPLAIN QUERY PLAN on SQLite)")
    for label, page_url, _, r in rows:
        print(f"\n=== {label}: {page_url}")
        for sql, params, _ in r["queries"]:
            if "jobs_" not in sql:
                continue
            print(f"--- {run_time(sql, params):.1f} ms (median of 5, rows fetched): {_short(sql)}")
            for line in plan_of(vendor, sql, params):
                print(f"    {line}")


def _short(sql: str, limit: int = 300) -> str:
    sql = re.sub(r"\s+", " ", sql)
    sql = re.sub(r'SELECT (?:"jobs_job"\."\w+", )+"jobs_job"\."\w+"', "SELECT <columns>", sql)
    return sql if len(sql) <= limit else sql[:limit] + " ..."


if __name__ == "__main__":
    sys.exit(main())
