"""The /v1 API's submit, batch and admin cases on the 3-master cluster with 6
partitions: dedupe, scheduling, cancel, retry and DLQ replay route each job to its
partition (fixtures: tests/api/conftest.py, imported by tests/cluster/conftest.py)."""

from __future__ import annotations

import pytest

from tests.api import test_admin, test_batch, test_submit

pytestmark = pytest.mark.django_db

for _module in (test_submit, test_batch, test_admin):
    globals().update({n: getattr(_module, n) for n in dir(_module) if n.startswith("test_")})
