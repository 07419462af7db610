"""Dashboard personas (anonymous, a non-staff user, a viewer, an operator) and jobs in
known states, made through the services and the broker as a worker would."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from jobs import outbox
from jobs.broker.client import Broker
from jobs.broker.connection import reset_redis
from jobs.models import Job
from tests.support.factories import claim, outcome, submit
from tests.support.redis_server import free_port

WORKER = "host-a:4242:f00d"


def _client_for(user: User | None, **options) -> Client:
    client = Client(**options)
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def operator(db) -> User:
    user = User.objects.create_user("olga", password="olga-pass-123", is_staff=True)
    user.groups.add(Group.objects.get(name="operators"))
    return user


@pytest.fixture
def viewer(db) -> User:
    return User.objects.create_user("victor", password="victor-pass-123", is_staff=True)


@pytest.fixture
def outsider(db) -> User:
    return User.objects.create_user("nina", password="nina-pass-123", is_staff=False)


@pytest.fixture
def anon_client(db) -> Client:
    return Client()


@pytest.fixture
def operator_client(operator) -> Client:
    return _client_for(operator)


@pytest.fixture
def viewer_client(viewer) -> Client:
    return _client_for(viewer)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return _client_for(outsider)


def finish(broker: Broker, kind: str = "succeeded", detail: str = "null", worker: str = WORKER):
    """Claim the next job and record `kind` for it, as a worker and the outbox would."""
    [claimed] = claim(broker, worker=worker)
    finished = broker.finish([outcome(claimed, kind, detail=detail)])
    outbox.apply_and_settle(broker, [f.entry for f in finished])
    return claimed


@pytest.fixture
def queued_job(db) -> Job:
    return submit("demo.noop", {"n": 1}, dedupe_key="order-17")


@pytest.fixture
def dead_job(db, broker: Broker) -> Job:
    """Failed its only attempt (on WORKER) and sits in the DLQ."""
    job = submit("demo.noop", {"n": 2}, max_attempts=1)
    finish(broker, "failed", detail="ValueError: boom")
    job.refresh_from_db()
    assert job.status == "dead"
    return job


@pytest.fixture
def succeeded_job(db, broker: Broker) -> Job:
    job = submit("demo.noop", {"n": 3})
    finish(broker, "succeeded", detail='{"answer": 42}')
    job.refresh_from_db()
    assert job.status == "succeeded"
    return job


@pytest.fixture
def redis_down(settings):
    """Point the broker and the cache at a port nothing listens on."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = url
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": url},
    }
    reset_redis()
    yield
    reset_redis()


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("sara", password="sara-pass-123")


@pytest.fixture
def superuser_client(superuser) -> Client:
    return _client_for(superuser)


def kill(broker: Broker, count: int, type: str = "demo.noop", error: str = "ValueError: boom"):
    """`count` jobs that failed their only attempt, oldest first."""
    jobs = [submit(type, {"text": f"t{i}"}, max_attempts=1) for i in range(count)]
    for _ in jobs:
        finish(broker, "failed", detail=error)
    for job in jobs:
        job.refresh_from_db()
        assert job.status == "dead"
    return jobs
