"""Failed logins are throttled per username and per address; Redis down fails open."""

from __future__ import annotations

import pytest
from django.test import Client

from dashboard import login_throttle

pytestmark = pytest.mark.django_db


def login(username: str, password: str, address: str = "10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    response = client.post("/dashboard/login/", {"username": username, "password": password})
    return response, client


def test_after_the_limit_even_the_right_password_is_refused(viewer):
    for _ in range(login_throttle.MAX_PER_USERNAME):
        response, _ = login("victor", "wrong")
        assert response.status_code == 200 and b"Too many" not in response.content
    response, client = login("victor", "victor-pass-123")
    assert response.status_code == 200
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    # The username is throttled from any address, whatever its case.
    response, _ = login("VICTOR", "victor-pass-123", address="10.9.9.9")
    assert b"Too many failed logins" in response.content


def test_one_users_failures_do_not_lock_another(viewer, operator):
    for _ in range(login_throttle.MAX_PER_USERNAME):
        login("victor", "wrong")
    response, _ = login("olga", "olga-pass-123")
    assert response.status_code == 302


def test_an_address_is_throttled_across_usernames(viewer, monkeypatch):
    monkeypatch.setattr(login_throttle, "MAX_PER_ADDRESS", 3)
    for name in ("a", "b", "c"):
        login(name, "wrong", address="10.0.0.7")
    response, _ = login("victor", "victor-pass-123", address="10.0.0.7")
    assert b"Too many failed logins" in response.content
    response, _ = login("victor", "victor-pass-123", address="10.0.0.8")
    assert response.status_code == 302


def test_a_success_clears_the_usernames_count(viewer):
    for _ in range(login_throttle.MAX_PER_USERNAME - 1):
        login("victor", "wrong")
    assert login("victor", "victor-pass-123")[0].status_code == 302
    for _ in range(login_throttle.MAX_PER_USERNAME - 1):
        login("victor", "wrong")
    assert login("victor", "victor-pass-123")[0].status_code == 302


def test_redis_down_does_not_lock_staff_out(viewer, redis_down):
    for _ in range(login_throttle.MAX_PER_USERNAME + 1):
        login("victor", "wrong")
    response, client = login("victor", "victor-pass-123")
    assert response.status_code == 302
    assert client.get("/dashboard/jobs/").status_code == 200  # sessions from the database
