"""Operator actions in the browser: bulk-retry everything a filter matches (after the
preview), and revoke an API key, after which the API refuses it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jobs.models import AuditEntry, Job
from tests.browser.conftest import DEADLINE_MS, screenshot
from tests.support.stack import wait_for

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]


def _statuses(ids: list[str]) -> list[str]:
    return sorted(Job.objects.filter(pk__in=ids).values_list("status", flat=True))


def test_bulk_retry_of_a_filter_after_the_preview(page, site, stack):
    stack.watchdog()
    stack.worker()
    # Three flaky jobs die on their one attempt (and succeed on the next run); another
    # dead job of another type is outside the filter and must stay dead.
    flaky = [site.submit("demo.flaky", {"fail_times": 1, "n": n}, max_attempts=1) for n in range(3)]
    other = site.submit("demo.fail", {"message": "not this one"}, max_attempts=1)
    wait_for(lambda: _statuses([*flaky, other]) == ["dead"] * 4, timeout=30, what="four dead jobs")

    page.goto(site.dashboard("jobs/"))
    page.get_by_label("Status").select_option("dead")
    page.get_by_label("Type").fill("demo.flaky")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"[?&]status=dead&.*type=demo\.flaky"))  # shareable
    expect(page.locator("#jobs-table tbody tr")).to_have_count(3)
    expect(page.locator("#jobs-table")).to_contain_text("3 matching jobs")

    bulk = page.get_by_role("form", name="Bulk actions")
    bulk.get_by_label("Action").select_option("retry")
    bulk.get_by_role("button", name="all 3 matching").click()

    # The preview: how many, a sample, and nothing changed yet.
    expect(page.locator("main h1")).to_contain_text("Retry: every job the filter matches")
    expect(page.locator("main")).to_contain_text("This will retry 3 jobs")
    expect(page.locator("main tbody tr")).to_have_count(3)
    screenshot(page, "bulk-retry-preview")
    assert _statuses(flaky) == ["dead"] * 3
    page.get_by_role("button", name="Retry 3 jobs").click()

    # Back on the filtered jobs page with the notice; the retried jobs run again.
    expect(page.get_by_role("status")).to_contain_text("3 jobs retried.")
    wait_for(
        lambda: _statuses(flaky) == ["succeeded"] * 3, timeout=30, what="the retried to succeed"
    )
    page.goto(site.dashboard("jobs/?type=demo.flaky"))
    expect(page.locator("#jobs-table .status-succeeded")).to_have_count(3, timeout=DEADLINE_MS)
    assert _statuses([other]) == ["dead"]
    [entry] = AuditEntry.objects.filter(action="job.retry")
    assert (entry.count, entry.actor_name, entry.via) == (3, "ada", "dashboard")
    screenshot(page, "bulk-retry-succeeded")


def test_revoke_an_api_key_in_the_dashboard_and_the_api_refuses_it(page, site):
    # A key made in the dashboard, shown once, works on the API ...
    page.goto(site.dashboard("keys/"))
    create = page.locator("form", has=page.get_by_role("button", name="Create key"))
    create.get_by_label("Name").fill("billing-service")
    create.get_by_label("Scope").select_option("submit")
    create.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("heading", name="Key “billing-service” created")).to_be_visible()
    raw = page.locator("code.secret").inner_text().strip()
    assert raw.startswith("qy_")
    body = {"type": "text.reverse", "payload": {"text": "hi"}}
    status, answer = site.api("POST", "jobs", body, key=raw)
    assert status == 201, answer

    # ... until it is revoked there.
    row = page.locator("tbody tr", has_text="billing-service")
    expect(row.locator(".status")).to_have_text("live")
    row.get_by_role("button", name="Revoke every live key named billing-service").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked 1 key named billing-service.")
    expect(row.locator(".status")).to_have_text("revoked")
    screenshot(page, "api-key-revoked")

    status, answer = site.api("POST", "jobs", body, key=raw)
    assert status in (401, 403), (status, answer)
    # The other keys still work.
    assert site.api("GET", "queues/metrics")[0] == 200
