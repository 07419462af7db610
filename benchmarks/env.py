"""The benchmark's own Redis and database, so it never touches anyone else's data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class BenchRedis:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="queuey-bench-redis-")
        self.proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def flush(self) -> None:
        redis.Redis(port=self.port).flushall()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def database_urls() -> dict[str, str]:
    """SQLite always; PostgreSQL when the local server answers (database queuey_bench)."""
    var = ROOT / "var" / "bench"
    var.mkdir(parents=True, exist_ok=True)
    urls = {"sqlite": f"sqlite:///{var / 'bench.sqlite3'}"}
    pg = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/queuey_bench")
    if _pg_ready(pg):
        urls["postgres"] = pg
    return urls


def _pg_ready(url: str) -> bool:
    admin = url.rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    try:
        import psycopg

        with psycopg.connect(admin, autocommit=True, connect_timeout=2) as conn:
            exists = conn.execute("select 1 from pg_database where datname=%s", [name]).fetchone()
            if not exists:
                conn.execute(f'create database "{name}"')
        return True
    except Exception:
        return False


def manage(args: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, **kwargs
    )


def base_env(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("QUEUEY_")},
        "DJANGO_SETTINGS_MODULE": "queuey_site.settings",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key-0123456789-abcdefghijklmnop",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "QUEUEY_WATCHDOG_METRICS_PORT": "0",
        "QUEUEY_LOG_LEVEL": "WARNING",
        **extra,
    }
