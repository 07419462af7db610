"""The jobs page's bounded scan (jobs.selectors.SCAN_ROWS): a filter no index answers
searches a window of jobs per page, says how far back it got and links on with the
filter kept in the URL; where an index answers (PostgreSQL), a window that does not
fill the page is asked of the index instead."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from dashboard.views import jobs as jobs_view
from jobs import selectors
from jobs.models import Job
from tests.support.factories import submit

pytestmark = pytest.mark.django_db


def page_of(client, params: dict):
    response = client.get("/dashboard/jobs/", params)
    assert response.status_code == 200, response.content[:500]
    return response, response.context["page"]


def further_link(response) -> str | None:
    """The cursor of the "search further" link, which must keep the filter."""
    found = re.search(rb'href="\?([^"]*)cursor=([^"]+)">Searched back to', response.content)
    return found.group(2).decode() if found else None


@pytest.fixture
def seven(db) -> list[Job]:
    """Seven jobs, oldest first; only the oldest has a payload field equal to null."""
    jobs = [submit("demo.noop", {"tag": None if i == 0 else i}) for i in range(7)]
    return jobs


def test_a_rare_match_is_found_window_by_window(viewer_client, seven, monkeypatch):
    monkeypatch.setattr(selectors, "SCAN_ROWS", 3)
    params = {"payload_key": "tag", "payload_value": "null"}  # null: no index anywhere
    response, page = page_of(viewer_client, params)
    assert page.rows == [] and page.scanned == 3 and page.next_cursor is None
    assert page.searched_back_to == selectors.id_time(seven[4].id)  # the newest 3 examined
    assert b"No job matches this filter among these jobs." in response.content
    assert b"among the 3 jobs this page searched" in response.content
    cursor = further_link(response)
    assert cursor == page.search_further
    assert b'href="?payload_key=tag&amp;payload_value=null&amp;cursor=' in response.content
    response, page = page_of(viewer_client, {**params, "cursor": cursor})  # 3 more
    assert page.rows == [] and page.searched_back_to == selectors.id_time(seven[1].id)
    response, page = page_of(viewer_client, {**params, "cursor": further_link(response)})
    # One job left below: fewer than a window, so the rest is searched whole.
    assert [r["id"] for r in page.rows] == [seven[0].id]
    assert page.scanned is None and page.search_further is None
    assert further_link(response) is None and b"1 matching job, newest first." in response.content


def test_a_window_that_fills_the_page_continues_by_the_older_link(
    viewer_client, seven, monkeypatch
):
    monkeypatch.setattr(selectors, "SCAN_ROWS", 4)
    monkeypatch.setattr(jobs_view, "PAGE_SIZE", 2)
    Job.objects.update(error="TimeoutError: upstream")
    response, page = page_of(viewer_client, {"error": "timeout"})
    assert [r["id"] for r in page.rows] == [seven[6].id, seven[5].id]
    assert page.next_cursor and page.search_further is None and further_link(response) is None
    assert page.matched == 4  # the window's matches, counted
    assert b"4 matching jobs among the 4 jobs with an error this page searched" in (
        response.content
    )
    response, page = page_of(viewer_client, {"error": "timeout", "cursor": page.next_cursor})
    assert [r["id"] for r in page.rows] == [seven[4].id, seven[3].id]


def test_error_text_window_counts_only_jobs_with_an_error(viewer_client, seven, monkeypatch):
    """The window is over the jobs that have an error (the partial index the filter
    reads), so clean jobs in between take no room in it."""
    monkeypatch.setattr(selectors, "SCAN_ROWS", 2)
    Job.objects.filter(pk__in=[seven[0].pk, seven[1].pk, seven[2].pk]).update(
        error="KeyError: 'customer_id'"
    )
    Job.objects.filter(pk=seven[0].pk).update(error="ValueError: customer 9 unknown")
    _, page = page_of(viewer_client, {"error": "valueerror"})
    if connection.vendor == "postgresql":
        # The trigram index answers: the window did not fill the page, so the index
        # was asked, and found the match at once.
        assert [r["id"] for r in page.rows] == [seven[0].id] and page.scanned is None
        return
    # SQLite: the newest two jobs with an error (seven[2], seven[1]), then the rest.
    assert page.rows == [] and page.searched_back_to == selectors.id_time(seven[1].id)
    _, page = page_of(viewer_client, {"error": "valueerror", "cursor": page.search_further})
    assert [r["id"] for r in page.rows] == [seven[0].id]


def test_payload_value_on_postgresql_asks_the_index_when_the_window_is_short(
    viewer_client, seven, monkeypatch
):
    monkeypatch.setattr(selectors, "SCAN_ROWS", 3)
    _, page = page_of(viewer_client, {"payload_key": "tag", "payload_value": "1"})
    if connection.vendor == "postgresql":  # the GIN containment answers
        assert [r["id"] for r in page.rows] == [seven[1].id] and page.scanned is None
    else:
        assert page.rows == [] and page.search_further and page.scanned == 3


def found_all(client, params: dict) -> list:
    """Every match, following "search further" to the oldest job."""
    found, cursor = [], None
    while True:
        _, page = page_of(client, {**params, "cursor": cursor} if cursor else params)
        found += [r["id"] for r in page.rows]
        cursor = page.search_further or page.next_cursor
        if not cursor:
            return found


def test_a_window_matches_the_text_literally(viewer_client, monkeypatch):
    """% and _ in the error text are themselves, in a window as without one."""
    full = submit("demo.noop", {})
    near = submit("demo.noop", {})
    for _ in range(3):
        submit("demo.noop", {})
    Job.objects.filter(pk=full.pk).update(error="OSError: disk 100% full")
    Job.objects.filter(pk=near.pk).update(error="OSError: disk 1000 full")
    Job.objects.exclude(pk__in=[full.pk, near.pk]).update(error="OSError: gone")
    for scan in (1, 1000):  # a window of one job with an error; no window
        monkeypatch.setattr(selectors, "SCAN_ROWS", scan)
        assert found_all(viewer_client, {"error": "100%"}) == [full.id], scan
        assert found_all(viewer_client, {"error": "sk_100"}) == [], scan


def test_bulk_on_a_bounded_scan_does_not_claim_the_window_count(
    operator_client, seven, monkeypatch
):
    """The window's count is not what "all matching" acts on (the preview counts that)."""
    monkeypatch.setattr(selectors, "SCAN_ROWS", 3)
    Job.objects.update(payload={"tag": None})
    params = {"payload_key": "tag", "payload_value": "null"}  # no index anywhere
    response, page = page_of(operator_client, params)
    assert page.scanned == 3 and page.matched == 3
    assert "…all jobs matching</button>" in response.content.decode()
    monkeypatch.setattr(selectors, "SCAN_ROWS", 100)  # no window: the count is exact
    response, _ = page_of(operator_client, params)
    assert "…all 7 matching</button>" in response.content.decode()
