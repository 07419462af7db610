"""Every broker transition, the watchdog's rebuild and the enqueue API, unchanged, on a
Redis Cluster of 3 masters with QUEUEY_PARTITIONS=6 (fixtures: tests/cluster/conftest.py):
the tests are the ones in tests/integration, collected again here."""

from __future__ import annotations

import pytest

from tests.integration import test_broker_transitions, test_enqueue, test_watchdog_and_reconcile

pytestmark = pytest.mark.django_db(transaction=True)

for _module in (test_broker_transitions, test_enqueue, test_watchdog_and_reconcile):
    globals().update({n: getattr(_module, n) for n in dir(_module) if n.startswith("test_")})
