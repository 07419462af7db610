"""The audit log: every admin action from the dashboard or the API, who did it, on what,
and how many jobs it changed. Written by the services' callers once an action is done;
listed newest first with keyset pages (no OFFSET, no COUNT over the table)."""

from __future__ import annotations

import base64
import getpass
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils import timezone

from jobs.errors import InvalidInput
from jobs.models import ApiKey, AuditEntry, AuditVia
from jobs.paging import keyset_page

MAX_PAGE = 200
TARGET_CHARS = 255
# The actions written today (the audit page offers them as choices; others still list).
ACTIONS = (
    "job.retry",
    "job.cancel",
    "job.delete",
    "job.run_now",
    "dlq.replay",
    "dlq.delete",
    "key.create",
    "key.revoke",
)


@dataclass(frozen=True)
class Actor:
    """A dashboard user (id and username) or an API key (its name, no user id)."""

    name: str
    user_id: int | None = None


def user_actor(user: AbstractBaseUser | AnonymousUser) -> Actor:
    return Actor(name=user.get_username(), user_id=user.pk)


def key_actor(key: ApiKey) -> Actor:
    return Actor(name=f"key:{key.name}")


def record_command(action: str, target: str, count: int, params: dict) -> None:
    """An action a management command took (createapikey, revokeapikey)."""
    record(
        actor=command_actor(),
        via="command",
        action=action,
        count=count,
        target=target,
        params=params,
    )


def command_actor() -> Actor:
    """A management command's actor: the operating-system user who ran it."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        who = "unknown"
    return Actor(name=f"shell:{who}")


def record(
    *, actor: Actor, via: str, action: str, count: int, target: str = "", params: dict | None = None
) -> AuditEntry:
    if via not in AuditVia.values:
        raise InvalidInput(f"via must be one of {', '.join(AuditVia.values)}", field="via")
    return AuditEntry.objects.create(
        actor_user_id=actor.user_id,
        actor_name=actor.name[:150],
        via=via,
        action=action,
        target=target[:TARGET_CHARS],
        count=count,
        params=params or {},
        created_at=timezone.now(),
    )


@dataclass(frozen=True)
class AuditSearch:
    """What the audit page filters on; None means "any"."""

    actor: str | None = None
    action: str | None = None
    via: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    next_cursor: str | None


def list_entries(*, search: AuditSearch, cursor: str | None = None, limit: int = 50) -> AuditPage:
    """Newest first by id (ids grow with time), `limit` a page; the cursor is the last
    id seen, opaque to the caller."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be from 1 to {MAX_PAGE}", field="limit")
    found, last = keyset_page(
        _searched(search), below=_decode(cursor) if cursor else None, limit=limit
    )
    return AuditPage(found, _encode(last) if last is not None else None)


def _searched(search: AuditSearch) -> QuerySet[AuditEntry]:
    if search.via is not None and search.via not in AuditVia.values:
        raise InvalidInput(f"unknown via; valid: {', '.join(AuditVia.values)}", field="via")
    exact = {
        "actor_name": search.actor,
        "action": search.action,
        "via": search.via,
        "created_at__gte": search.since,
        "created_at__lt": search.until,
    }
    return AuditEntry.objects.order_by("-id").filter(
        **{k: v for k, v in exact.items() if v is not None}
    )


def _encode(entry_id: int) -> str:
    return base64.urlsafe_b64encode(str(entry_id).encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(raw)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput("not a cursor this page issued", field="cursor") from None
