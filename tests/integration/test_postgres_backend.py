"""queuey_site.postgresql: a connection used within the last second skips Django's
per-request health check (`SELECT 1`); an idle one or one that saw an error is checked,
and one the server dropped while idle is replaced before a query fails."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from jobs.models import Job
from queuey_site.postgresql import base as pg_backend

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backend only"),
]


@pytest.fixture
def health_checks(monkeypatch) -> list[bool]:
    """Each real health check run, with its answer."""
    seen: list[bool] = []
    real = pg_backend.base.DatabaseWrapper.is_usable

    def counted(self) -> bool:
        seen.append(real(self))
        return seen[-1]

    monkeypatch.setattr(pg_backend.base.DatabaseWrapper, "is_usable", counted)
    return seen


def next_request() -> None:
    """What Django does at each request boundary (close_old_connections)."""
    connection.close_if_unusable_or_obsolete()


def test_a_connection_just_used_is_not_checked_again(health_checks):
    Job.objects.count()
    next_request()
    Job.objects.count()
    assert health_checks == []


def test_an_idle_connection_is_checked(health_checks):
    Job.objects.count()
    connection._last_cursor_at -= pg_backend.TRUSTED_FOR_SECONDS + 1
    next_request()
    Job.objects.count()
    assert health_checks == [True]


def test_a_connection_the_server_dropped_while_idle_is_replaced(health_checks):
    Job.objects.count()
    old_pid = connection.connection.info.backend_pid
    with psycopg.connect(**_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [old_pid])
    connection._last_cursor_at -= pg_backend.TRUSTED_FOR_SECONDS + 1
    next_request()
    assert Job.objects.count() == 0  # no error: the dead connection was replaced
    assert health_checks == [False]
    assert connection.connection.info.backend_pid != old_pid


def test_a_connection_dropped_within_the_second_fails_once_then_is_replaced(health_checks):
    from django.db import OperationalError

    Job.objects.count()
    old_pid = connection.connection.info.backend_pid
    with psycopg.connect(**_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [old_pid])
    next_request()
    with pytest.raises(OperationalError):
        Job.objects.count()
    next_request()  # the error makes Django check it, find it dead and close it
    assert Job.objects.count() == 0
    assert health_checks == [False]
    assert connection.connection.info.backend_pid != old_pid


def test_a_connection_that_saw_an_error_is_checked(health_checks):
    Job.objects.count()
    connection.errors_occurred = True
    next_request()  # Django's own check of a connection that saw an error
    Job.objects.count()
    assert health_checks == [True]


def _params() -> dict:
    s = connection.settings_dict
    return {
        "host": s["HOST"] or "127.0.0.1",
        "port": s["PORT"] or 5432,
        "user": s["USER"],
        "password": s["PASSWORD"] or None,
        "dbname": s["NAME"],
    }


def test_the_server_ends_our_sessions_left_idle_inside_a_transaction():
    """A worker SIGSTOPped mid-transaction would hold its row locks, and with them every
    other writer of those jobs, until it resumed: the server ends it after
    QUEUEY_DB_IDLE_IN_TRANSACTION_TIMEOUT (15 s by default)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "15s"
