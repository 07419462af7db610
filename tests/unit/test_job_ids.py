"""Job ids are UUIDv7 in creation order that keep to the clock, bursts included."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

import pytest

from jobs import ids


def id_ms(job_id: uuid.UUID) -> int:
    return job_id.int >> 80


def test_ids_are_unique_increasing_uuid7():
    made = [ids.new_job_id() for _ in range(50_000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert {(i.version, i.variant) for i in made} == {(7, uuid.RFC_4122)}


def test_a_burst_keeps_the_ids_time_on_the_clock():
    """uuid6.uuid7 moved the millisecond on for every further id in one millisecond:
    after 200,000 ids made back to back their time ran minutes ahead of the clock."""
    made = [ids.new_job_id() for _ in range(200_000)]
    now_ms = time.time_ns() // 1_000_000
    assert id_ms(made[-1]) <= now_ms + 1  # the counter, not the time, took the burst


@pytest.fixture
def frozen_clock(monkeypatch):
    clock = SimpleNamespace(ms=time.time_ns() // 1_000_000 + 10_000)
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: clock.ms * 1_000_000))
    # Put the generator's state back after: its ids ten seconds ahead would otherwise
    # hold every later id of this process in the future.
    monkeypatch.setattr(ids, "_last_ms", ids._last_ms)
    monkeypatch.setattr(ids, "_counter", ids._counter)
    return clock


def test_past_4096_ids_in_one_millisecond_the_time_moves_on_by_one(frozen_clock):
    made = [ids.new_job_id() for _ in range(5_000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert {id_ms(i) for i in made} == {frozen_clock.ms, frozen_clock.ms + 1}


def test_a_clock_stepped_back_does_not_break_the_order(frozen_clock):
    before = ids.new_job_id()
    frozen_clock.ms -= 5_000  # NTP steps the clock back five seconds
    after = ids.new_job_id()
    assert after > before and id_ms(after) == id_ms(before)
