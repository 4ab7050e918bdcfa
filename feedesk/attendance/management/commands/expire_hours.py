import datetime
import json

from django.core.management.base import BaseCommand, CommandParser

from feedesk.attendance.services import expire_enrolments


class Command(BaseCommand):
    help = (
        "Recognise the deferred tuition of enrolments past their validity date (courses with expiry). "
        "Safe to re-run: each enrolment's EXPIRY entry has a fixed idempotency key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=None, help="YYYY-MM-DD")
        parser.add_argument("--organization", type=int, default=None, help="Only this organization id.")

    def handle(self, *args: object, **options: object) -> None:
        as_of = options["as_of"]
        org = options["organization"]
        expired = expire_enrolments(
            as_of=as_of if isinstance(as_of, datetime.date) else None,
            organization_id=org if isinstance(org, int) else None,
        )
        self.stdout.write(json.dumps({"expired": len(expired), "enrolment_ids": expired}))
