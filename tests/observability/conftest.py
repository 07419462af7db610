"""A running Queuey stack for metric tests, and a real Prometheus to scrape it.

`metrics_stack`: gunicorn (the project's gunicorn.conf.py, 2 workers, a
PROMETHEUS_MULTIPROC_DIR of its own) on a free port, `runworker --processes 2` with
QUEUEY_WORKER_METRICS_PORT, `runwatchdog` with QUEUEY_WATCHDOG_METRICS_PORT, all on the
suite's own Redis (tests/conftest.py) and pytest-django's test database, with an admin API
key. `make_metrics_stack(**env)` builds one with extra environment (e.g.
QUEUEY_RECONCILE_INTERVAL). Scrape a target with `stack.scrape("api" | "worker" |
"watchdog")`: the text format parsed by prometheus_client's parser, with sums over
label filters (`.value("queuey_jobs_enqueued_total", queue="high")`).

`start_prometheus(...)`: Debian's prometheus on a free port with a temporary TSDB, scraping
the given targets; `query()` runs PromQL through /api/v1/query.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.redis_server import free_port
from tests.support.stack import ROOT, Stack, wait_for

PROMETHEUS_DIR = ROOT / "prometheus"
DASHBOARD = ROOT / "grafana" / "dashboards" / "queuey.json"


# --- the text format ------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@dataclass
class Scrape:
    """One scrape of a /metrics page: samples by sample name (`x_total`, `x_bucket`, ...)."""

    text: str
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Scrape:
        scrape = cls(text)
        for family in text_string_to_metric_families(text):
            scrape.types[family.name] = family.type
            for s in family.samples:
                scrape.samples.setdefault(s.name, []).append(
                    Sample(s.name, dict(s.labels), float(s.value))
                )
        return scrape

    def series(self, name: str, **labels: str) -> list[Sample]:
        """The samples named `name` whose labels include `labels`."""
        return [
            s
            for s in self.samples.get(name, [])
            if all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def value(self, name: str, **labels: str) -> float:
        """Sum over the matching samples (0 when there are none)."""
        return sum(s.value for s in self.series(name, **labels))

    def has(self, name: str, **labels: str) -> bool:
        return bool(self.series(name, **labels))


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def scrape_url(url: str) -> Scrape:
    status, body = http_get(url)
    assert status == 200, f"GET {url}: {status} {body[:300]}"
    return Scrape.parse(body)


# --- the stack ------------------------------------------------------------------------
class MetricsStack:
    """API (gunicorn, 2 workers), worker supervisor (2 processes) and watchdog."""

    def __init__(self, admin_key: str, env: dict[str, str], api_workers: int = 2) -> None:
        self.admin_key = admin_key
        self.stack = Stack(
            DJANGO_SETTINGS_MODULE="tests.observability.settings",
            QUEUEY_API_RATE="1000000/minute",
            QUEUEY_API_ANON_RATE="1000000/minute",
            **env,
        )
        self.api_port = free_port()
        self.worker_metrics_port = free_port()
        self.watchdog_metrics_port = free_port()
        self.multiproc_dir = Path(tempfile.mkdtemp(prefix="queuey-prom-multiproc-"))
        self.api_workers = api_workers
        self.api: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.watchdog: subprocess.Popen | None = None

    # processes
    def start(self) -> MetricsStack:
        self.start_api()
        self.start_watchdog()
        self.start_worker()
        self.wait_ready()
        return self

    def start_api(self) -> subprocess.Popen:
        log = open(self.stack.logdir / f"api-{self.api_port}.log", "wb")  # noqa: SIM115
        self.api = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")],
            env={
                **self.stack.env,
                "PROMETHEUS_MULTIPROC_DIR": str(self.multiproc_dir),
                "GUNICORN_BIND": f"127.0.0.1:{self.api_port}",
                "GUNICORN_WORKERS": str(self.api_workers),
                "GUNICORN_THREADS": "4",
                "GUNICORN_ACCESSLOG": "",
            },
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.stack.processes.append(self.api)
        return self.api

    def start_worker(self, processes: int = 2) -> subprocess.Popen:
        self.worker = self.stack.worker(
            "--processes", str(processes), QUEUEY_WORKER_METRICS_PORT=self.worker_metrics_port
        )
        return self.worker

    def start_watchdog(self) -> subprocess.Popen:
        self.watchdog = self.stack.watchdog(QUEUEY_WATCHDOG_METRICS_PORT=self.watchdog_metrics_port)
        return self.watchdog

    def stop_worker(self, timeout: float = 20.0) -> None:
        """SIGTERM the worker supervisor (it stops its processes) and wait for its exit."""
        assert self.worker is not None
        self.worker.send_signal(signal.SIGTERM)
        self.worker.wait(timeout=timeout)

    def worker_children(self) -> list[int]:
        """The pids of the supervisor's worker processes (Linux /proc)."""
        assert self.worker is not None
        pids: list[int] = []
        for task in Path(f"/proc/{self.worker.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                pids += [int(p) for p in (task / "children").read_text().split()]
        return pids

    def wait_ready(self, timeout: float = 60.0) -> None:
        def api_up() -> bool:
            try:
                return http_get(self.url("/healthz"), timeout=2)[0] == 200
            except OSError:
                return False

        wait_for(api_up, timeout, "the API's /healthz")
        for target in ("watchdog", "worker"):
            wait_for(lambda t=target: self._answers(t), timeout, f"the {target}'s /metrics")
        workers = 2 if self.worker is not None else 0
        wait_for(
            lambda: self.scrape("api").value("queuey_workers_online") >= workers,
            timeout,
            f"queuey_workers_online >= {workers} on the API's /metrics",
        )

    def _answers(self, target: str) -> bool:
        try:
            return http_get(self.metrics_url(target), timeout=2)[0] == 200
        except OSError:
            return False

    def stop(self) -> None:
        self.stack.stop()
        shutil.rmtree(self.multiproc_dir, ignore_errors=True)

    def logs(self) -> str:
        return self.stack.logs()

    # HTTP
    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.api_port}{path}"

    def metrics_url(self, target: str) -> str:
        port = {
            "api": self.api_port,
            "worker": self.worker_metrics_port,
            "watchdog": self.watchdog_metrics_port,
        }[target]
        return f"http://127.0.0.1:{port}/metrics"

    def targets(self) -> dict[str, str]:
        """Prometheus job name (as in prometheus/prometheus.yml) -> host:port."""
        return {
            "queuey-api": f"127.0.0.1:{self.api_port}",
            "queuey-worker": f"127.0.0.1:{self.worker_metrics_port}",
            "queuey-watchdog": f"127.0.0.1:{self.watchdog_metrics_port}",
        }

    def scrape(self, target: str) -> Scrape:
        return scrape_url(self.metrics_url(target))

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url(path),
            data=json.dumps(body).encode() if body is not None else None,
            headers={"content-type": "application/json", "x-api-key": self.admin_key},
            method=method,
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def submit(self, type: str = "demo.noop", payload: dict | None = None, **fields: Any) -> str:
        status, body = self.call(
            "POST", "/v1/jobs", {"type": type, "payload": payload or {}, **fields}
        )
        assert status in (200, 201), (status, body)
        return body["job_id"]

    def job(self, job_id: str) -> dict[str, Any]:
        status, body = self.call("GET", f"/v1/jobs/{job_id}")
        assert status == 200, (status, body)
        return body

    def wait_status(self, job_id: str, *statuses: str, timeout: float = 30.0) -> dict[str, Any]:
        return wait_for(  # type: ignore[return-value]
            lambda: (j := self.job(job_id))["status"] in statuses and j,
            timeout,
            f"job {job_id} to be {' or '.join(statuses)}",
        )


