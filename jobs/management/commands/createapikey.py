from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs import audit
from jobs.apikeys import create_api_key
from jobs.errors import InvalidInput
from jobs.models import ApiKeyScope


class Command(BaseCommand):
    help = "Create an API key and print it once (only its digest is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scope", choices=ApiKeyScope.values, default=ApiKeyScope.SUBMIT)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            _, raw = create_api_key(name=options["name"], scope=options["scope"])
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        audit.record_command("key.create", options["name"], 1, {"scope": options["scope"]})
        self.stdout.write(raw)
