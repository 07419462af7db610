"""A job dies on a real worker; the operator reads why, replays it from Dead letters after
the preview, and watches it succeed."""

from __future__ import annotations

import signal

import pytest
from playwright.sync_api import expect

from jobs.models import Job
from tests.browser.conftest import DEADLINE_MS, assert_same_document, mark_document, screenshot
from tests.support.stack import wait_for

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]


def _status(job_id: str) -> str:
    return Job.objects.values_list("status", flat=True).get(pk=job_id)


def test_read_a_dead_job_then_replay_it_after_the_preview_and_watch_it_succeed(page, site, stack):
    stack.watchdog()
    worker = stack.worker()
    # demo.flaky fails its first attempt; with a budget of one attempt that is death.
    job_id = site.submit("demo.flaky", {"fail_times": 1}, max_attempts=1)
    wait_for(lambda: _status(job_id) == "dead", timeout=30, what="the job to die")
    # The replayed run must wait for a worker, so the page can be seen to change.
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=20)

    page.goto(site.dashboard("dead/"))
    why = page.locator("section.card", has=page.get_by_role("heading", name="Why they died"))
    group = why.locator("tbody tr", has_text="demo.flaky")
    expect(group).to_contain_text("RuntimeError")
    expect(group.locator("td.num")).to_have_text("1")

    # Open it from the latest dead jobs.
    page.locator(f'a[href="/dashboard/jobs/{job_id}/"]').click()
    detail = page.locator("#job-detail")
    expect(detail.locator(".job-head .status")).to_have_text("dead")
    expect(detail).to_contain_text("RuntimeError: demo.flaky: failing attempt 1 on purpose")
    attempt = detail.locator("li.attempt")
    expect(attempt).to_have_count(1)
    expect(attempt.locator(".attempt-head")).to_contain_text("#1")
    expect(attempt.locator(".status")).to_have_text("failed")
    expect(attempt).to_contain_text(f"(pid {worker.pid})")
    traceback = attempt.locator("details pre")
    expect(traceback).to_be_hidden()
    attempt.locator("details summary", has_text="Traceback").click()
    expect(traceback).to_be_visible()
    expect(traceback).to_contain_text("Traceback (most recent call last)")
    expect(traceback).to_contain_text("in flaky")
    screenshot(page, "dead-job-traceback")

    # Replay all: the preview says how many first, and nothing moves before the confirm.
    page.get_by_role("link", name="Dead letters", exact=True).click()
    page.get_by_role("link", name="Replay all dead jobs…").click()
    expect(page.get_by_role("heading", name="Replay dead jobs")).to_be_visible()
    expect(page.locator("main")).to_contain_text("This moves 1 dead job,")
    screenshot(page, "replay-preview")
    assert _status(job_id) == "dead"
    page.get_by_role("button", name="Replay 1 job").click()
    expect(page).to_have_url(site.dashboard("dead/"))
    expect(page.get_by_role("status")).to_have_text("Replayed 1 dead job.")
    expect(page.locator("main")).to_contain_text("No dead jobs.")

    # The job waits for a worker; its page polls and turns succeeded once one runs it.
    page.goto(site.dashboard(f"jobs/{job_id}/"))
    expect(detail.locator(".job-head .status")).to_have_text("queued")
    mark_document(page)
    stack.worker()
    expect(detail.locator(".job-head .status")).to_have_text("succeeded", timeout=DEADLINE_MS)
    assert_same_document(page)
    expect(detail.get_by_role("heading", name="Run 2 (current)")).to_be_visible()
    expect(detail.locator("li.attempt .status")).to_have_text(["succeeded", "failed"])
    expect(detail).to_contain_text('"ok"')
    screenshot(page, "replayed-job-succeeded")
