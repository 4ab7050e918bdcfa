from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from feedesk.gateways.services import poll_pending_payments


class Command(BaseCommand):
    help = "Query the provider for online payments still waiting after N minutes (finds lost callbacks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, default=5, help="minutes since the payment was started")
        parser.add_argument("--limit", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        report = poll_pending_payments(older_than_minutes=options["older_than"], limit=options["limit"])
        self.stdout.write(
            f"checked {report.checked}, succeeded {report.succeeded}, still pending {report.still_pending}"
        )
