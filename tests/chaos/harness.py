"""The chaos harness: what went in (client record), what ran (ledger), what came out
(database + Redis), and the oracle that compares them.

- The **ledger** is written by the demo handlers (QUEUEY_LEDGER_PATH): one line per
  attempt start and end with job id, attempt number, fencing token, pid and time.
- The **client record** holds every submit: acknowledged (with its job id), refused
  (a definite "no": 4xx/503, StoreUnavailable) or unknown (timeout, connection reset).
- **drain** waits, with a deadline, until every acknowledged job is terminal and Redis
  holds nothing in flight (no lease, no outbox entry, empty queues).
- The **oracle** then checks: lost = 0 (every acknowledged job terminal), unexpected = 0
  (no job nobody asked for), every extra execution explained by a recorded lost attempt
  (lease_expired, timeout, interrupted, failed, cancelled) or by a recorded fault that
  wiped Redis while the run held its lease (judged by the lease's fencing token, not by
  when the handler started), one recorded outcome per job (the succeeded attempt ran on
  the worker that held its lease), no two runs of a job with one attempt number, and each
  job in exactly one Redis place matching its database state.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from jobs.broker.keys import Keys

TERMINAL = {"succeeded", "dead", "cancelled"}
LOST_ATTEMPT_OUTCOMES = {"lease_expired", "timeout", "interrupted", "failed", "cancelled"}
# Where Redis must hold a job in each database state (after settling).
PLACE_OF = {
    "succeeded": [],
    "cancelled": [],
    "dead": ["dlq"],
    "scheduled": ["scheduled"],
    "retrying": ["scheduled"],
    "running": ["leases"],
}


def norm_id(value: Any) -> str:
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


# --- ledger -------------------------------------------------------------------------------
class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        # Read while handlers append: a line being written may show up in part. Only
        # newline-terminated lines count; the rest is read again next time.
        complete, _, _being_written = self.path.read_text().rpartition("\n")
        return [json.loads(raw) for raw in complete.splitlines() if raw.strip()]

    def starts(self, job_id: str | None = None) -> list[dict[str, Any]]:
        return [
            entry
            for entry in self.lines()
            if entry["step"] == "start" and (job_id is None or entry["job"] == job_id)
        ]

    def executions(self) -> dict[str, list[dict[str, Any]]]:
        """Per job, its started attempts (one per fencing token), in order."""
        by_job: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for entry in self.lines():
            job = entry["job"]
            run = by_job[job].setdefault(
                entry["token"],
                {"attempt": entry["attempt"], "token": entry["token"], "pid": entry["pid"]},
            )
            run.setdefault(entry["step"], entry["t"])
        return {
            job: sorted(runs.values(), key=lambda r: r.get("start", 0))
            for job, runs in by_job.items()
        }


# --- client record -----------------------------------------------------------------------
class ClientRecord:
    """Every submit and how it ended. Thread-safe; files from other processes merge in."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.entries: list[dict[str, Any]] = []

    def add(self, status: str, job_id: str | None = None, detail: str = "") -> None:
        assert status in {"acknowledged", "refused", "unknown"}
        with self._lock:
            self.entries.append(
                {"status": status, "job": job_id, "detail": detail[:200], "t": time.time()}
            )

    def load(self, path: Path) -> None:
        if Path(path).exists():
            for raw in Path(path).read_text().splitlines():
                if raw.strip():
                    self.entries.append(json.loads(raw))

    def ids(self, status: str) -> set[str]:
        return {norm_id(e["job"]) for e in self.entries if e["status"] == status and e["job"]}

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e["status"] == status)

    def submit(self, request_fn) -> str | None:
        """Run one in-process submit (a callable returning a job id) and record it."""
        from jobs.errors import QueueyError, StoreUnavailable

        try:
            job_id = str(request_fn())
        except StoreUnavailable as exc:
            self.add("refused", detail=str(exc))
            return None
        except QueueyError as exc:
            self.add("refused", detail=str(exc))
            return None
        except Exception as exc:  # anything else: we cannot know whether it was stored
            self.add("unknown", detail=repr(exc))
            return None
        self.add("acknowledged", job_id)
        return job_id


