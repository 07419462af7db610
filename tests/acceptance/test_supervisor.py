"""`runworker --processes N`: the supervisor runs without Django (workers/supervise.py)
and still refuses bad options, keeps N children, and stops them on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.models import Job
from tests.support.factories import submit
from tests.support.stack import ROOT, wait_for
from workers.supervise import parse, problem


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


@pytest.mark.parametrize(
    ("argv", "processes"),
    [
        (["manage.py", "runworker", "--processes", "3"], 3),
        (["manage.py", "runworker", "--processes=2", "--burst"], 2),
        (["manage.py", "runworker", "--processes", "1"], None),  # the plain worker
        (["manage.py", "runworker"], None),
        (["manage.py", "runworker", "--processes", "2", "--help"], None),  # Django's help
        (["manage.py", "runworker", "--processes", "2", "--bogus"], None),  # Django's error
        (["manage.py", "migrate"], None),
    ],
)
def test_only_a_supervisors_command_line_skips_django(argv, processes):
    options = parse(argv)
    assert (options.processes if options else None) == processes


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--queues", "high,urgent"], "unknown queues ['urgent']"),
        (["--queues", ","], "unknown queues []"),
        (["--concurrency", "0"], "--concurrency must be from 1 to 1024"),
    ],
)
def test_bad_options_are_refused_before_any_child_starts(extra, message):
    options = parse(["manage.py", "runworker", "--processes", "2", *extra])
    assert options is not None
    assert problem(options).startswith(message)
    done = subprocess.run(
        [sys.executable, "manage.py", "runworker", "--processes", "2", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert message in done.stderr


def test_a_supervisor_keeps_its_children_and_stops_them(stack):
    supervisor = stack.worker("--processes", "2")
    wait_for(lambda: len(children(supervisor.pid)) == 2, 30, "two worker processes")
    ids = [submit("text.reverse", {"text": f"job {i}"}).pk for i in range(10)]
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, status="succeeded").count() == 10,
        30,
        "the children to run the jobs",
    )
    pids = children(supervisor.pid)
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(timeout=30) == 0
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )
