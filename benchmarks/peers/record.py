"""Timestamps a peer's worker writes per job: fixed 24-byte records, one file per process.

A record is (kind, enqueued, at) as little-endian doubles: kind 0 = handler start,
kind 1 = completion (the peer's own "done" hook). One unbuffered write per record, so
the reader can count records from file sizes while workers run. Stdlib only: this runs
inside the peers' virtualenv (and bullmq/worker.mjs writes the same format).
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

RECORD = struct.Struct("<ddd")
STARTED, FINISHED = 0.0, 1.0
_fd: dict[int, int] = {}


def write(kind: float, enqueued: float, at: float | None = None) -> None:
    pid = os.getpid()
    fd = _fd.get(pid)
    if fd is None:
        path = Path(os.environ["BENCH_RECORD_DIR"]) / f"{pid}.rec"
        fd = _fd[pid] = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, RECORD.pack(kind, enqueued, time.time() if at is None else at))


def count(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob("*.rec")) // RECORD.size


def read(directory: Path) -> list[tuple[float, float, float]]:
    out = []
    for path in directory.glob("*.rec"):
        data = path.read_bytes()
        usable = len(data) - len(data) % RECORD.size
        out.extend(RECORD.iter_unpack(data[:usable]))
    return out
