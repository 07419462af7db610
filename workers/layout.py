"""The start-up check that this process's partition count fits the jobs in Redis."""

from __future__ import annotations

import logging

import redis

from jobs.broker.client import Broker, PartitionLayoutMismatch
from workers.supervisor import EXIT_CONFIG

logger = logging.getLogger("queuey.worker")

# A configuration error, not a crash: the supervisor does not restart it in a loop.
EXIT_WRONG_LAYOUT = EXIT_CONFIG


def layout_fits(broker: Broker) -> bool:
    """Record the partition count, or log why this process must not start. Redis away
    at start is not a refusal: the process waits for it like for any outage."""
    try:
        broker.check_layout()
    except PartitionLayoutMismatch as exc:
        logger.error("queuey.partition_layout_mismatch: %s", exc)
        return False
    except redis.RedisError as exc:
        logger.warning("queuey.partition_layout_unchecked error=%s", exc)
    return True
