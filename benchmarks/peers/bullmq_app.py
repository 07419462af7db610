"""BullMQ 6.7 adapter (Node): 2 worker processes x 16, producers in bullmq/producer.mjs.

Node and the packages live in var/peers/bullmq (benchmarks.peers.install runs `npm ci`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent / "bullmq"
MODULES = Path(__file__).resolve().parents[2] / "var" / "peers" / "bullmq"


def _node(script: str, *args: object) -> dict:
    out = subprocess.run(
        ["node", str(MODULES / script), *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker_cmds(processes: int) -> list[list[str]]:
    return [["node", str(MODULES / "worker.mjs")] for _ in range(processes)]


def seed(n: int) -> None:
    _node("producer.mjs", "seed", n)


def warm_up(n: int) -> None:
    _node("producer.mjs", "warm", n)


def produce_paced(_adapter, rate: float, seconds: float) -> tuple[int, float]:
    out = _node("producer.mjs", "paced", rate, seconds)
    return out["sent"], out["achieved"]


def enqueue_rate(seconds: float) -> float:
    return _node("producer.mjs", "rate", seconds)["jobs_per_s"]