# --- the stores, read directly -------------------------------------------------------------
class DbView:
    """Raw reads of the job tables by database URL (works for a database of the test's
    own that the Django connection does not point at)."""

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def vendor(self) -> str:
        return "sqlite" if self.url.startswith("sqlite:") else "postgresql"

    def _query(self, sql: str) -> list[tuple]:
        if self.url.startswith("sqlite:///"):
            conn = sqlite3.connect(self.url[len("sqlite:///") :], timeout=30)
            try:
                return conn.execute(sql).fetchall()
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(
            self.url.replace("postgres://", "postgresql://"), connect_timeout=5
        ) as conn:
            return conn.execute(sql).fetchall()

    def jobs(self) -> dict[str, dict[str, Any]]:
        rows = self._query("SELECT id, status, attempts, type FROM jobs_job")
        return {norm_id(r[0]): {"status": r[1], "attempts": r[2], "type": r[3]} for r in rows}

    def attempts(self) -> dict[str, list[dict[str, Any]]]:
        rows = self._query("SELECT job_id, number, outcome, worker_id FROM jobs_attempt")
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for job, number, outcome, worker in rows:
            out[norm_id(job)].append({"number": number, "outcome": outcome, "worker": worker})
        return out

    def status_counts(self) -> Counter:
        return Counter(dict(self._query("SELECT status, COUNT(*) FROM jobs_job GROUP BY status")))

    def status_of(self, job_id: str) -> str | None:
        hex_id = uuid.UUID(job_id).hex if self.url.startswith("sqlite") else job_id
        rows = self._query(f"SELECT status FROM jobs_job WHERE id = '{hex_id}'")  # noqa: S608
        return rows[0][0] if rows else None


class RedisView:
    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)
        self.keys = Keys(prefix)

    def places(self) -> dict[str, list[str]]:
        """Every place each job id is held (a list: a duplicate shows twice)."""
        from jobs import conf

        k, out = self.keys, defaultdict(list)
        for name in conf.QUEUES:
            for job in self.client.lrange(k.queue(name), 0, -1):
                out[job].append(name)
        for name, key in (("scheduled", k.scheduled), ("leases", k.leases), ("dlq", k.dlq)):
            for job in self.client.zrange(key, 0, -1):
                out[job].append(name)
        return out

    def hashes(self) -> dict[str, str | None]:
        """Job id -> the state in its Redis hash."""
        ids = [
            key[len(self.keys.job_prefix) :]
            for key in self.client.scan_iter(self.keys.job_prefix + "*", count=1000)
        ]
        pipe = self.client.pipeline(transaction=False)
        for job in ids:
            pipe.hget(self.keys.job(job), "state")
        return dict(zip(ids, pipe.execute(), strict=True))

    def in_flight(self) -> dict[str, int]:
        from jobs import conf

        k = self.keys
        pipe = self.client.pipeline(transaction=False)
        for name in conf.QUEUES:
            pipe.llen(k.queue(name))
        pipe.zcard(k.leases).zcard(k.outbox).zcard(k.scheduled)
        *queues, leases, outbox, scheduled = pipe.execute()
        return {"queued": sum(queues), "leases": leases, "outbox": outbox, "scheduled": scheduled}


