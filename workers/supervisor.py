"""Keep N worker processes alive: restart any that exits, forward stop signals.

A child that exits with EXIT_RECYCLE (stuck handler threads) or crashes is replaced;
one that keeps dying right after start is restarted with a growing delay, so a poison
job that kills its worker cannot turn into a tight crash loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess  # starts copies of our own runworker command  # nosec B404
import sys
import threading
import time

logger = logging.getLogger("queuey.supervisor")

MAX_RESTART_DELAY = 30.0


class Supervisor:
    def __init__(self, *, processes: int, argv: list[str]) -> None:
        self.processes = processes
        self.child_argv = self._child_argv(argv)
        self.children: dict[int, subprocess.Popen] = {}
        self.stop_event = threading.Event()
        self.signals_received = 0

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

    @staticmethod
    def _child_env(index: int) -> dict[str, str]:
        """Each child gets its own metrics port (base + index) when metrics are on."""
        env = dict(os.environ)
        base = int(env.get("QUEUEY_WORKER_METRICS_PORT") or 0)
        if base:
            env["QUEUEY_WORKER_METRICS_PORT"] = str(base + index)
        return env

    def _on_signal(self, signum, frame) -> None:
        self.signals_received += 1
        self.stop_event.set()
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        delays = [0.0] * self.processes
        started = [0.0] * self.processes
        slots: list[subprocess.Popen | None] = [None] * self.processes
        while not self.stop_event.is_set():
            for i in range(self.processes):
                child = slots[i]
                if child is not None and child.poll() is None:
                    continue
                if child is not None:
                    quick = time.monotonic() - started[i] < 5
                    delays[i] = min(MAX_RESTART_DELAY, max(1.0, delays[i] * 2)) if quick else 0.0
                    logger.warning(
                        "queuey.worker_exited pid=%d code=%s restart_in=%.0fs",
                        child.pid,
                        child.returncode,
                        delays[i],
                    )
                    self.children.pop(child.pid, None)
                    slots[i] = None
                    started[i] = time.monotonic() + delays[i]
                if time.monotonic() >= started[i]:
                    env = self._child_env(i)
                    # Own session: a Ctrl+C on the terminal reaches only us, and we forward it once.
                    slots[i] = subprocess.Popen(self.child_argv, env=env, start_new_session=True)  # noqa: S603  # fixed argv (sys.executable + our own args)  # nosec B603
                    self.children[slots[i].pid] = slots[i]
                    started[i] = time.monotonic()
            self.stop_event.wait(0.2)
        for child in self.children.values():
            with contextlib.suppress(KeyboardInterrupt):
                child.wait()
        return 0
