import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedesk.ledger.selectors import trial_balance
from feedesk.organizations.models import Organization


class Command(BaseCommand):
    help = "Print every account's debits, credits and balance; total debits equal total credits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", help="Organization slug (default: every organization).")
        parser.add_argument("--as-of", type=datetime.date.fromisoformat, default=None)

    def handle(self, *args: object, **options: object) -> None:
        orgs = Organization.objects.order_by("pk")
        if options["organization"]:
            orgs = orgs.filter(slug=options["organization"])
        unbalanced = False
        for org in orgs:
            tb = trial_balance(organization_id=org.pk, as_of=options["as_of"])  # type: ignore[arg-type]
            self.stdout.write(f"{org.name} ({tb.currency}, minor units)")
            self.stdout.write(f"{'code':<22} {'debits':>14} {'credits':>14} {'balance':>14}  name")
            for row in tb.rows:
                self.stdout.write(
                    f"{row.code:<22} {row.debits:>14} {row.credits:>14} {row.balance:>14}  {row.name}"
                )
            self.stdout.write(f"{'TOTAL':<22} {tb.total_debits:>14} {tb.total_credits:>14}")
            unbalanced |= tb.total_debits != tb.total_credits
        if unbalanced:
            raise CommandError("total debits differ from total credits", returncode=2)
