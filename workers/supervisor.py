"""Keep N worker processes alive: restart any that exits, forward stop signals.

A child that exits with EXIT_RECYCLE (stuck handler threads) or crashes is replaced;
one that keeps dying right after start is restarted with a growing delay, so a poison
job that kills its worker cannot turn into a tight crash loop. A child that exits with
EXIT_CONFIG (its configuration does not fit, e.g. the partition count) is not: no
restart can fix that, so the supervisor stops the rest and exits with it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess  # starts copies of our own runworker command  # nosec B404
import sys
import tempfile
import threading
import time
from types import FrameType

from prometheus_client import multiprocess

from workers.metrics_server import serve_multiprocess

logger = logging.getLogger("queuey.supervisor")

# sysexits' EX_CONFIG: workers/layout.py exits with it (no Django imported here).
EXIT_CONFIG = 78

MAX_RESTART_DELAY = 30.0


class Supervisor:
    def __init__(
        self,
        *,
        processes: int,
        argv: list[str],
        metrics_port: int = 0,
        metrics_addr: str = "127.0.0.1",
    ) -> None:
        self.processes = processes
        self.metrics_port, self.metrics_addr = metrics_port, metrics_addr
        self.child_argv = self._child_argv(argv)
        self.children: dict[int, subprocess.Popen] = {}
        self.stop_event = threading.Event()
        self.exit_code = 0
        self.signals_received = 0
        self.metrics_dir = ""

    @staticmethod
    def _child_argv(argv: list[str]) -> list[str]:
        out, skip = [sys.executable, argv[0]], False
        for arg in argv[1:]:
            if skip:
                skip = False
            elif arg == "--processes":
                skip = True
            elif not arg.startswith("--processes="):
                out.append(arg)
        return [*out, "--processes", "1"]

    def _start_metrics(self) -> None:
        """One metrics port for every child: they write their series to a directory of
        ours (prometheus_client's multiprocess mode) and we serve the sum, so a child
        that dies or is replaced keeps its counts in it."""
        if not self.metrics_port:
            return
        directory = tempfile.mkdtemp(prefix="queuey-worker-metrics-")
        self.metrics_dir = directory
        serve_multiprocess(self.metrics_port, self.metrics_addr, directory)

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.metrics_dir:
            env["PROMETHEUS_MULTIPROC_DIR"] = self.metrics_dir
            env["QUEUEY_WORKER_METRICS_PORT"] = "0"  # the supervisor serves
        return env

    def _spawn(self) -> subprocess.Popen:
        # Own session: a Ctrl+C on the terminal reaches only us, and we forward it once.
        return subprocess.Popen(self.child_argv, env=self._child_env(), start_new_session=True)  # noqa: S603  # fixed argv (sys.executable + our own args)  # nosec B603

    def _child_exited(self, pid: int) -> None:
        self.children.pop(pid, None)
        if self.metrics_dir:
            multiprocess.mark_process_dead(pid, path=self.metrics_dir)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signals_received += 1
        self.stop_event.set()
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self._start_metrics()
        try:
            return self._supervise()
        finally:
            if self.metrics_dir:
                shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def _supervise(self) -> int:
        delays = [0.0] * self.processes
        started = [0.0] * self.processes
        slots: list[subprocess.Popen | None] = [None] * self.processes
        while not self.stop_event.is_set():
            for i in range(self.processes):
                child = slots[i]
                if child is not None and child.poll() is None:
                    continue
                if child is not None and child.returncode == EXIT_CONFIG:
                    logger.error("queuey.worker_misconfigured pid=%d: stopping", child.pid)
                    self._on_signal(signal.SIGTERM, None)
                    self.exit_code = EXIT_CONFIG
                    break
                if child is not None:
                    quick = time.monotonic() - started[i] < 5
                    delays[i] = min(MAX_RESTART_DELAY, max(1.0, delays[i] * 2)) if quick else 0.0
                    logger.warning(
                        "queuey.worker_exited pid=%d code=%s restart_in=%.0fs",
                        child.pid,
                        child.returncode,
                        delays[i],
                    )
                    self._child_exited(child.pid)
                    slots[i] = None
                    started[i] = time.monotonic() + delays[i]
                if time.monotonic() >= started[i]:
                    spawned = self._spawn()
                    slots[i] = self.children[spawned.pid] = spawned
                    started[i] = time.monotonic()
            self.stop_event.wait(0.2)
        for child in self.children.values():
            with contextlib.suppress(KeyboardInterrupt):
                child.wait()
        return self.exit_code
