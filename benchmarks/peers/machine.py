"""One line naming the machine and the run: cores, CPU, Redis, PostgreSQL, date, commit."""

from __future__ import annotations

import os
import subprocess
import time

from benchmarks.env import ROOT


def _out(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"


def _cpu() -> str:
    with open("/proc/cpuinfo") as f:
        return next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")


def _postgres(url: str) -> str:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=2) as conn:
            return conn.execute("show server_version").fetchone()[0].split()[0]
    except Exception:
        return "none"


def describe() -> str:
    from benchmarks.peers.run import PG_URL

    redis = _out(["redis-server", "--version"]).split(" v=")[-1].split()[0]
    commit = _out(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = " + uncommitted changes" if _out(["git", "-C", str(ROOT), "status", "-s"]) else ""
    return (
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}, commit {commit}{dirty}; {os.cpu_count()} cores "
        f"({_cpu()}), redis-server {redis}, PostgreSQL {_postgres(PG_URL)}, "
        f"node {_out(['node', '--version']) or 'none'}"
    )
