from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import overload


@overload
def from_ms(ms: float) -> datetime: ...
@overload
def from_ms(ms: None) -> None: ...
def from_ms(ms: float | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_ms(when: datetime | None) -> int:
    return 0 if when is None else int(when.timestamp() * 1000)


def wall_ms() -> int:
    return int(time.time() * 1000)
