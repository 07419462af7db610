"""Bulk actions: a GET previews (how many, and a sample), a POST of the preview's form
acts on at most that many, through jobs.bulk_actions. One view per page that offers
them; each names its actions, how it reads its target and where it goes back to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from dashboard import bulk_forms
from dashboard.access import operator_required
from dashboard.responses import error_page
from jobs import audit, bulk_actions
from jobs.bulk_actions import Target
from jobs.errors import InvalidInput, StoreUnavailable
from jobs.models import AuditVia

# What each action is called on a button and in the notice after it.
VERBS = {
    "retry": ("Retry", "retried"),
    "run_now": ("Run now", "queued to run now"),
    "replay": ("Replay", "replayed"),
    "cancel": ("Cancel", "cancelled"),
    "delete": ("Delete", "deleted"),
}


@dataclass(frozen=True)
class Page:
    title: str
    back: str  # URL name
    actions: dict[str, str]  # action -> audit name
    read: Callable[[QueryDict], Target]
    fields: tuple[str, ...]


JOBS = Page(
    "Jobs",
    "dashboard:jobs",
    {"retry": "job.retry", "cancel": "job.cancel", "delete": "job.delete"},
    bulk_forms.jobs_target,
    bulk_forms.JOBS_FIELDS,
)
DEAD = Page(
    "Dead letters",
    "dashboard:dead_letters",
    {"replay": "dlq.replay", "delete": "dlq.delete"},
    bulk_forms.dead_target,
    bulk_forms.DEAD_FIELDS,
)
WAITING = Page(
    "Scheduled and retrying",
    "dashboard:scheduled",
    {"run_now": "job.run_now"},
    bulk_forms.waiting_target,
    (),
)


def _view(page: Page) -> Callable[[HttpRequest], HttpResponse]:
    @require_http_methods(["GET", "POST"])
    @operator_required
    def view(request: HttpRequest) -> HttpResponse:
        params = request.POST if request.method == "POST" else request.GET
        try:
            action = _action_of(page, params)
            target = page.read(params)
            if request.method == "POST":
                return _run(request, page, action, target, bulk_forms.expected_count(params))
            return _preview(request, page, action, target, params)
        except InvalidInput as exc:
            return error_page(request, 400, f"Bad value for {exc.field}: {exc.message}.")

    return view


def _action_of(page: Page, params: QueryDict) -> str:
    action = params.get("action", "")
    if action not in page.actions:
        raise InvalidInput(f"one of {', '.join(page.actions)}", field="action")
    return action


def _preview(
    request: HttpRequest, page: Page, action: str, target: Target, params: QueryDict
) -> HttpResponse:
    found = bulk_actions.preview(action=action, target=target)
    context = {
        "page": page,
        "action": action,
        "verb": VERBS[action][0],
        "preview": found,
        "selected": target.job_ids is not None,
        "carried": bulk_forms.carried(params, page.fields),
        "back_url": _back_url(page, params),
        "post_url": request.path,
    }
    return render(request, "dashboard/bulk_preview.html", context)


def _run(
    request: HttpRequest, page: Page, action: str, target: Target, expected: int
) -> HttpResponse:
    try:
        done = bulk_actions.run(
            action=action,
            target=target,
            expected=expected,
            actor=audit.user_actor(request.user),
            via=AuditVia.DASHBOARD,
            audit_name=page.actions[action],
        )
    except StoreUnavailable as exc:
        messages.error(request, f"Stopped: {exc.message}. What was done is in the audit log.")
    else:
        messages.success(request, _notice(action, done))
    return redirect(_back_url(page, request.POST))


def _notice(action: str, done: bulk_actions.Done) -> str:
    text = f"{done.changed:,} job{'s' if done.changed != 1 else ''} {VERBS[action][1]}."
    if done.skipped:
        why = "running (cancel them first)" if action == "delete" else "changed meanwhile"
        text += f" {done.skipped:,} left alone: {why}."
    return text


def _back_url(page: Page, params: QueryDict) -> str:
    """Back to the page, with its filter (the jobs page's URL holds it)."""
    query = QueryDict(mutable=True)
    for name, value in bulk_forms.carried(params, page.fields):
        if name not in {"action", "scope", "ids"} and name in page.fields and page is JOBS:
            query.appendlist(name, value)
    url = reverse(page.back)
    return f"{url}?{query.urlencode()}" if query else url


jobs_bulk = _view(JOBS)
dead_bulk = _view(DEAD)
waiting_bulk = _view(WAITING)
