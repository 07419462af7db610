from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from jobs import conf
from jobs.apikeys import ensure_dev_key

DEV_PASSWORD = "queuey-dev"


class Command(BaseCommand):
    help = "Development set-up: the API key from QUEUEY_DEV_API_KEY and an admin user."

    def handle(self, *args, **options) -> None:
        raw = conf.get("DEV_API_KEY")
        if raw:
            ensure_dev_key(raw)
            self.stdout.write(f"API key {raw!r} (admin scope) is ready")
        user_model = get_user_model()
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or DEV_PASSWORD
        if not user_model.objects.filter(username="admin").exists():
            user_model.objects.create_superuser("admin", "admin@localhost", password)
            shown = "from DJANGO_SUPERUSER_PASSWORD" if password != DEV_PASSWORD else password
            self.stdout.write(f"dashboard user 'admin' created, password: {shown}")
        else:
            self.stdout.write("dashboard user 'admin' exists")
