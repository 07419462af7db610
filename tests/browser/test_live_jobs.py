"""Log in, and watch jobs submitted through the API run on real workers, live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    DEADLINE_MS,
    PASSWORD,
    assert_same_document,
    mark_document,
    screenshot,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]


def test_log_in_through_the_form(anonymous, site):
    page = anonymous.new_page()
    page.goto(site.dashboard("jobs/"))
    # Anonymous: to the login page, which brings you back where you were going.
    expect(page).to_have_url(f"{site.url}/dashboard/login/?next=/dashboard/jobs/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(site.dashboard("jobs/"))
    expect(page.get_by_role("heading", name="Jobs", level=1)).to_be_visible()
    expect(page.locator(".account")).to_contain_text("ada · operator")
    screenshot(page, "login-then-jobs")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(site.dashboard("login/"))
    page.goto(site.dashboard(""))
    expect(page).to_have_url(f"{site.url}/dashboard/login/?next=/dashboard/")


def test_jobs_submitted_through_the_api_turn_succeeded_without_a_reload(page, site, stack):
    page.goto(site.dashboard("jobs/?type=text.reverse"))
    expect(page.locator("#jobs-table")).to_contain_text("No job matches this filter.")
    mark_document(page)

    # No worker yet: the rows the table's poll brings in are still waiting.
    ids = [site.submit("text.reverse", {"text": f"job {n}"}) for n in range(3)]
    rows = page.locator("#jobs-table tbody tr")
    expect(rows).to_have_count(3, timeout=DEADLINE_MS)
    expect(page.locator("#jobs-table .status-queued")).to_have_count(3)
    for job_id in ids:
        expect(page.locator(f'#jobs-table a[href="/dashboard/jobs/{job_id}/"]')).to_be_visible()

    stack.watchdog()
    stack.worker()
    expect(page.locator("#jobs-table .status-succeeded")).to_have_count(3, timeout=DEADLINE_MS)
    expect(page.locator("#jobs-table .status-queued")).to_have_count(0)
    assert_same_document(page)
    screenshot(page, "jobs-live-succeeded")

    # The row links to the job, whose result is the worker's.
    page.locator(f'#jobs-table a[href="/dashboard/jobs/{ids[0]}/"]').click()
    expect(page.locator("#job-detail .job-head .status")).to_have_text("succeeded")
    expect(page.locator("#job-detail")).to_contain_text('"0 boj"')