@pytest.fixture
def make_metrics_stack(transactional_db, request) -> Iterator[Callable[..., MetricsStack]]:
    """make_metrics_stack(**env) -> a started MetricsStack; stopped at teardown (logs
    printed when the test failed)."""
    from jobs.apikeys import create_api_key

    stacks: list[MetricsStack] = []

    def make(**env: object) -> MetricsStack:
        key = create_api_key(name=f"metrics-{len(stacks)}", scope="admin")[1]
        stack = MetricsStack(key, {k: str(v) for k, v in env.items()})
        stacks.append(stack)
        return stack.start()

    yield make
    failed = getattr(getattr(request.node, "rep_call", None), "failed", False)
    for stack in stacks:
        stack.stop()
        if failed:
            print(stack.logs())


@pytest.fixture
def metrics_stack(make_metrics_stack) -> MetricsStack:
    return make_metrics_stack()


# --- Prometheus -----------------------------------------------------------------------
def require_binary(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} not found: run scripts/ensure_prometheus.sh (scripts/test.sh does)"
    return path


class Prometheus:
    def __init__(self, workdir: Path, targets: dict[str, str], rule_files: list[Path]) -> None:
        self.workdir = workdir
        self.port = free_port()
        config = {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
            },
            "rule_files": [str(p) for p in rule_files],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]}
                for job, target in targets.items()
            ],
        }
        # JSON is YAML: no YAML writer needed.
        self.config = workdir / "prometheus.yml"
        self.config.write_text(json.dumps(config, indent=2))
        self.log = open(workdir / "prometheus.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                require_binary("prometheus"),
                f"--config.file={self.config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        wait_for(self._ready, 30, "Prometheus /-/ready")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _ready(self) -> bool:
        assert self.process.poll() is None, f"prometheus exited: {self.logs()}"
        try:
            return http_get(self.url + "/-/ready", timeout=2)[0] == 200
        except OSError:
            return False

    def api(self, path: str, **params: str) -> dict[str, Any]:
        status, body = http_get(f"{self.url}{path}?{urllib.parse.urlencode(params)}")
        data = json.loads(body)
        assert status == 200 and data.get("status") == "success", (path, params, status, body)
        return data["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result (a vector's samples; a scalar as one sample)."""
        data = self.api("/api/v1/query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def targets_up(self) -> dict[str, str]:
        return {
            t["labels"]["job"]: t["health"] for t in self.api("/api/v1/targets")["activeTargets"]
        }

    def alerts(self) -> list[dict[str, Any]]:
        return self.api("/api/v1/alerts")["alerts"]

    def firing(self, name: str) -> list[dict[str, Any]]:
        return [
            a for a in self.alerts() if a["labels"]["alertname"] == name and a["state"] == "firing"
        ]

    def logs(self) -> str:
        return (self.workdir / "prometheus.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture
def start_prometheus(tmp_path, request) -> Iterator[Callable[..., Prometheus]]:
    started: list[Prometheus] = []

    def start(targets: dict[str, str], rule_files: list[Path] | None = None) -> Prometheus:
        workdir = tmp_path / f"prometheus-{len(started)}"
        workdir.mkdir()
        prom = Prometheus(workdir, targets, rule_files or [])
        started.append(prom)
        return prom

    yield start
    failed = getattr(getattr(request.node, "rep_call", None), "failed", False)
    for prom in started:
        prom.stop()
        if failed:
            print("--- prometheus\n" + prom.logs())


def run(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def promtool() -> str:
    return require_binary("promtool")
