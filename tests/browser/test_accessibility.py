"""Every dashboard page passes axe-core (run in Chromium) with no serious or critical
violation, in the light and in the dark colour scheme.

Pages are the ones listed here with the data they need, and every other page of
dashboard/urls.py that takes no argument and answers a GET (so pages added later are
checked without a change here).
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, reverse

from dashboard import urls as dashboard_urls
from jobs import audit
from jobs.models import Job
from tests.browser.conftest import accessibility_report, screenshot
from tests.support.stack import wait_for

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

SCHEMES = ("light", "dark")
# What a prefers-color-scheme switch can break (dashboard.css changes colours only).
SCHEME_RULES = ["color-contrast", "link-in-text-block"]
# Not pages: a POST-only endpoint and the logout.
NOT_PAGES = {"logout", "login"}


def _argless_pages() -> list[str]:
    names = []
    for pattern in dashboard_urls.urlpatterns:
        if isinstance(pattern, URLResolver) or not isinstance(pattern, URLPattern):
            continue
        if pattern.name and pattern.name not in NOT_PAGES and not pattern.pattern.converters:
            names.append(pattern.name)
    return names


def _check(page, url: str, label: str, *, prepare=None) -> list[str]:
    """What axe-core finds on the page in each colour scheme (nothing: an empty list)."""
    # Asked first without rendering: an action's endpoint answers a GET with an empty 405,
    # which is not a page (and Chromium does not load an empty error response).
    probe = page.context.request.get(url, max_redirects=0)
    if probe.status == 405:
        return []
    response = page.goto(url)
    assert response.status < 500, f"{label}: {response.status}"
    if prepare:
        prepare(page)
    found = []
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        # Every rule once; in the other scheme only what a colour scheme changes.
        rules = None if scheme == SCHEMES[0] else SCHEME_RULES
        found.append(accessibility_report(page, f"{label} ({scheme})", rules))
    page.emulate_media(color_scheme="light")
    return [report for report in found if report]


def _open_all_details(page) -> None:
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")


def test_every_dashboard_page_passes_axe_core(anonymous, page, site, stack):
    stack.worker()
    dead = site.submit("demo.flaky", {"fail_times": 1}, max_attempts=1)
    done = site.submit("text.reverse", {"text": "x" * 12_000}, dedupe_key="order-17")
    site.submit("text.reverse", {"text": "later"}, delay_seconds=3600)
    wait_for(
        lambda: (
            Job.objects.filter(pk__in=[dead, done], status__in=["dead", "succeeded"]).count() == 2
        ),
        timeout=30,
        what="a dead and a succeeded job",
    )

    # Something for the audit log to show (an action a person took).
    audit.record(
        actor=audit.user_actor(site.user), via="dashboard", action="job.retry", count=1, target=dead
    )

    login = anonymous.new_page()
    problems = _check(login, site.dashboard("login/"), "login")
    login.get_by_label("Username").fill("ada")
    login.get_by_label("Password").fill("wrong-password")
    login.get_by_role("button", name="Log in").click()
    problems.append(accessibility_report(login, "login with an error"))

    pages = {
        "overview": site.dashboard(""),
        "jobs": site.dashboard("jobs/"),
        "jobs, nothing matches": site.dashboard("jobs/?type=nothing.like.this"),
        "jobs, bad filter (400)": site.dashboard("jobs/?status=bogus"),
        "missing job (404)": site.dashboard("jobs/01a2332c-0000-7000-8000-000000000000/"),
        "succeeded job, truncated payload": site.dashboard(f"jobs/{done}/"),
        "dead letters": site.dashboard("dead/"),
        "replay preview": site.dashboard("dead/replay/"),
        "bulk retry preview": site.dashboard("jobs/bulk/?action=retry&scope=all&status=dead"),
        "dead group replay preview": site.dashboard(
            "dead/bulk/?action=replay&scope=all&type=demo.flaky&error_class=RuntimeError"
        ),
    }
    listed = {url.removeprefix(site.url) for url in pages.values()}
    for name in _argless_pages():
        path = reverse(f"dashboard:{name}")
        if path not in listed:
            pages[name] = site.url + path
    for label, url in pages.items():
        problems += _check(page, url, label)
    problems += _check(page, site.dashboard(f"jobs/{dead}/"), "dead job", prepare=_open_all_details)
    page.emulate_media(color_scheme="dark")
    screenshot(page, "dead-job-dark")
    problems = [p for p in problems if p]
    assert not problems, "\n".join(problems)
