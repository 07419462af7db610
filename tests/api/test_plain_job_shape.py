"""The inline check for the common job shape must agree with the serializer it skips."""

from __future__ import annotations

import pytest

from jobs.api.serializers import JobSubmitIn, plain_job

CASES = [
    {"type": "demo.noop", "payload": {}},
    {"type": "demo.noop", "payload": {"a": [1, {"b": None}]}},
    {"type": "text.reverse", "payload": {"text": "x"}},
    {"type": "no.such.type", "payload": {}},
    {"type": "", "payload": {}},
    {"type": "demo.noop", "payload": []},
    {"type": "demo.noop", "payload": None},
    {"type": 5, "payload": {}},
    {"type": "demo.noop"},
    {"type": "demo.noop", "payload": {}, "queue": "high"},
    {"type": "demo.noop", "payloads": {}},
    {"type": "demo.noop " * 20, "payload": {}},
    ["demo.noop", {}],
]


@pytest.mark.parametrize("data", CASES)
def test_plain_shape_is_exactly_what_the_serializer_accepts(data):
    serializer = JobSubmitIn(data=data)
    fast = plain_job(data)
    if fast is not None:
        assert serializer.is_valid(), serializer.errors
        assert fast == dict(serializer.validated_data)
    else:  # left to the serializer: not the plain shape, or refused
        shape = isinstance(data, dict) and set(data) == {"type", "payload"}
        assert not shape or not serializer.is_valid()
