"""`make bench-peers`: Queuey and its peers through the same workloads, interleaved.

Each round runs every scenario on every system in turn (the order rotates per round),
each run on a fresh redis-server of its own on a free loopback port. Knobs:
BENCH_RUNS (rounds, default 3), BENCH_QUICK=1 (1 round, 1,000/4,000-job drains, 5 s
latency runs), BENCH_PEERS (e.g. huey,bullmq), BENCH_PEERS_SCENARIOS (e.g.
drain,lat200), BENCH_DBS (sqlite,postgres), BENCH_STEADY_SECONDS, BENCH_API_SECONDS.
Writes bench-results/peers.json and peers.txt; never fails on a number.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from benchmarks.env import ROOT, BenchRedis, _pg_ready
from benchmarks.peers import install, machine
from benchmarks.peers.table import render

QUICK = os.environ.get("BENCH_QUICK") == "1"
RUNS = int(os.environ.get("BENCH_RUNS", "1" if QUICK else "3"))
DRAINS = (1000, 4000) if QUICK else (5000, 20000)
STEADY = os.environ.get("BENCH_STEADY_SECONDS", "5" if QUICK else "30")
API_SECONDS = os.environ.get("BENCH_API_SECONDS", "5" if QUICK else "20")
ENQUEUE_SECONDS = "2" if QUICK else "5"
PG_URL = os.environ.get(
    "BENCH_PEERS_PG_URL", "postgres://postgres@127.0.0.1:5432/queuey_bench_peers"
)
SQLITE_URL = f"sqlite:///{ROOT / 'var' / 'bench' / 'peers.sqlite3'}"
OUT = ROOT / "bench-results"
# system -> (peer, worker processes)
PEERS = {
    "Huey 2 proc": ("huey", 2),
    "Huey 4 proc": ("huey", 4),  # in the drains only
    "SAQ 2x10": ("saq", 2),
    "Dramatiq 2x8": ("dramatiq", 2),
    "BullMQ 2x16": ("bullmq", 2),
}


def scenarios() -> list[tuple[str, list[str], str]]:
    """(name, arguments, who runs it: all / queuey / all-but-huey4)."""
    out = [(f"drain{n}", ["--scenario", "drain", "--jobs", str(n)], "all") for n in DRAINS]
    out += [
        ("lat200", ["--scenario", "latency", "--rate", "200", "--seconds", STEADY], "2proc"),
        ("api200", ["--scenario", "api", "--rate", "200", "--seconds", API_SECONDS], "queuey"),
        ("enqueue", ["--scenario", "enqueue", "--seconds", ENQUEUE_SECONDS], "2proc"),
        ("watchdog", ["--scenario", "watchdog"], "queuey"),
    ]
    only = os.environ.get("BENCH_PEERS_SCENARIOS")
    return [s for s in out if not only or any(s[0].startswith(o) for o in only.split(","))]


def systems(bullmq: bool) -> dict[str, tuple[str, object]]:
    found: dict[str, tuple[str, object]] = {}
    dbs = os.environ.get("BENCH_DBS", "sqlite,postgres").split(",")
    if "sqlite" in dbs:
        found["Queuey SQLite"] = ("queuey", SQLITE_URL)
    if "postgres" in dbs and _pg_ready(PG_URL):
        found["Queuey PostgreSQL"] = ("queuey", PG_URL)
    only = os.environ.get("BENCH_PEERS")
    for name, (peer, processes) in PEERS.items():
        if (peer != "bullmq" or bullmq) and (not only or peer in only.split(",")):
            found[name] = (peer, processes)
    return found


def run_one(kind: str, setting: object, args: list[str]) -> dict | None:
    """One run on a fresh redis-server; None (and the error's tail) when it failed."""
    redis_server = BenchRedis()
    env = {**os.environ, "REDIS_URL": redis_server.url, "BENCH_REDIS_URL": redis_server.url}
    if kind == "queuey":
        cmd = [sys.executable, "-m", "benchmarks.peers.queuey_side", *args]
        env["DATABASE_URL"] = str(setting)
    else:
        cmd = [str(install.PYTHON), "-m", "benchmarks.peers.harness", "--peer", kind, *args]
        cmd += ["--processes", str(setting)]
    try:
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        print(f"   {kind} {' '.join(args)}: timed out", flush=True)
        return None
    finally:
        redis_server.close()
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        print(f"   {kind} {' '.join(args)} failed: {done.stderr[-800:]}", flush=True)
        return None
    out = json.loads(lines[-1])
    if "startup_s" in out:
        out["startup_ms"] = out["startup_s"] * 1000
    return out


def takes_part(name: str, kind: str, who: str) -> bool:
    if who == "queuey":
        return kind == "queuey"
    return who == "all" or not name.startswith("Huey 4")


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # each run's finally stops it
    OUT.mkdir(exist_ok=True)
    (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
    install.python_peers()
    found = systems(bullmq=install.bullmq())
    for kind, setting in found.values():
        if kind == "queuey":
            run_one("queuey", setting, ["--scenario", "migrate"])
    results: dict[str, dict[str, list]] = {}
    began = time.monotonic()
    names = list(found)
    for round_no in range(RUNS):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for scenario, args, who in scenarios():
            for name in order:
                kind, setting = found[name]
                if not takes_part(name, kind, who):
                    continue
                out = run_one(kind, setting, args)
                results.setdefault(scenario, {}).setdefault(name, []).append(out)
            print(f"== round {round_no + 1}/{RUNS} {scenario}: {time.monotonic() - began:.0f}s",
                  flush=True)  # fmt: skip
    text = machine.describe() + "\n\n" + render(results, names)
    print("\n" + text)
    (OUT / "peers.json").write_text(json.dumps(results, indent=2))
    (OUT / "peers.txt").write_text(text + "\n")
    print(f"\nwritten: {OUT / 'peers.txt'}, {OUT / 'peers.json'} ({time.monotonic() - began:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
