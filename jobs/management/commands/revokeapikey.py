from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs import audit
from jobs.apikeys import revoke_api_key


class Command(BaseCommand):
    help = "Revoke every live API key with this name."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        count = revoke_api_key(name=options["name"])
        if not count:
            raise CommandError(f"no live API key named {options['name']!r}")
        audit.record_command("key.revoke", options["name"], count, {})
        self.stdout.write(f"revoked {count} key(s)")