# --- drain --------------------------------------------------------------------------------
def drain(db: DbView, rv: RedisView, expected: set[str], timeout: float = 60.0) -> None:
    """Wait until every expected job is terminal in the database and Redis has nothing in
    flight. Raises AssertionError naming what is still open at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            jobs = db.jobs()
            open_jobs = [j for j in expected if jobs.get(j, {}).get("status") not in TERMINAL]
            flight = rv.in_flight()
            last = (len(open_jobs), open_jobs[:5], flight)
            if (
                not open_jobs
                and not flight["leases"]
                and not flight["outbox"]
                and not flight["queued"]
            ):
                return
        except Exception as exc:  # a store may still be recovering from its fault
            last = repr(exc)
        time.sleep(0.25)
    detail = ""
    try:
        leases = rv.client.zrange(rv.keys.leases, 0, 20, withscores=True)
        beats = [rv.client.get(k) for k in rv.client.scan_iter(rv.keys.base + ":worker:*")]
        detail = f"; redis now {rv.client.time()}, leases {leases}, workers {beats}, " + ", ".join(
            f"{j}: {rv.client.hgetall(rv.keys.job(j))}"
            for j in (last[1] if isinstance(last, tuple) else [])
        )
    except Exception as exc:
        detail = repr(exc)
    raise AssertionError(f"drain did not finish in {timeout}s: still open {last}{detail}")


# --- the oracle ---------------------------------------------------------------------------
@dataclass
class Report:
    attempted: int = 0
    acknowledged: int = 0
    refused: int = 0
    unknown: int = 0
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    executions: int = 0
    duplicates: int = 0
    explained: int = 0
    unexplained: list[str] = field(default_factory=list)
    outcome_errors: list[str] = field(default_factory=list)
    number_errors: list[str] = field(default_factory=list)
    place_errors: list[str] = field(default_factory=list)
    states: Counter = field(default_factory=Counter)

    def table(self, extra: dict[str, Any] | None = None) -> str:
        rows = [
            ("attempted", self.attempted),
            ("acknowledged", self.acknowledged),
            ("refused", self.refused),
            ("unknown", self.unknown),
            ("lost", len(self.lost)),
            ("unexpected", len(self.unexpected)),
            ("executions", self.executions),
            ("duplicates", self.duplicates),
            ("duplicates explained", self.explained),
            ("outcome errors", len(self.outcome_errors)),
            ("shared attempt numbers", len(self.number_errors)),
            ("place errors", len(self.place_errors)),
            ("final states", dict(self.states)),
            *(extra or {}).items(),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"  {k:<{width}}  {v}" for k, v in rows)

    def assert_ok(self) -> None:
        problems = {
            "lost": self.lost,
            "unexpected": self.unexpected,
            "unexplained duplicate executions": self.unexplained,
            "outcome errors": self.outcome_errors,
            "shared attempt numbers": self.number_errors,
            "place errors": self.place_errors,
        }
        bad = {k: v[:10] for k, v in problems.items() if v}
        assert not bad, f"oracle failed:\n{self.table()}\n{json.dumps(bad, indent=1)}"


def check(
    record: ClientRecord,
    ledger: Ledger,
    db: DbView,
    rv: RedisView,
    *,
    redis_wiped_at: list[float] | None = None,
    require_terminal: bool = True,
) -> Report:
    """Compare what went in with what came out (see the module docstring)."""
    rep = Report(
        attempted=len(record.entries),
        acknowledged=record.count("acknowledged"),
        refused=record.count("refused"),
        unknown=record.count("unknown"),
    )
    jobs, attempts = db.jobs(), db.attempts()
    acked, refused = record.ids("acknowledged"), record.ids("refused")
    allowed = acked | record.ids("unknown")
    rep.states = Counter(j["status"] for j in jobs.values())
    # lost: acknowledged but missing or (after the drain) not terminal.
    for job in sorted(acked):
        status = jobs.get(job, {}).get("status")
        if status is None or (require_terminal and status not in TERMINAL):
            rep.lost.append(f"{job}: {status}")
    # unexpected: a stored job nobody was told was accepted (or was told it was refused),
    # or an execution of a job the database does not hold.
    unknown_ok = record.count("unknown")
    extra = [j for j in jobs if j not in allowed]
    if len(extra) > unknown_ok or any(j in refused for j in jobs):
        rep.unexpected += [f"{j}: in the database but never acknowledged" for j in extra]
    runs = ledger.executions()
    rep.unexpected += [f"{j}: executed but not in the database" for j in runs if j not in jobs]

    wiped = sorted(redis_wiped_at or [])
    for job, job_runs in runs.items():
        info = jobs.get(job)
        if info is None:
            continue
        rep.executions += len(job_runs)
        rows = {a["number"]: a for a in attempts.get(job, [])}
        final = None
        if info["status"] == "succeeded":
            final = rows.get(info["attempts"])
        for run in job_runs:
            if final is not None and run["attempt"] == final["number"] and _same_worker(run, final):
                continue  # the attempt whose result is recorded
            rep.duplicates += len(job_runs) > 1
            row = rows.get(run["attempt"])
            if (
                row is not None
                and row["outcome"] in LOST_ATTEMPT_OUTCOMES
                and _same_worker(run, row)
            ) or _lease_died_with_redis(run, wiped):
                rep.explained += len(job_runs) > 1
            elif len(job_runs) > 1:
                rep.unexplained.append(
                    f"{job}: attempt {run['attempt']} on pid {run['pid']} ({row})"
                )
        numbers = Counter(run["attempt"] for run in job_runs)
        rep.number_errors += [
            f"{job}: {n} runs as attempt {number}" for number, n in numbers.items() if n > 1
        ]
    # one recorded outcome per job, from the attempt that held the lease
    for job, info in jobs.items():
        rows = attempts.get(job, [])
        wins = [a for a in rows if a["outcome"] == "succeeded"]
        if info["status"] == "succeeded":
            if len(wins) != 1 or wins[0]["number"] != info["attempts"]:
                rep.outcome_errors.append(f"{job}: succeeded with attempt rows {rows}")
            elif job in runs and not any(
                r["attempt"] == wins[0]["number"] and _same_worker(r, wins[0]) and "end" in r
                for r in runs[job]
            ):
                rep.outcome_errors.append(f"{job}: recorded success has no finished execution")
        elif wins:
            rep.outcome_errors.append(f"{job}: {info['status']} but has a succeeded attempt")
    # exactly one place in Redis, matching the database
    places, hashes = rv.places(), rv.hashes()
    for job, where in places.items():
        if job not in jobs:
            rep.place_errors.append(f"{job}: in Redis {where} but not in the database")
    for job, info in jobs.items():
        status = info["status"]
        where = places.get(job, [])
        expected = PLACE_OF.get(status)
        if status == "queued":
            ok = len(where) == 1 and where[0] in {"high", "default", "low"}
        else:
            ok = sorted(where) == sorted(expected or [])
        hash_state = hashes.get(job)
        if status in {"succeeded", "cancelled"}:
            ok = ok and hash_state in (None, status)  # gone, or its expiring tombstone
        elif require_terminal:
            ok = ok and hash_state == status
        if not ok:
            rep.place_errors.append(f"{job}: database {status}, Redis {where} hash {hash_state}")
    return rep


# A run that ended this long before a wipe may still have had its result in flight.
ACK_SLACK_SECONDS = 2.0


def _lease_died_with_redis(run: dict[str, Any], wiped: list[float]) -> bool:
    """The run held its lease when Redis lost its data: claimed before the wipe (its
    fencing token is from the series before it: after a loss, tokens restart at Redis's
    clock in microseconds) and not finished, result reported, well before it."""
    return any(
        int(run["token"]) < t * 1_000_000 and run.get("end", t) >= t - ACK_SLACK_SECONDS
        for t in wiped
    )


def _same_worker(run: dict[str, Any], row: dict[str, Any]) -> bool:
    """Worker ids are host:pid:random; the ledger line carries the pid."""
    parts = (row.get("worker") or "").split(":")
    return len(parts) < 2 or parts[1] == str(run["pid"])


def max_rss_kb(pid: int) -> int:
    """Peak resident set of a live process (VmHWM), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def env_seconds(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)
