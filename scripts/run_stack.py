#!/usr/bin/env python3
"""Run the Queuey development stack in the foreground (used by `make run`).

Starts three children and prefixes every line they print:

    api      | gunicorn queuey_site.wsgi on 127.0.0.1:$PORT (config: gunicorn.conf.py)
    worker   | manage.py runworker --processes 2
    watchdog | manage.py runwatchdog

SIGINT (Ctrl+C) or SIGTERM is forwarded once to every child; the runner then waits up
to --grace seconds (default 30) and SIGKILLs whatever is left (a second Ctrl+C kills at
once). If a child exits on its own, the others are stopped the same way and the runner
exits non-zero. Pure standard library, so it runs before anything else is importable.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_print_lock = threading.Lock()


def say(name: str, text: str) -> None:
    with _print_lock:
        sys.stdout.write(f"{name:<8} | {text}\n")
        sys.stdout.flush()


def _set_pdeathsig() -> None:
    """Linux: have the kernel SIGTERM the child if this runner dies without cleaning up."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    except Exception:  # noqa: S110 - best effort only
        pass


class Child:
    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.reader: threading.Thread | None = None

    def start(self) -> None:
        # A session of its own: the terminal's Ctrl+C reaches only the runner, which then
        # forwards exactly one signal (so nothing sees a "second Ctrl+C" it did not get).
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_set_pdeathsig,  # readers start only after every child is spawned
        )
        say(self.name, f"started pid {self.proc.pid}: {' '.join(self.argv)}")

    def start_reader(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        self.reader = threading.Thread(target=self._pump, name=f"pump-{self.name}", daemon=True)
        self.reader.start()

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            say(self.name, raw.decode("utf-8", "replace").rstrip("\r\n"))
        self.proc.stdout.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, signum: int) -> None:
        if self.running:
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signum)

    def kill_group(self) -> None:
        """SIGKILL the child and everything it spawned (its own session / process group)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def build_children(args: argparse.Namespace) -> list[Child]:
    base_env = dict(os.environ)
    base_env.setdefault("PYTHONUNBUFFERED", "1")
    python = sys.executable

    api_env = dict(base_env)
    if args.prometheus_dir:
        prom_dir = (ROOT / args.prometheus_dir).resolve()
        shutil.rmtree(prom_dir, ignore_errors=True)
        prom_dir.mkdir(parents=True, exist_ok=True)
        api_env["PROMETHEUS_MULTIPROC_DIR"] = str(prom_dir)
    api_env.setdefault("GUNICORN_BIND", f"{args.host}:{os.environ.get('PORT', '8000')}")
    api_env.setdefault("GUNICORN_WORKERS", "2")
    api_env.setdefault("GUNICORN_THREADS", "4")

    return [
        Child(
            "api",
            [python, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "queuey_site.wsgi"],
            api_env,
        ),
        Child(
            "worker",
            [python, "manage.py", "runworker", "--processes", str(args.worker_processes)],
            dict(base_env),
        ),
        Child("watchdog", [python, "manage.py", "runwatchdog"], dict(base_env)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="API bind host (default 127.0.0.1)")
    parser.add_argument("--worker-processes", type=int, default=2)
    parser.add_argument("--grace", type=float, default=30.0, help="seconds to wait on stop")
    parser.add_argument(
        "--prometheus-dir",
        default="",
        help="PROMETHEUS_MULTIPROC_DIR for gunicorn, emptied at start (e.g. var/prometheus)",
    )
    args = parser.parse_args(argv)

    children = build_children(args)
    received: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    # Spawn everything first, then start the reader threads (preexec_fn and threads don't mix).
    started: list[Child] = []
    try:
        for child in children:
            child.start()
            started.append(child)
    except OSError as exc:
        say("runner", f"could not start {child.name}: {exc}")
        for c in started:
            c.kill_group()
        return 1
    for child in children:
        child.start_reader()

    failed: Child | None = None
    stop_signal = signal.SIGTERM
    while True:
        if received:
            stop_signal = signal.SIGINT if received[0] == signal.SIGINT else signal.SIGTERM
            say("runner", f"got {signal.Signals(received[0]).name}: stopping everything")
            break
        dead = [c for c in children if not c.running]
        if dead:
            failed = dead[0]
            assert failed.proc is not None
            say(
                "runner",
                f"{failed.name} exited unexpectedly (code {failed.proc.returncode}):"
                " stopping the others",
            )
            break
        time.sleep(0.2)

    # Graceful stop: one signal to each child (gunicorn master, worker and watchdog handle
    # SIGINT/SIGTERM themselves and stop their own processes).
    received.clear()
    for child in children:
        child.signal(stop_signal)

    deadline = time.monotonic() + args.grace
    killed = False
    while any(c.running for c in children):
        if received:
            say("runner", "second signal: killing everything now")
            break
        if time.monotonic() >= deadline:
            say("runner", f"still running after {args.grace:.0f}s: killing")
            break
        time.sleep(0.1)
    for child in children:
        if child.running:
            killed = True
            say("runner", f"SIGKILL {child.name} (pid {child.proc.pid if child.proc else '?'})")
        # Reap leftovers of every group too (e.g. a gunicorn worker orphaned by a crash).
        child.kill_group()
    for child in children:
        if child.proc is not None:
            child.proc.wait()
        if child.reader is not None:
            child.reader.join(timeout=2)

    codes = ", ".join(f"{c.name}={c.proc.returncode}" for c in children if c.proc is not None)
    say("runner", f"all stopped ({codes})")
    if failed is not None:
        assert failed.proc is not None
        code = failed.proc.returncode
        return 128 - code if code < 0 else (code or 1)
    return 1 if killed else 0


if __name__ == "__main__":
    sys.exit(main())
