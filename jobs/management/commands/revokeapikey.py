from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from jobs.apikeys import revoke_api_key


class Command(BaseCommand):
    help = "Revoke every live API key with this name."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name")

    def handle(self, *args, **options) -> None:
        count = revoke_api_key(name=options["name"])
        if not count:
            raise CommandError(f"no live API key named {options['name']!r}")
        self.stdout.write(f"revoked {count} key(s)")
