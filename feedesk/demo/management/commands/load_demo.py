import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from feedesk.demo import data
from feedesk.demo.services import DemoLedgerBroken, demo_logins, load_demo


class Command(BaseCommand):
    help = "Load the demo school 启明教育培训中心 through the services; does nothing if it is loaded already."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--students", type=int, default=data.DEFAULT_STUDENTS, help="How many students to create."
        )
        parser.add_argument("--seed", type=int, default=2026, help="Seed of the random generator.")
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000", help="Where the demo is served, for the message."
        )

    def handle(self, *args: object, **options: object) -> None:
        students, seed = options["students"], options["seed"]
        assert isinstance(students, int) and isinstance(seed, int)
        if students < data.MIN_STUDENTS:
            raise CommandError(_("The demo needs at least %(n)s students.") % {"n": data.MIN_STUDENTS})
        started = time.monotonic()
        # With DEBUG on, Django logs every SQL statement (on SQLite with an extra query for each);
        # the load needs no query log and is a quarter faster without it.
        debug, settings.DEBUG = settings.DEBUG, False
        try:
            summary = load_demo(students=students, seed=seed)
        except DemoLedgerBroken as error:
            for problem in error.problems:
                self.stderr.write(str(problem.get("message", problem)))
            raise CommandError(_("The demo ledger did not verify; nothing was loaded.")) from error
        finally:
            settings.DEBUG = debug
        facts = {
            "name": summary.organization.name,
            "campuses": summary.campuses,
            "subjects": summary.subjects,
            "courses": summary.courses,
            "classes": summary.classes,
            "students": summary.students,
            "guardians": summary.guardians,
            "orders": summary.orders,
            "payments": summary.payments,
            "entries": summary.entries,
            "sessions": summary.sessions,
            "cancelled": summary.cancelled_sessions,
            "roll_calls": summary.roll_calls,
            "marks": summary.marks,
            "reported": summary.reported_absences,
            "renewals": summary.renewal_warnings,
        }
        if summary.created:
            self.stdout.write(
                _(
                    "Loaded %(name)s in %(seconds).1f s: %(campuses)s campuses, %(subjects)s subjects, "
                    "%(courses)s courses, %(classes)s classes, %(students)s students, %(guardians)s "
                    "guardians, %(orders)s orders, %(payments)s payments, %(entries)s journal entries "
                    "(ledger verified)."
                )
                % {**facts, "seconds": time.monotonic() - started}
            )
            self.stdout.write(
                _(
                    "Class hours: %(sessions)s sessions (%(cancelled)s cancelled), %(roll_calls)s roll "
                    "calls with %(marks)s attendance marks, %(reported)s absences reported in the portal, "
                    "%(renewals)s renewal warnings."
                )
                % facts
            )
        else:
            self.stdout.write(
                _("%(name)s is already loaded (%(students)s students, %(orders)s orders); nothing changed.")
                % facts
            )
        self.stdout.write("")
        self.stdout.write(_("DEMO credentials, for trying FeeDesk only — never use them for a real school:"))
        for label, username, password in demo_logins():
            self.stdout.write(f"  {label:<28} {username:<14} {password}")
        self.stdout.write("")
        self.stdout.write(_("Open %(url)s") % {"url": options["url"]})
