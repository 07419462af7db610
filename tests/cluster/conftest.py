"""The suite's broker tests again, on a 3-master Redis Cluster with 6 partitions."""

from __future__ import annotations

import uuid

import pytest

from tests.support.redis_cluster import RedisCluster

PARTITIONS = 6


@pytest.fixture(scope="session")
def redis_cluster():
    cluster = RedisCluster(masters=3).start()
    yield cluster
    cluster.cleanup()


@pytest.fixture(autouse=True)
def _isolated_queue(settings, redis_cluster, redis_server):
    """Replaces the suite's fixture: REDIS_URL names the cluster (the cache, which
    django-redis keeps on one server, stays on the suite's plain Redis)."""
    from jobs.broker.connection import reset_redis

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
