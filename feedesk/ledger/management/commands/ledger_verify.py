import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedesk.ledger.selectors import verify_ledger


class Command(BaseCommand):
    help = "Check entries balance, cached balances match postings, the hash chain is intact and orders agree."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", type=int, default=None, help="Only this organization id.")

    def handle(self, *args: object, **options: object) -> None:
        org = options["organization"]
        report = verify_ledger(organization_id=org if isinstance(org, int) else None)
        self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        if not report.ok:
            raise CommandError(f"ledger verification failed: {len(report.problems)} problem(s)", returncode=2)
