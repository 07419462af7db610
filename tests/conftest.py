"""Real stores, isolated: a redis-server of the suite's own and pytest-django's test DB."""

from __future__ import annotations

import os
import sys
import uuid

import pytest
import redis

from tests.support.redis_server import RedisServer

# Nothing from the developer's shell may leak into the suite (DATABASE_URL chooses the
# backend under test and stays).
for name in list(os.environ):
    if name.startswith("QUEUEY_") or name == "REDIS_URL":
        del os.environ[name]


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture(autouse=True)
def _isolated_queue(settings, redis_server, request):
    """Each test: our Redis server, a key prefix of its own, an empty Redis."""
    from jobs.broker.connection import reset_redis

    settings.REDIS_URL = redis_server.url
    settings.QUEUEY_KEY_PREFIX = f"qt-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": redis_server.url},
    }
    reset_redis()
    redis.Redis.from_url(redis_server.url).flushall()
    yield
    reset_redis()


@pytest.fixture
def broker():
    from jobs.broker.client import Broker

    return Broker()


@pytest.fixture
def raw_redis(redis_server):
    return redis.Redis.from_url(redis_server.url, decode_responses=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the call phase's report on the item, so fixtures can print logs on failure."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


# At interpreter exit, redis-py's Redis.__del__ takes its pool's lock; a daemon thread a
# test left running (an in-process worker's lease keeper, a listener) can be frozen by
# the interpreter's shutdown while holding it, and the run then hangs after its summary
# (seen twice in make test, once in three runs). Everything worth doing is done once
# pytest has unconfigured, so the process ends there, with pytest's own exit status.
_exit_status = 0


def pytest_sessionfinish(session, exitstatus):
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)
