from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from jobs import conf

# Only ever used with DEBUG on, and printed so the developer can log in.
DEV_PASSWORD = "queuey-dev"  # noqa: S105  # DEBUG-only dev login, printed on purpose  # nosec B105


class Command(BaseCommand):
    help = "Set-up for a local stack: the API key QUEUEY_DEV_API_KEY and an admin user."

    def handle(self, *args: Any, **options: Any) -> None:
        from jobs.apikeys import ensure_dev_key

        raw = conf.get("DEV_API_KEY")
        if raw:
            ensure_dev_key(raw)
            self.stdout.write(f"API key {raw!r} (admin scope) is ready")
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or (
            DEV_PASSWORD if settings.DEBUG else ""
        )
        user_model = get_user_model()
        if user_model.objects.filter(username="admin").exists():
            self.stdout.write("dashboard user 'admin' exists")
        elif not password:
            self.stdout.write("no dashboard user: set DJANGO_SUPERUSER_PASSWORD to create 'admin'")
        else:
            user_model.objects.create_superuser("admin", "admin@localhost", password)
            shown = password if password == DEV_PASSWORD else "from DJANGO_SUPERUSER_PASSWORD"
            self.stdout.write(f"dashboard user 'admin' created, password: {shown}")
