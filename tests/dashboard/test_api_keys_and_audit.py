"""API keys (superusers only: list, create with the key shown once, revoke through the
service so the API refuses it at once) and the audit log (every admin action from the
dashboard, the API and the key commands; filters; keyset pages)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from dashboard.views import audit_log as audit_view
from jobs import apikeys, audit
from jobs.models import ApiKey, AuditEntry
from tests.dashboard.conftest import kill

pytestmark = pytest.mark.django_db


def test_only_superusers_manage_keys(operator_client, viewer_client, superuser_client):
    for client in (operator_client, viewer_client):
        assert client.get("/dashboard/keys/").status_code == 403
        assert (
            client.post("/dashboard/keys/create/", {"name": "x", "scope": "read"}).status_code
            == 403
        )
    assert not ApiKey.objects.exists()
    assert superuser_client.get("/dashboard/keys/").status_code == 200
    assert b"API keys</a>" not in operator_client.get("/dashboard/").content  # not in the nav


def test_list_shows_scope_created_and_last_used(superuser_client):
    _, raw = apikeys.create_api_key(name="billing", scope="submit")
    apikeys.create_api_key(name="idle", scope="read")
    assert apikeys.authenticate(raw) is not None  # loads the key: records its use
    rows = {k["name"]: k for k in superuser_client.get("/dashboard/keys/").context["keys"]}
    assert rows["billing"]["last_used_at"] is not None and rows["idle"]["last_used_at"] is None
    assert rows["billing"]["scope"] == "submit"


def test_create_shows_the_key_once_and_audits(superuser_client, superuser):
    response = superuser_client.post("/dashboard/keys/create/", {"name": "ci", "scope": "admin"})
    raw = response.context["created"][1]
    assert response.status_code == 200 and raw.encode() in response.content
    assert response["Cache-Control"] == "no-store"
    assert apikeys.authenticate(raw).name == "ci"
    assert raw.encode() not in superuser_client.get("/dashboard/keys/").content
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.target, entry.actor_user_id) == ("key.create", "ci", superuser.pk)


def test_revoke_uses_the_service_and_the_api_refuses_the_key(superuser_client):
    _, raw = apikeys.create_api_key(name="old", scope="read")
    assert Client().get("/v1/jobs", HTTP_X_API_KEY=raw).status_code == 200
    response = superuser_client.post("/dashboard/keys/revoke/", {"name": "old"}, follow=True)
    assert b"Revoked 1 key named old." in response.content
    assert Client().get("/v1/jobs", HTTP_X_API_KEY=raw).status_code in (401, 403)
    assert AuditEntry.objects.get().action == "key.revoke"


@pytest.mark.parametrize(
    ("url", "data", "status", "text"),
    [
        ("/dashboard/keys/create/", {"name": "", "scope": "read"}, 400, b"Bad value for name"),
        ("/dashboard/keys/create/", {"name": "k", "scope": "root"}, 400, b"Bad value for scope"),
        (
            "/dashboard/keys/create/",
            {"name": "k" * 101, "scope": "read"},
            400,
            b"Bad value for name",
        ),
        ("/dashboard/keys/revoke/", {"name": "nobody"}, 404, b"no live API key named"),
    ],
)
def test_bad_key_requests(superuser_client, url, data, status, text):
    response = superuser_client.post(url, data)
    assert response.status_code == status and text in response.content
    assert not ApiKey.objects.exists() and not AuditEntry.objects.exists()


def test_key_forms_need_csrf_and_post(superuser):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(superuser)
    assert strict.post("/dashboard/keys/create/", {"name": "x", "scope": "read"}).status_code == 403
    assert strict.get("/dashboard/keys/create/").status_code == 405
    assert not ApiKey.objects.exists()


def test_key_empty_state(superuser_client):
    assert b"No API keys yet" in superuser_client.get("/dashboard/keys/").content


# --- the audit log --------------------------------------------------------------------
def entry(name: str, action: str, via: str = "dashboard", ago_minutes: int = 0) -> AuditEntry:
    made = audit.record(actor=audit.Actor(name=name), via=via, action=action, count=1)
    AuditEntry.objects.filter(pk=made.pk).update(
        created_at=timezone.now() - timedelta(minutes=ago_minutes)
    )
    return made


def test_audit_page_lists_newest_first_and_filters(viewer_client):
    entry("olga", "job.retry", ago_minutes=90)
    entry("key:ci", "dlq.replay", via="api")
    entry("olga", "job.cancel")

    def page(**q) -> list[str]:
        found = viewer_client.get("/dashboard/audit/", q).context["page"]
        return [e.action for e in found.entries]

    assert page() == ["job.cancel", "dlq.replay", "job.retry"]
    assert page(actor="olga") == ["job.cancel", "job.retry"]
    assert page(via="api") == ["dlq.replay"]
    assert page(action="job.retry") == ["job.retry"]
    since = (timezone.now() - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    assert page(since=since) == ["job.cancel", "dlq.replay"]
    assert page(until=since) == ["job.retry"]


def test_audit_keyset_pages(viewer_client, monkeypatch):
    monkeypatch.setattr(audit_view, "PAGE_SIZE", 2)
    for i in range(5):
        entry(f"u{i}", "job.retry")
    first = viewer_client.get("/dashboard/audit/").context["page"]
    second = viewer_client.get("/dashboard/audit/", {"cursor": first.next_cursor}).context["page"]
    assert [e.actor_name for e in first.entries] == ["u4", "u3"]
    assert [e.actor_name for e in second.entries] == ["u2", "u1"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"via": "email"}, "via"),
        ({"since": "noon"}, "since"),
        ({"cursor": "%%%"}, "cursor"),
        ({"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}, "until"),
    ],
)
def test_audit_bad_filter_is_a_400_naming_it(viewer_client, params, field):
    response = viewer_client.get("/dashboard/audit/", params)
    assert (
        response.status_code == 400 and f"Bad filter value for {field}".encode() in response.content
    )


def test_audit_empty_state(viewer_client):
    assert b"No action recorded yet" in viewer_client.get("/dashboard/audit/").content


def test_api_admin_actions_are_audited_under_the_key(broker):
    _, raw = apikeys.create_api_key(name="ops-bot", scope="admin")
    dead = kill(broker, 2)
    api = Client(HTTP_X_API_KEY=raw)
    assert api.post(f"/v1/jobs/{dead[0].id}/retry").status_code == 200
    assert api.post(f"/v1/jobs/{dead[0].id}/cancel").status_code == 200
    assert api.post("/v1/replay-dlq?limit=5").status_code == 200
    rows = list(
        AuditEntry.objects.order_by("id").values_list("actor_name", "via", "action", "count")
    )
    assert rows == [
        ("key:ops-bot", "api", "job.retry", 1),
        ("key:ops-bot", "api", "job.cancel", 1),
        ("key:ops-bot", "api", "dlq.replay", 1),
    ]


def test_a_refused_api_action_is_not_audited(broker, queued_job):
    _, raw = apikeys.create_api_key(name="ops-bot", scope="admin")
    assert Client(HTTP_X_API_KEY=raw).post(f"/v1/jobs/{queued_job.id}/retry").status_code == 409
    assert not AuditEntry.objects.exists()


def test_key_commands_are_audited():
    call_command("createapikey", "nightly", "--scope", "read", stdout=StringIO())
    call_command("revokeapikey", "nightly", stdout=StringIO())
    rows = list(AuditEntry.objects.order_by("id").values_list("via", "action", "target"))
    assert rows == [("command", "key.create", "nightly"), ("command", "key.revoke", "nightly")]
    assert AuditEntry.objects.first().actor_name.startswith("shell:")
