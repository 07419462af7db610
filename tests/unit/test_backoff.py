import pytest

from jobs.backoff import backoff_seconds


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [
        (1, 1.0, 1.0),
        (2, 1.0, 2.0),
        (3, 1.0, 4.0),
        (6, 1.0, 32.0),
        (7, 1.0, 60.0),  # capped
        (50, 1.0, 60.0),
        (5000, 1.0, 60.0),  # no overflow for absurd attempt numbers
        (1, 0.5, 0.5),
        (4, 0.5, 4.0),
        (7, 0.5, 30.0),
        (3, 0.0, 0.0),  # full jitter reaches zero
    ],
)
def test_backoff_table(attempt, rand, expected):
    assert backoff_seconds(attempt, base=1, factor=2, cap=60, rand=lambda: rand) == expected


def test_backoff_stays_within_bounds_with_real_randomness():
    for attempt in range(1, 30):
        delay = backoff_seconds(attempt, base=0.5, factor=3, cap=100)
        assert 0 <= delay <= min(100, 0.5 * 3 ** (attempt - 1))


def test_backoff_rejects_attempt_zero():
    with pytest.raises(ValueError):
        backoff_seconds(0, base=1, factor=2, cap=1)
