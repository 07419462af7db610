"""The overview at phone width (390 px): it fits, and it stays live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (
    DEADLINE_MS,
    assert_same_document,
    mark_document,
    screenshot,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}


def _stat(page, label: str):
    card = page.locator(".card.stat", has=page.locator(".label", has_text=label))
    return card.locator(".value")


def test_overview_at_phone_width_fits_and_refreshes_live(browser, context, site, stack):
    page = context.new_page()
    page.set_viewport_size(PHONE)
    site.submit("text.reverse", {"text": "one"})
    site.submit("text.reverse", {"text": "two"}, queue="high")
    page.goto(site.dashboard(""))
    expect(_stat(page, "Jobs")).to_have_text("2")
    expect(_stat(page, "Workers online")).to_have_text("0")
    mark_document(page)

    # Nothing wider than the screen: no sideways scrolling of the page itself (wide
    # tables scroll inside their own box).
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the overview is {overflow}px wider than a 390px screen"
    for box in page.locator("main .card").all():
        right = box.evaluate("el => el.getBoundingClientRect().right")
        assert right <= PHONE["width"], f"a card ends at {right}px"

    # Live: a worker comes online and runs both; the page follows without a reload.
    stack.worker()
    expect(_stat(page, "Workers online")).to_have_text("1", timeout=DEADLINE_MS)
    succeeded = page.locator("tr", has=page.locator("th .status-succeeded")).locator("td").first
    expect(succeeded).to_have_text("2", timeout=DEADLINE_MS)
    site.submit("text.reverse", {"text": "three"})
    expect(_stat(page, "Jobs")).to_have_text("3", timeout=DEADLINE_MS)
    assert_same_document(page)
    screenshot(page, "overview-phone")
