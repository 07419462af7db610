"""Chaos fixtures: a Redis server of the test's own, the ledger, the client record and
real worker / watchdog processes (tests/support/stack.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.submission import JobRequest
from tests.chaos.harness import ClientRecord, DbView, Ledger, RedisView, check, drain
from tests.support.redis_server import RedisServer
from tests.support.stack import ROOT, Stack, database_url, wait_for


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents and not item.get_closest_marker("soak"):
            item.add_marker(pytest.mark.chaos)


class Chaos:
    """One fault scenario: its stores, its processes and its bookkeeping."""

    def __init__(
        self,
        settings,
        tmp_path: Path,
        redis_extra: list[str] | None = None,
        db_url: str | None = None,
    ) -> None:
        from jobs.broker.connection import reset_redis

        self.tmp = tmp_path
        tmp_path.mkdir(parents=True, exist_ok=True)
        # appendfsync always: a SIGKILLed Redis then forgets nothing it acknowledged. With
        # the default everysec a crash may forget the last second of claims, and those
        # jobs run a second time with the same attempt number (see README, Redis).
        self.redis = RedisServer(
            appendonly=True, extra=["--appendfsync", "always", *(redis_extra or [])]
        ).start()
        settings.REDIS_URL = self.redis.url
        reset_redis()
        self.prefix = settings.QUEUEY_KEY_PREFIX
        self.ledger = Ledger(tmp_path / "ledger.jsonl")
        self.record = ClientRecord()
        self.db_url = db_url or database_url()
        self.db = DbView(self.db_url)
        self.rv = RedisView(self.redis.url, self.prefix)
        self.redis_wiped_at: list[float] = []
        self.stack = Stack(
            QUEUEY_LEDGER_PATH=self.ledger.path,
            QUEUEY_RECONCILE_INTERVAL=1,
            QUEUEY_SHUTDOWN_GRACE=5,
            DATABASE_URL=self.db_url,
        )
        self.loadgens: list[tuple[subprocess.Popen, Path]] = []

    # --- processes ------------------------------------------------------------------
    def worker(self, *args: str, **env) -> subprocess.Popen:
        return self.stack.worker(*args, **env)

    def watchdog(self, **env) -> subprocess.Popen:
        return self.stack.watchdog(**env)

    @staticmethod
    def kill(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        if process.poll() is None:
            os.kill(process.pid, sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            process.wait(timeout=30)

    def alive(self) -> list[subprocess.Popen]:
        return [p for p in self.stack.processes if p.poll() is None]

    def log_text(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.stack.logdir.glob("*.log"))
        )

    # --- submitting -------------------------------------------------------------------
    def loadgen(self, *args: str, **env) -> subprocess.Popen:
        """A tests.chaos.loadgen process; its record is merged by collect_loadgens()."""
        out = self.tmp / f"record-{len(self.loadgens)}.jsonl"
        log = open(self.stack.logdir / f"loadgen-{len(self.loadgens)}.log", "wb")  # noqa: SIM115
        p = subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.loadgen", "--out", str(out), *args],
            env={**self.stack.env, **{k: str(v) for k, v in env.items()}},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.loadgens.append((p, out))
        return p

    def collect_loadgens(self, timeout: float = 120) -> None:
        for p, out in self.loadgens:
            assert p.wait(timeout=timeout) == 0, f"loadgen failed:\n{self.stack.logs()}"
            self.record.load(out)
        self.loadgens = []

    def submit(self, type: str = "demo.noop", payload: dict | None = None, **options) -> str | None:
        from jobs.services import submit_job

        return self.record.submit(
            lambda: submit_job(JobRequest(type=type, payload=payload or {}, **options)).job_id
        )

    def submit_many(self, requests: list[JobRequest], chunk: int = 500) -> list[str]:
        """Batches through jobs.services.submit_batch; each item recorded on its own."""
        from jobs.errors import QueueyError
        from jobs.services import submit_batch

        ids = []
        for i in range(0, len(requests), chunk):
            part = requests[i : i + chunk]
            try:
                results = submit_batch(part)
            except QueueyError as exc:
                for _ in part:
                    self.record.add("refused", detail=str(exc))
                continue
            for r in results:
                if r.error is None:
                    self.record.add("acknowledged", r.job_id)
                    ids.append(r.job_id)
                else:
                    self.record.add("refused", detail=str(r.error))
        return ids

    # --- waiting and judging ----------------------------------------------------------
    def status(self, job_id: str) -> str | None:
        return self.db.status_of(job_id)

    def wait_status(self, job_id: str, *statuses: str, timeout: float = 30) -> str:
        return wait_for(
            lambda: self.status(job_id) in statuses and self.status(job_id),
            timeout=timeout,
            what=f"job {job_id} to be {statuses}",
        )

    def wait_started(self, job_id: str, count: int = 1, timeout: float = 30) -> list[dict]:
        return wait_for(
            lambda: len(self.ledger.starts(job_id)) >= count and self.ledger.starts(job_id),
            timeout=timeout,
            what=f"{count} start(s) of job {job_id}",
        )

    def wipe_redis(self) -> None:
        self.redis_wiped_at.append(time.time())
        self.rv.client.flushall()

    def drain_and_check(self, timeout: float = 60, **kw):
        drain(self.db, self.rv, self.record.ids("acknowledged"), timeout=timeout)
        report = check(
            self.record, self.ledger, self.db, self.rv, redis_wiped_at=self.redis_wiped_at, **kw
        )
        report.assert_ok()
        return report

    def close(self, failed: bool) -> None:
        from jobs.broker.connection import reset_redis

        for p, _ in self.loadgens:
            if p.poll() is None:
                p.kill()
        for p in self.stack.processes:  # a SIGSTOPped process must be able to see SIGTERM
            if p.poll() is None:
                os.kill(p.pid, signal.SIGCONT)
        self.stack.stop()
        if failed:
            print(self.stack.logs())
        self.redis.cleanup()
        reset_redis()


@pytest.fixture
def chaos_factory(transactional_db, settings, tmp_path, request):
    made: list[Chaos] = []

    def make(**kw) -> Chaos:
        c = Chaos(settings, tmp_path / f"c{len(made)}", **kw)
        made.append(c)
        return c

    yield make
    failed = getattr(getattr(request.node, "rep_call", None), "failed", True)
    for c in made:
        c.close(failed)


@pytest.fixture
def chaos(chaos_factory) -> Chaos:
    return chaos_factory()
