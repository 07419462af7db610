"""A revoked API key stops working on every API process: at once while Redis carries the
announcement, within the key cache's lifetime when it cannot.

The other API process is a real gunicorn (queuey_site.wsgi, one worker process) on the
test's database and Redis, which has cached the key before the revocation.
"""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import pytest
import redis
from django.utils import timezone

from jobs import apikeys
from jobs.broker.connection import reset_redis
from jobs.models import ApiKey
from tests.chaos.test_api_faults import Api
from tests.support.redis_server import free_port
from tests.support.stack import Stack, wait_for

# Well above every deadline below: a 401 in time can only come from the announcement.
LONG_CACHE = 60
SHORT_CACHE = 2.0


@pytest.fixture
def other_api(transactional_db):
    stacks = []

    def start(cache_seconds: float) -> Api:
        stack = Stack(QUEUEY_API_KEY_CACHE_SECONDS=cache_seconds)
        stacks.append(stack)
        return Api(SimpleNamespace(stack=stack), workers=1, threads=2)

    yield start
    for stack in stacks:
        stack.stop()


def status(api: Api, key: str) -> int:
    return api.call("GET", "/v1/queues/metrics", key)[0]


def cached_by(api: Api, name: str) -> str:
    """A new key that `api` has accepted (and so cached)."""
    _, raw = apikeys.create_api_key(name=name, scope="admin")
    assert status(api, raw) == 200
    return raw


def test_revoked_key_is_refused_by_another_api_process_at_once(other_api):
    api = other_api(LONG_CACHE)
    raw = cached_by(api, "ops")
    assert status(api, raw) == 200  # served from its cache now
    revoked_at = time.monotonic()
    assert apikeys.revoke_api_key(name="ops") == 1
    wait_for(lambda: status(api, raw) == 401, timeout=1.0, what="the other process's 401")
    assert time.monotonic() - revoked_at < 1.0 < LONG_CACHE


def test_unannounced_revocation_takes_effect_within_the_cache_lifetime(other_api, settings, caplog):
    api = other_api(SHORT_CACHE)
    raw = cached_by(api, "ops")
    # Redis is unreachable from the revoking process: the announcement cannot go out.
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    reset_redis()
    revoked_at = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="queuey"):
        assert apikeys.revoke_api_key(name="ops") == 1  # the revocation itself stands
    assert apikeys.authenticate(raw) is None  # in this process at once
    assert [r for r in caplog.records if "queuey.key_revocation_unannounced" in r.getMessage()]
    wait_for(lambda: status(api, raw) == 401, timeout=SHORT_CACHE + 2, what="the 401")
    assert time.monotonic() - revoked_at <= SHORT_CACHE + 2


def test_listener_forgets_cached_keys_when_it_resubscribes(db, settings, raw_redis):
    """A revocation announced while a listener was disconnected is lost, so each
    (re)subscription clears the cache: a row revoked meanwhile is refused at once."""
    settings.QUEUEY_API_KEY_CACHE_SECONDS = LONG_CACHE
    key, raw = apikeys.create_api_key(name="ops", scope="admin")
    assert apikeys.authenticate(raw) == key  # starts this process's listener
    wait_for(lambda: raw_redis.client_list(_type="pubsub"), timeout=5, what="a listener")
    assert apikeys.authenticate(raw) == key  # cached
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())  # unannounced
    assert apikeys.authenticate(raw) == key  # still cached: nobody told this process
    raw_redis.client_kill_filter(_type="pubsub")
    wait_for(lambda: apikeys.authenticate(raw) is None, timeout=5, what="the cache cleared")


def test_a_lookup_in_flight_does_not_re_cache_a_revoked_key(db, settings):
    """The generation check: a key read before a clear is not stored after it."""
    settings.QUEUEY_API_KEY_CACHE_SECONDS = LONG_CACHE
    key, raw = apikeys.create_api_key(name="ops", scope="admin")
    generation = apikeys._cache.generation  # a lookup begins...
    apikeys._cache.clear()  # ...a revocation is heard...
    apikeys._cache.put(apikeys.digest(raw), key, generation)  # ...the lookup ends
    assert apikeys._cache.get(apikeys.digest(raw)) is None


def test_redis_error_at_revocation_does_not_fail_it(db, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    reset_redis()
    apikeys.create_api_key(name="ops", scope="read")
    with pytest.raises(redis.RedisError):
        apikeys.revocations.announce_revocation()
    assert apikeys.revoke_api_key(name="ops") == 1
