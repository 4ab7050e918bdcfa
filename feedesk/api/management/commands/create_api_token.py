from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedesk.api.services import create_api_token
from feedesk.core.errors import DomainError
from feedesk.users.models import User


class Command(BaseCommand):
    help = "Create an API token for a staff user and print it once (only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--name", default="command line")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user named {options['username']!r}.")
        try:
            _token, raw = create_api_token(actor=None, user=user, name=options["name"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
