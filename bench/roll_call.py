"""Benchmark: generating a year of sessions for 2,000 classes, then 1,000 roll calls of 20 students.

    .venv/bin/python bench/roll_call.py                 # SQLite, and PostgreSQL when it answers
    .venv/bin/python bench/roll_call.py --db sqlite --sessions 200

SQLite runs in a temporary file with the production settings (WAL, synchronous=FULL). PostgreSQL
runs in its own database `fd_bench_rollcall`, created and dropped here. Each backend runs in a
child process so Django is configured once per database. The last line printed is one JSON object.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pgserver import server_url

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = f"{server_url()}/postgres"
PG_DB = "fd_bench_rollcall"


def child(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from decimal import Decimal

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from feedesk.attendance.models import Session
    from feedesk.attendance.services import Mark, generate_sessions, save_absence_reason, take_roll_call
    from feedesk.catalog.services import create_class, create_course, create_subject
    from feedesk.enrolment.services import enrol_student
    from feedesk.ledger.selectors import verify_ledger
    from feedesk.organizations.services import create_campus, create_organization
    from feedesk.people.services import create_student
    from feedesk.users.models import User

    org = create_organization(name="基准学校", slug="bench")
    campus = create_campus(organization=org, name="校区", code="hq")
    boss = User(username="boss", organization=org, role="principal")
    boss.set_unusable_password()
    boss.save()
    teacher = User(username="teacher", organization=org, role="instructor")
    teacher.set_unusable_password()
    teacher.save()
    subject = create_subject(actor=boss, code="math", name="数学")
    course = create_course(
        actor=boss,
        subject=subject,
        name="课包",
        price_model="package",
        package_hours=Decimal(48),
        package_price=576_000,
        gift_hours=Decimal(4),
    )
    save_absence_reason(actor=boss, code="sick", name="病假", name_en="Sick", rule="no_deduct")
    save_absence_reason(actor=boss, code="no_show", name="旷课", name_en="No show", rule="deduct")
    year_start, year_end = datetime.date(2026, 1, 1), datetime.date(2026, 12, 31)
    classes = [
        create_class(
            actor=boss,
            course=course,
            campus=campus,
            name=f"班{i}",
            instructor=teacher,
            capacity=args.students,
            start_date=year_start,
            end_date=year_end,
            schedule=[
                (i % 5, datetime.time(18), datetime.time(19)),
                (5, datetime.time(9), datetime.time(10)),
            ],
        )
        for i in range(args.classes)
    ]
    started = time.perf_counter()
    generated = sum(generate_sessions(actor=boss, class_group=c).created for c in classes)
    generate_seconds = time.perf_counter() - started

    per_class = 20
    roll_classes = classes[: max(1, args.sessions // per_class)]
    sessions = []
    students_by_class = {}
    for klass in roll_classes:
        students = []
        for s in range(args.students):
            student = create_student(actor=boss, campus=campus, name=f"学生{klass.pk}-{s}")
            enrol_student(actor=boss, student=student, class_group=klass)
            students.append(student.pk)
        students_by_class[klass.pk] = students
        sessions += list(
            Session.objects.filter(class_group=klass, date__lte=datetime.date(2026, 11, 1)).order_by("date")[
                :per_class
            ]
        )
    sessions = sessions[: args.sessions]
    now = datetime.datetime(2026, 12, 31, tzinfo=datetime.UTC)
    started, cpu_started = time.perf_counter(), time.process_time()
    for n, session in enumerate(sessions):
        ids = students_by_class[session.class_group_id]
        marks = [
            Mark(pk, "present")
            if (pk + n) % 10
            else Mark(pk, "leave", "sick")
            if (pk + n) % 20
            else Mark(pk, "absent", "no_show")
            for pk in ids
        ]
        take_roll_call(actor=teacher, session=session, marks=marks, now=now)
    roll_seconds = time.perf_counter() - started
    # This process's CPU (Python, and SQLite's work in-process), without the waits for the disk.
    roll_cpu = time.process_time() - cpu_started
    report = verify_ledger()
    from django.db import connection

    return {
        "vendor": connection.vendor,
        "classes": len(classes),
        "sessions_generated": generated,
        "generate_seconds": round(generate_seconds, 2),
        "sessions_generated_per_s": round(generated / generate_seconds),
        "classes_generated_per_s": round(len(classes) / generate_seconds, 1),
        "roll_calls": len(sessions),
        "students_per_roll_call": args.students,
        "roll_call_seconds": round(roll_seconds, 2),
        "roll_calls_per_s": round(len(sessions) / roll_seconds, 1),
        "marks_per_s": round(len(sessions) * args.students / roll_seconds),
        "roll_call_cpu_ms": round(1000 * roll_cpu / len(sessions), 2),
        "ledger_ok": report.ok,
        "entries": report.entries_checked,
    }


def run_backend(name: str, argv: list[str]) -> dict | None:
    env = {**os.environ, "FEEDESK_DEBUG": "0", "FEEDESK_SECURE_COOKIES": "0"}
    tmp = None
    if name == "sqlite":
        tmp = tempfile.TemporaryDirectory()
        env["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
    else:
        import psycopg

        try:
            admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError:
            return None
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
        admin.execute(f"CREATE DATABASE {PG_DB}")
        env["DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}"
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", *argv],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if tmp is not None:
            tmp.cleanup()
        else:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sessions", type=int, default=1000, help="roll calls to time")
    parser.add_argument("--students", type=int, default=20, help="students per roll call")
    parser.add_argument(
        "--classes", type=int, default=2000, help="classes to generate a year of sessions for"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    argv = [
        "--sessions",
        str(args.sessions),
        "--students",
        str(args.students),
        "--classes",
        str(args.classes),
    ]
    results = {}
    for name in ("sqlite", "postgres"):
        if args.db in (name, "both"):
            result = run_backend(name, argv)
            if result is None:
                print(f"{name}: not reachable, skipped", file=sys.stderr)
                continue
            results[name] = result
            print(
                f"{name}: {result['roll_calls_per_s']} roll calls/s ({result['marks_per_s']} marks/s, "
                f"{result['roll_call_cpu_ms']} ms client CPU each); "
                f"{result['sessions_generated']} sessions for {result['classes']} classes in "
                f"{result['generate_seconds']} s ({result['sessions_generated_per_s']} sessions/s)",
                file=sys.stderr,
            )
    print(json.dumps({"benchmark": "roll_call", **results}))


if __name__ == "__main__":
    main()
