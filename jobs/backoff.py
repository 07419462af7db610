"""Retry delays: exponential backoff with full jitter, capped."""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_seconds(
    attempt: int,
    *,
    base: float,
    factor: float,
    cap: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """Delay before the attempt after `attempt` (1-based) failed.

    The ceiling grows as base * factor ** (attempt - 1), never above `cap`; the delay is
    drawn uniformly from [0, ceiling] ("full jitter"), so retries of jobs that failed
    together spread out instead of hammering a recovering dependency in lockstep.

    With base=1, factor=2, cap=60: ceilings 1, 2, 4, 8, 16, 32, 60, 60 ...;
    with rand() == 0.5 the delays are 0.5, 1, 2, 4, 8, 16, 30, 30.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    # Compare exponents rather than computing factor ** n, which overflows for big n.
    ceiling = cap
    if factor <= 1 or attempt - 1 < 1024:
        try:
            ceiling = min(cap, base * factor ** (attempt - 1))
        except OverflowError:
            ceiling = cap
    return max(0.0, ceiling * rand())
