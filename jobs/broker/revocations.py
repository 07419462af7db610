"""API key revocations, announced to every API process through Redis pub/sub.

Pub/sub delivers at most once, to whoever is subscribed at that moment: a message sent
while a listener was disconnected is lost. So a listener calls `on_revoked` not only for
each message but also each time Redis confirms its (re)subscription, redis-py's silent
reconnects included: the caller then forgets every cached key, since any of them may
have been revoked while it was not listening. What it can still miss is bounded by the
caller's cache lifetime.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable

import redis

from jobs import conf
from jobs.broker.connection import get_redis
from jobs.broker.keys import Keys

logger = logging.getLogger("queuey.broker")

LISTEN_POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 5.0

_lock = threading.Lock()
_listener_pid: int | None = None
_listener: threading.Thread | None = None
# Set at interpreter exit: a daemon thread frozen inside the connection pool's lock made
# the process hang in Redis.__del__ at exit (seen at the end of a test run).
_stop = threading.Event()


def _channel() -> str:
    return Keys(conf.get("KEY_PREFIX")).key_revocations


def announce_revocation() -> int:
    """Tell every listening process that keys were revoked; returns how many heard it.
    Raises redis.RedisError: the caller decides whether that matters."""
    return int(get_redis().publish(_channel(), "revoked"))


def listen(on_revoked: Callable[[], None]) -> None:
    """Start this process's listener thread unless it runs already (once per process:
    a forked child starts its own)."""
    global _listener_pid
    if _listener_pid == os.getpid():
        return
    with _lock:
        if _listener_pid == os.getpid():
            return
        _stop.clear()
        thread = threading.Thread(
            target=_listen_forever, args=(on_revoked,), name="key-revocations", daemon=True
        )
        thread.start()
        _listener_pid, _listener = os.getpid(), thread


@atexit.register
def stop_listening() -> None:
    """Stop this process's listener: at exit, so it leaves the pool before the
    interpreter finalizes, and in tests that point REDIS_URL elsewhere (the next
    listen() starts one on the new server)."""
    global _listener_pid, _listener
    _stop.set()
    if _listener is not None and _listener_pid == os.getpid():
        _listener.join(timeout=LISTEN_POLL_SECONDS + 1)
    _listener_pid, _listener = None, None


def _listen_forever(on_revoked: Callable[[], None]) -> None:
    failures = 0
    while not _stop.is_set():
        pubsub = get_redis().pubsub()
        try:
            pubsub.subscribe(_channel())
            while not _stop.is_set():
                message = pubsub.get_message(timeout=LISTEN_POLL_SECONDS)
                if message is None or message["type"] not in ("subscribe", "message"):
                    continue
                if failures:
                    logger.info("queuey.key_revocations_heard_again after=%d failures", failures)
                    failures = 0
                on_revoked()
        except redis.RedisError as exc:
            failures += 1
            delay = min(MAX_BACKOFF_SECONDS, 0.1 * 2 ** min(failures, 6))
            logger.log(
                logging.WARNING if failures == 1 else logging.DEBUG,  # once per outage
                "queuey.key_revocations_unheard error=%s retry_in=%.1fs: a revoked key "
                "stays valid in this process for up to %gs",
                exc,
                delay,
                conf.get("API_KEY_CACHE_SECONDS"),
            )
            _stop.wait(delay)
        except Exception:
            # Never let the thread die: without it revocations wait for the cache to expire.
            logger.exception("queuey.key_revocations_listener_failed")
            _stop.wait(MAX_BACKOFF_SECONDS)
        finally:
            pubsub.close()
