"""API keys, superusers only: list them, create one (its key shown once, on the answer
to the POST and nowhere else), revoke by name through jobs.apikeys, whose revocation
every API process hears at once over pub/sub."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dashboard.access import superuser_required
from dashboard.filters import text_value
from dashboard.responses import error_page
from jobs import apikeys, audit, selectors
from jobs.errors import InvalidInput
from jobs.models import ApiKeyScope, AuditVia

NAME_CHARS = 100


@superuser_required
def api_keys(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/api_keys.html", _context())


@require_POST
@superuser_required
def create_key(request: HttpRequest) -> HttpResponse:
    try:
        name = _name(request)
        key, raw = apikeys.create_api_key(name=name, scope=request.POST.get("scope", ""))
    except InvalidInput as exc:
        return error_page(request, 400, f"Bad value for {exc.field}: {exc.message}.")
    _audit(request, "key.create", key.name, {"scope": key.scope})
    response = render(request, "dashboard/api_keys.html", _context(created=(key, raw)))
    response["Cache-Control"] = "no-store"  # the one page that shows the raw key
    return response


@require_POST
@superuser_required
def revoke_key(request: HttpRequest) -> HttpResponse:
    try:
        name = _name(request)
    except InvalidInput as exc:
        return error_page(request, 400, f"Bad value for {exc.field}: {exc.message}.")
    count = apikeys.revoke_api_key(name=name)
    if not count:
        return error_page(request, 404, f"There is no live API key named {name!r}.")
    _audit(request, "key.revoke", name, {}, count=count)
    messages.success(request, f"Revoked {count} key{'s' if count != 1 else ''} named {name}.")
    return redirect("dashboard:api_keys")


def _name(request: HttpRequest) -> str:
    name = text_value(request.POST, "name")
    if name is None:
        raise InvalidInput("give the key a name", field="name")
    if len(name) > NAME_CHARS:
        raise InvalidInput(f"at most {NAME_CHARS} characters", field="name")
    return name


def _audit(request: HttpRequest, action: str, name: str, params: dict, count: int = 1) -> None:
    actor = audit.user_actor(request.user)
    audit.record(
        actor=actor, via=AuditVia.DASHBOARD, action=action, count=count, target=name, params=params
    )


def _context(created: tuple | None = None) -> dict:
    return {
        "keys": selectors.api_keys(),
        "scopes": ApiKeyScope.values,
        "created": created,
        "redis_down": not selectors.broker_available(),
    }
