"""The dashboard in a real headless Chromium (Debian's `chromium`, driven by Playwright),
served by pytest-django's live server, with real worker and watchdog processes and the
suite's Redis.

scripts/ensure_browser.sh installs what these tests need and `make test` runs it:
Debian's chromium (/usr/bin/chromium; Playwright's own browser builds are never
downloaded) and the axe-core npm package under var/axe-core/. Without them the tests are
skipped, except under CI=true, where they fail.

Screenshots go to var/screenshots/<test>-<database>.png (git-ignored; the SQLite and the
PostgreSQL passes of scripts/test.sh run side by side, so each backend has its own).
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from jobs.apikeys import create_api_key
from tests.support.stack import ROOT, Stack

CHROMIUM = Path(os.environ.get("QUEUEY_TEST_CHROMIUM", "/usr/bin/chromium"))
AXE_JS = ROOT / "var" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
# NOTES.md: the flags Debian's chromium needs here (root, no GPU, no phoning home).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: the two backends' passes, their workers and two Chromiums share 2 cores.
DEADLINE_MS = 30_000
PASSWORD = "ada-pass-123"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing"
    if not AXE_JS.exists():
        return f"{AXE_JS.relative_to(ROOT)} is missing"
    return None


@pytest.fixture(scope="package")
def browser():
    why = _missing()
    if why:
        message = f"{why}: run scripts/ensure_browser.sh (make test does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, and Django then
    # refuses ORM calls from it; the test's own reads are plain synchronous code, so the
    # check is lifted for as long as Playwright runs (this package only).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def stack(transactional_db, request):
    s = Stack()
    yield s
    s.stop()
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        print(s.logs())


@dataclass
class Site:
    """The live server, a superuser (operators act; superusers also manage keys) and an
    API key to submit with."""

    url: str
    user: User
    api_key: str

    def dashboard(self, path: str = "") -> str:
        return f"{self.url}/dashboard/{path}"

    def api(self, method: str, path: str, body: object = None, key: str | None = None):
        """(status, JSON body) of a /v1 call with an x-api-key, as a client would make it."""
        request = urllib.request.Request(
            f"{self.url}/v1/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"x-api-key": key or self.api_key, "content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def submit(self, type: str, payload: dict, **options) -> str:
        status, body = self.api("POST", "jobs", {"type": type, "payload": payload, **options})
        assert status == 201, (status, body)
        return body["job_id"]


@pytest.fixture
def site(live_server, transactional_db) -> Site:
    user = User.objects.create_superuser("ada", "ada@example.com", PASSWORD)
    _, raw = create_api_key(name="browser-tests", scope="admin")
    return Site(url=live_server.url, user=user, api_key=raw)


@pytest.fixture
def context(browser, site):
    """A fresh browser profile at desktop width, logged in (the session cookie of a real
    login through Django's test client; test_login logs in through the form)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(DEADLINE_MS)
    client = Client()
    client.force_login(site.user)
    host = site.url.split("://", 1)[1].split(":")[0]
    ctx.add_cookies(
        [
            {"name": name, "value": morsel.value, "domain": host, "path": "/"}
            for name, morsel in client.cookies.items()
        ]
    )
    yield ctx
    ctx.close()


@pytest.fixture
def anonymous(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(DEADLINE_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


def mark_document(page) -> None:
    """Leave a mark on this document; a reload or a navigation would erase it."""
    page.evaluate("window.__queueyMark = 'same document'")


def assert_same_document(page) -> None:
    assert page.evaluate("window.__queueyMark") == "same document", "the page was reloaded"


# --- screenshots ------------------------------------------------------------------------
# Decoded by Chromium itself in a blank page (createImageBitmap): luminance spread and the
# number of distinct colours on a grid of samples. A blank or single-colour capture (a
# page that failed to paint) has a spread near 0 and a handful of colours.
_IMAGE_STATS = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], {type: 'image/png'}));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
  let n = 0, sum = 0, sumSq = 0;
  const colours = new Set();
  const step = 3;
  for (let y = 0; y < bitmap.height; y += step) {
    for (let x = 0; x < bitmap.width; x += step) {
      const i = (y * bitmap.width + x) * 4;
      const lum = 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
      n += 1; sum += lum; sumSq += lum * lum;
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
  }
  const mean = sum / n;
  return {width: bitmap.width, height: bitmap.height,
          stddev: Math.sqrt(Math.max(0, sumSq / n - mean * mean)), colours: colours.size};
}"""


def screenshot(page, name: str, *, full_page: bool = True) -> dict:
    """Save var/screenshots/<name>-<database>.png and check that it shows something."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{connection.vendor}.png"
    png = page.screenshot(path=str(path), full_page=full_page)
    assert png[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    decoder = page.context.new_page()
    try:
        stats = decoder.evaluate(_IMAGE_STATS, base64.b64encode(png).decode())
    finally:
        decoder.close()
    assert stats["stddev"] > 8 and stats["colours"] > 16, f"{path} looks blank: {stats}"
    return stats


# --- accessibility ----------------------------------------------------------------------
BLOCKING_IMPACTS = {"serious", "critical"}


def axe_violations(page, rules: list[str] | None = None) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (all rules, or
    only `rules`)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    options: dict = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    result = page.evaluate(
        """async (options) => {
          const r = await axe.run(document, options);
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' +
              (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 300))}));
        }""",
        options,
    )
    return [v for v in result if v["impact"] in BLOCKING_IMPACTS]


def accessibility_report(page, label: str, rules: list[str] | None = None) -> str:
    """'' when axe-core finds nothing serious or critical, else what it found."""
    found = axe_violations(page, rules)
    lines = [f"axe-core on {label} ({page.url}):"]
    for v in found:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        lines.extend(f"    {node}" for node in v["nodes"])
    return "\n".join(lines) if found else ""


def assert_accessible(page, label: str) -> None:
    report = accessibility_report(page, label)
    assert not report, report


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
