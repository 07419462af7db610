"""Who may see and who may act: staff see everything, operators also act.

Operators are the members of the "operators" group (dashboard/migrations/0001) and every
superuser, so the `admin` user that bootstrap_dev creates can act from the first login.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse

from dashboard.responses import database_down, error_page
from jobs.errors import StoreUnavailable

OPERATORS_GROUP = "operators"

View = Callable[..., HttpResponse]


def is_operator(user: User | AnonymousUser) -> bool:
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name=OPERATORS_GROUP).exists()


def staff_required(view: View) -> View:
    """Anonymous: to the login page. Logged in but not staff: a 403 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return _as_staff(view, request, *args, **kwargs)
        except (StoreUnavailable, OperationalError):
            # The database is down: the user lookup (request.user is lazy) or the page's
            # reads failed. A plain page that needs nothing from it, never a traceback.
            return database_down(request)

    return wrapper


def _as_staff(view: View, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not (user.is_active and user.is_staff):
        return error_page(request, 403, "The dashboard is for staff accounts only.")
    request.is_operator = is_operator(user)  # type: ignore[attr-defined]
    return view(request, *args, **kwargs)


def operator_required(view: View) -> View:
    """staff_required, and the user must be an operator (a viewer gets a 403 page)."""

    @staff_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.is_operator:  # type: ignore[attr-defined]
            return error_page(request, 403, "Only operators can act on jobs; you can view them.")
        return view(request, *args, **kwargs)

    return wrapper


def superuser_required(view: View) -> View:
    """staff_required, and the user must be a superuser (API keys): a 403 page otherwise."""

    @staff_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_superuser:
            return error_page(request, 403, "Only superusers manage API keys.")
        return view(request, *args, **kwargs)

    return wrapper
