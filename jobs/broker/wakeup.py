"""Waiting for a wake-up token on every partition's wake list at once.

Each enqueue pushes tokens onto its partition's wake list (inside the enqueue script,
so a job is never queued without one). One server takes a single BLPOP over all the
lists. A Redis Cluster refuses a BLPOP whose keys lie in several slots, so there each
list gets a thread of its own that blocks on it while the worker waits, and any token
wakes the worker.
"""

from __future__ import annotations

import atexit
import logging
import threading

import redis

logger = logging.getLogger("queuey.broker")

# A listener re-checks whether its worker still waits this often (s).
LISTEN_SECONDS = 1.0

_stop = threading.Event()
atexit.register(_stop.set)


class ListWaiters:
    """Threads blocked on each wake list while `wait` runs; started on first use."""

    def __init__(self, client: redis.RedisCluster, keys: list[str]) -> None:
        self._client = client
        self._keys = keys
        self._waiting = threading.Event()
        self._woken = threading.Event()
        self._started = False
        self._start_lock = threading.Lock()

    def wait(self, timeout: float) -> bool:
        """Block until a token arrives on any list or the timeout passes."""
        self._start()
        self._waiting.set()
        try:
            woken = self._woken.wait(timeout)
        finally:
            self._waiting.clear()
        # Cleared after, not before: a token a listener took while the worker was busy
        # claiming must still wake this wait (at worst one spare claim round).
        self._woken.clear()
        return woken

    def _start(self) -> None:
        with self._start_lock:
            if self._started:
                return
            for key in self._keys:
                threading.Thread(
                    target=self._listen, args=(key,), name=f"wake:{key}", daemon=True
                ).start()
            self._started = True

    def _listen(self, key: str) -> None:
        while not _stop.is_set():
            if not self._waiting.wait(LISTEN_SECONDS):
                continue  # the worker is busy: leave the tokens to workers that wait
            try:
                token = self._client.blpop([key], timeout=LISTEN_SECONDS)
            except redis.RedisError as exc:
                logger.warning("queuey.wake_list_unreadable key=%s error=%s", key, exc)
                _stop.wait(LISTEN_SECONDS)
                continue
            if token is not None:
                self._woken.set()
