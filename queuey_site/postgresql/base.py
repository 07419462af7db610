"""PostgreSQL backend that skips the health check of a connection it has just used.

With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first query of every
request (and every close_old_connections() of a worker loop): on a busy API that was a
second database round trip per job submitted. A connection that ran a query in the last
TRUSTED_FOR_SECONDS, with no error since, is used as it is. A connection that sat idle
longer, or saw an error, is checked as before, so one that died while idle (a database
restart) is replaced before it fails a request. One killed within that second fails its
next query; Django then finds it unusable and the next request reconnects.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.backends.postgresql import base

TRUSTED_FOR_SECONDS = 1.0


class DatabaseWrapper(base.DatabaseWrapper):
    health_check_done: bool  # set by BaseDatabaseWrapper; not in django-stubs

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_cursor_at = float("-inf")

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and not self.health_check_done
            and not self.errors_occurred
            and time.monotonic() - self._last_cursor_at < TRUSTED_FOR_SECONDS
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def create_cursor(self, name: str | None = None) -> Any:
        self._last_cursor_at = time.monotonic()
        return super().create_cursor(name)
