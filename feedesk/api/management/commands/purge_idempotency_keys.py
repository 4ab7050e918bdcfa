import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedesk.api.services import purge_idempotency_keys
from feedesk.core.errors import DomainError


class Command(BaseCommand):
    help = "Delete idempotency keys older than --hours (at least 24). Safe to re-run; run it periodically."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--hours", type=int, default=24)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            deleted = purge_idempotency_keys(older_than=datetime.timedelta(hours=options["hours"]))
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{deleted} idempotency keys deleted")
