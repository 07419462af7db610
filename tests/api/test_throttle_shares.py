"""The per-key budget is shared by API processes through Redis, a share at a time."""

from __future__ import annotations

import time

from jobs.api.throttling import WindowAllowance


def _spend(processes: list[WindowAllowance], requests: int, limit: int) -> int:
    now = time.time()
    return sum(
        processes[i % len(processes)].take("key", "k1", limit, 3600, now) for i in range(requests)
    )


def test_processes_together_never_admit_more_than_the_limit(broker, raw_redis):
    processes = [WindowAllowance() for _ in range(3)]
    assert _spend(processes, 1500, limit=1000) == 1000


def test_a_share_saves_round_trips_at_high_limits(broker, raw_redis, monkeypatch):
    calls = []
    real = type(broker).count_in_window
    monkeypatch.setattr(
        type(broker), "count_in_window", lambda self, *a: calls.append(a) or real(self, *a)
    )
    assert _spend([WindowAllowance()], 1000, limit=100_000) == 1000
    assert len(calls) == 2  # shares of 500


def test_small_limits_are_counted_exactly(broker, raw_redis):
    processes = [WindowAllowance(), WindowAllowance()]
    assert _spend(processes, 10, limit=3) == 3
