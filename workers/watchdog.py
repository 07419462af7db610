"""The watchdog: makes sure no accepted job is lost.

Each tick it (1) requeues jobs whose lease expired, (2) promotes due scheduled jobs,
(3) writes outbox entries that a dead worker left unwritten, and every reconcile
interval (or at once when Redis lost its data) (4) re-dispatches jobs that the database
holds as unfinished but Redis does not know. Every step is atomic in Redis or
idempotent in the database, so several watchdogs may run at once.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

import redis
from django.db import DatabaseError, close_old_connections

from jobs import conf, events, outbox
from jobs.broker.client import Broker
from jobs.broker.connection import warn_unless_noeviction
from jobs.handlers.registry import registered_types
from workers import heartbeat_file
from workers.layout import EXIT_WRONG_LAYOUT, layout_fits
from workers.reconcile import Reconciler

logger = logging.getLogger("queuey.watchdog")


class Watchdog:
    def __init__(self, broker: Broker | None = None) -> None:
        self.broker = broker or Broker()
        self.reconciler = Reconciler(self.broker)
        self.stop_event = threading.Event()
        self._next_reconcile = 0.0

    def request_stop(self) -> None:
        self.stop_event.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.request_stop())
        signal.signal(signal.SIGINT, lambda *_: self.request_stop())

    def run(self) -> int:
        if not layout_fits(self.broker):
            return EXIT_WRONG_LAYOUT
        logger.info("queuey.watchdog_started")
        events.prime("watchdog", conf.QUEUES, registered_types())
        try:
            warn_unless_noeviction(self.broker.redis)
        except redis.RedisError as exc:
            logger.warning("queuey.redis_unreachable_at_start error=%s", exc)
        failures = 0
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                done = self.run_once()
                failures = 0
                delay = conf.get("WATCHDOG_INTERVAL")
                events.watchdog_pass(done, time.monotonic() - started)
            except (redis.RedisError, DatabaseError) as exc:
                failures += 1
                delay = min(5.0, 0.2 * 2 ** min(failures, 5))
                events.watchdog_pass_failed(exc, delay)
            finally:
                close_old_connections()
            self.stop_event.wait(delay)
        logger.info("queuey.watchdog_stopped")
        return 0

    def run_once(self) -> dict[str, int]:
        """One pass; returns what it did (tests call this directly)."""
        done = {"requeued": 0, "promoted": 0, "outbox_written": 0, "redispatched": 0}
        while entries := self.broker.requeue_expired():
            done["requeued"] += len(entries)
            events.leases_expired(outbox.decode(entries))
            outbox.apply_and_settle(self.broker, entries)
        promoted, _ = self.broker.promote_due()
        done["promoted"] = len(promoted)
        outbox.apply_and_settle(self.broker, promoted)
        done["outbox_written"] = self.flush_outbox()
        lost_data = not self.broker.has_epoch()
        if lost_data or time.monotonic() >= self._next_reconcile:
            done["redispatched"] = self.reconciler.run(after_data_loss=lost_data)
            if lost_data:
                # No epoch: a first start, or Redis lost its data. Only the second has
                # jobs to rebuild, so only that is worth a warning.
                level = logging.WARNING if done["redispatched"] else logging.INFO
                logger.log(
                    level,
                    "queuey.redis_epoch_missing rebuilt=%d: first start, or Redis lost "
                    "its data and was rebuilt from the database",
                    done["redispatched"],
                )
            self.broker.mark_epoch()
            self._next_reconcile = time.monotonic() + conf.get("RECONCILE_INTERVAL")
        self.broker.mark_watchdog_pass()
        heartbeat_file.touch()
        return done

    def flush_outbox(self) -> int:
        """Write entries older than the grace period: their worker is gone or stuck."""
        written = 0
        grace_ms = int(conf.get("OUTBOX_GRACE") * 1000)
        while entries := self.broker.outbox_older_than(grace_ms):
            written += outbox.apply_and_settle(self.broker, entries)
        return written
