"""The suite's broker tests again, on a 3-master Redis Cluster with 6 partitions."""

from __future__ import annotations

import uuid

import pytest

from tests.support.redis_cluster import RedisCluster

PARTITIONS = 6


@pytest.fixture(scope="session")
def redis_cluster():
    from django.db import connection

    if connection.vendor != "sqlite":
        # The cluster proof is about Redis, and the database side of these tests runs
        # on PostgreSQL in tests/integration and tests/acceptance: one pass keeps make
        # test within its time (the PostgreSQL pass runs the scale-out test instead).
        pytest.skip("the Redis Cluster tests run in the SQLite pass of make test")
    cluster = RedisCluster(masters=3).start()
    yield cluster
    cluster.cleanup()


@pytest.fixture(autouse=True)
def _isolated_queue(settings, redis_cluster, redis_server):
    """Replaces the suite's fixture: REDIS_URL names the cluster (the cache, which
    django-redis keeps on one server, stays on the suite's plain Redis)."""
    from jobs.broker.connection import reset_redis
    from jobs.broker.revocations import stop_listening

    settings.REDIS_URL = redis_cluster.url
    settings.QUEUEY_PARTITIONS = PARTITIONS
    settings.QUEUEY_KEY_PREFIX = f"qc-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": redis_server.url},
    }
    reset_redis()
    redis_cluster.flushall()
    yield
    # A key revocation listener this test started is subscribed on the cluster: stop it,
    # or the process's one listener stays there for the tests that follow.
    stop_listening()
    reset_redis()


@pytest.fixture
def raw_redis(redis_cluster):
    """A cluster client: reads any key, wherever its slot lives."""
    from jobs.broker.connection import connect

    return connect(redis_cluster.url)


@pytest.fixture
def stack(transactional_db, request):
    """Real worker and watchdog processes, told the cluster's partition count."""
    from tests.support.stack import Stack

    s = Stack(QUEUEY_PARTITIONS=PARTITIONS)
    yield s
    s.stop()
    if getattr(request.node, "rep_call", None) and request.node.rep_call.failed:
        print(s.logs())


# The API's personas and client, for the /v1 cases collected in test_api_on_cluster.py.
from tests.api.conftest import (  # noqa: E402, F401
    admin_key,
    api,
    dead_job,
    read_key,
    revoked_key,
    submit_key,
)
