import pytest

from jobs.broker.keys import Keys
from jobs.errors import InvalidInput, PayloadTooLarge
from jobs.validation import check_storable, encode_limited


def test_every_key_shares_one_hash_tag():
    k = Keys("qy")
    names = [
        k.job("x"),
        k.queue("high"),
        k.scheduled,
        k.leases,
        k.dlq,
        k.outbox,
        k.notify,
        k.workers,
        k.worker("w"),
        k.epoch,
        k.token_seq,
    ]
    assert all("{main}" in n and n.startswith("qy:") for n in names)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    "value",
    ["a\x00b", {"k\x00": 1}, "\ud800", float("inf"), float("nan"), [[[[1]]]]],
)
def test_unstorable_or_too_deep_json_is_refused(value):
    with pytest.raises(InvalidInput):
        check_storable(value, field="payload", max_depth=3)


def test_hostile_nesting_does_not_overflow_the_stack():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InvalidInput, match="deeper than 64"):
        check_storable(deep, field="payload", max_depth=64)


def test_size_limit_counts_utf8_bytes():
    assert encode_limited({"t": "é" * 10}, field="p", max_bytes=100, max_depth=5)
    with pytest.raises(PayloadTooLarge):
        encode_limited({"t": "é" * 60}, field="p", max_bytes=100, max_depth=5)
