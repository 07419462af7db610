"""`manage.py runworker --processes N` (N > 1) without Django in the supervisor.

The supervisor only starts, watches and signals its children and serves their metrics:
none of that needs Django, whose set-up took 0.4 s here before the first child was even
started (a worker then came up in twice a single process's time). manage.py hands such
a command line here before it sets Django up; the children are plain
`runworker --processes 1` processes that set Django up in parallel, and check their
arguments again as the command does.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from jobs.queues import QUEUES


def parse(argv: list[str]) -> argparse.Namespace | None:
    """The runworker options, when this is a supervisor's command line (else None)."""
    if len(argv) < 2 or argv[1] != "runworker" or {"-h", "--help"} & set(argv):
        return None
    parser = argparse.ArgumentParser(prog=f"{argv[0]} runworker", add_help=False)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--queues", default=",".join(QUEUES))
    parser.add_argument("--burst", action="store_true")
    options, rest = parser.parse_known_args(argv[2:])
    return options if options.processes > 1 and not rest else None


def problem(options: argparse.Namespace) -> str:
    """What is wrong with the options, as the command says it ("" when nothing)."""
    queues = [q.strip() for q in options.queues.split(",") if q.strip()]
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown or not queues:
        return f"unknown queues {unknown}; valid: {', '.join(QUEUES)}"
    if options.concurrency is not None and not 1 <= options.concurrency <= 1024:
        return "--concurrency must be from 1 to 1024"
    return ""


def run(argv: list[str]) -> int | None:
    """Supervise, or None when the command line is not a supervisor's (Django's turn)."""
    options = parse(argv)
    if options is None:
        return None
    wrong = problem(options)
    if wrong:
        print(f"CommandError: {wrong}", file=sys.stderr)
        return 1
    _configure_logging()
    from workers.supervisor import Supervisor

    supervisor = Supervisor(
        processes=options.processes,
        argv=argv,
        metrics_port=int(os.environ.get("QUEUEY_WORKER_METRICS_PORT") or 0),
        metrics_addr=os.environ.get("QUEUEY_METRICS_ADDR") or "127.0.0.1",
    )
    return supervisor.run()


def _configure_logging() -> None:
    from queuey_site.log_format import make_formatter

    handler = logging.StreamHandler()
    handler.setFormatter(make_formatter(os.environ.get("QUEUEY_LOG_FORMAT", "text")))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(os.environ.get("QUEUEY_LOG_LEVEL", "INFO"))
