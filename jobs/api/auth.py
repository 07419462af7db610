"""x-api-key authentication and scope checks for /v1.

Only this header authenticates: no session, no cookie, so a logged-in browser cannot be
tricked into calling the API (there is no CSRF hole to close).
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from jobs import apikeys
from jobs.models import ApiKey, ApiKeyScope

HEADER = "x-api-key"
# Missing, unknown, wrong and revoked keys all get this one answer, so a caller learns
# nothing about which keys exist.
BAD_KEY_MESSAGE = f"a valid {HEADER} header is required"

READ = "read"
SUBMIT = "submit"
ADMIN = "admin"
# What each need admits. A submit key may also read: producers poll their jobs' results.
_GRANTED_TO: dict[str, frozenset[str]] = {
    READ: frozenset({ApiKeyScope.READ, ApiKeyScope.SUBMIT, ApiKeyScope.ADMIN}),
    SUBMIT: frozenset({ApiKeyScope.SUBMIT, ApiKeyScope.ADMIN}),
    ADMIN: frozenset({ApiKeyScope.ADMIN}),
}


@dataclass(frozen=True)
class KeyUser:
    """request.user for an API call: the key, with the attributes DRF and Django expect."""

    key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[KeyUser, ApiKey] | None:
        raw = request.META.get("HTTP_X_API_KEY")
        if not raw:
            return None  # the permission check then answers 401 with the same message
        key = apikeys.authenticate(raw)
        if key is None:
            raise AuthenticationFailed(BAD_KEY_MESSAGE)
        return KeyUser(key), key

    def authenticate_header(self, request: Request) -> str:
        # A WWW-Authenticate value makes DRF answer 401 (not 403) to a missing key.
        return f'ApiKey header="{HEADER}"'


class HasScope(BasePermission):
    """The view's `scopes` maps an HTTP method to the need (READ, SUBMIT, ADMIN).

    Methods the view does not list pass here and get their 405 from the view.
    """

    message = "this API key's scope does not allow this call"

    def has_permission(self, request: Request, view: APIView) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        method = "GET" if request.method == "HEAD" else request.method
        need = getattr(view, "scopes", {}).get(method)
        return need is None or key.scope in _GRANTED_TO[need]
