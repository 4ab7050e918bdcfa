"""Payments per second through the payment service, against raw DB-API writes of the same rows.

    .venv/bin/python bench/post_payments.py [--n 2000] [--rounds 3] [--databases sqlite,postgres]

Each database runs in its own child process (Django is configured once per process, through
DATABASE_URL, before `django.setup()`). A child builds two organizations with the services — one
for the service path, one for the raw writer, so each owns its hash chain — warms up, then runs
`--rounds` rounds of N service payments and N raw payments (alternating which goes first), one
transaction per payment. Each payment is allocated across two open orders of one student. The
ledger is verified afterwards, raw writer's rows included. Ratios compare figures taken in the
same run, so other load on the machine weighs on both sides.

The last line printed is one line of JSON with the figures for every database.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pgserver import server_url

ROOT = Path(__file__).resolve().parent.parent
PG_DATABASE = "fd_bench_payments"
ALLOCATION = (10_000, 20_000)  # fen allocated to the student's first and second order per payment
ORDER_TOTAL = 10**10  # big enough that no order is paid off during a run


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Child: one database --------------------------------------------------------------------------


def prepare_database(database: str, pg_url: str) -> tuple[str, str]:
    """Create an empty database; return (DATABASE_URL, DB-API connection target)."""
    if database == "sqlite":
        path = f"/tmp/fd_bench_payments_{os.getpid()}.sqlite3"
        remove_sqlite(path)
        return f"sqlite:///{path}", path
    import psycopg

    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"{pg_url}/{PG_DATABASE}", f"{pg_url}/{PG_DATABASE}"


def drop_database(database: str, pg_url: str, target: str) -> None:
    if database == "sqlite":
        remove_sqlite(target)
        return
    import psycopg

    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


def remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(path + suffix).unlink(missing_ok=True)


def build_school(slug: str, students: int) -> dict[str, Any]:
    """An organization, a campus, a cashier and students with two open orders each."""
    from feedesk.billing.models import OrderLine
    from feedesk.billing.services import LineDraft, create_order
    from feedesk.core.permissions import Role
    from feedesk.organizations.services import create_campus, create_organization
    from feedesk.people.services import create_student
    from feedesk.users.models import User

    org = create_organization(name=f"{slug} 培训学校", slug=slug)
    campus = create_campus(organization=org, name="总部校区", code="hq")
    principal = User.objects.create_user(f"{slug}-principal", organization=org, role=Role.PRINCIPAL)
    cashier = User.objects.create_user(f"{slug}-cashier", organization=org, role=Role.CASHIER)
    roster = []
    for i in range(students):
        student = create_student(actor=principal, campus=campus, name=f"学员{i:03d}")
        orders = [
            create_order(
                actor=principal,
                student=student,
                lines=[
                    LineDraft(kind=OrderLine.Kind.OTHER, description=f"学费 {term}", unit_price=ORDER_TOTAL)
                ],
            )
            for term in ("春季", "秋季")
        ]
        roster.append((student, orders))
    return {"org": org, "campus": campus, "cashier": cashier, "roster": roster}


def raw_org_state(school: dict[str, Any]) -> Any:
    from raw_payments import RawOrder, RawOrg, RawStudent

    from feedesk.ledger.models import Account, AccountRole, ChainHead
    from feedesk.organizations.models import Counter

    org, campus = school["org"], school["campus"]
    head = ChainHead.objects.get(organization=org)
    Counter.objects.get(organization=org, name="receipt")  # the raw writer bumps an existing counter
    students = []
    for student, orders in school["roster"]:
        accounts = dict(Account.objects.filter(student=student).values_list("role", "pk"))
        students.append(
            RawStudent(
                pk=student.pk,
                receivable_id=accounts[AccountRole.RECEIVABLE],
                credit_id=accounts[AccountRole.STUDENT_CREDIT],
                orders=[RawOrder(o.pk, o.number, o.total, o.paid, str(o.status)) for o in orders],
            )
        )
    return RawOrg(
        organization_id=org.pk,
        campus_id=campus.pk,
        actor_id=school["cashier"].pk,
        cash_account_id=Account.objects.get(organization=org, role=AccountRole.CASH, campus=campus).pk,
        chain_head_id=head.pk,
        last_seq=head.last_seq,
        last_hash=head.last_hash,
        students=students,
    )


def run_one(args: argparse.Namespace) -> dict[str, Any]:
    database = args.only
    url, target = prepare_database(database, args.pg_url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["FEEDESK_DEBUG"] = "0"  # production settings: no query log on every cursor
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from raw_payments import RawPaymentWriter, connect_postgres, connect_sqlite

    from feedesk.ledger.selectors import verify_ledger
    from feedesk.payments.services import AllocationRequest, record_payment

    try:
        call_command("migrate", verbosity=0, interactive=False)
        t0 = time.perf_counter()
        service_school = build_school("svc", args.students)
        raw_school = build_school("raw", args.students)
        log(
            f"[{database}] setup: {args.students} students x 2 orders per organization "
            f"in {time.perf_counter() - t0:.1f}s"
        )

        cashier = service_school["cashier"]
        plan = [
            (student, [AllocationRequest(o.pk, a) for o, a in zip(orders, ALLOCATION, strict=True)])
            for student, orders in service_school["roster"]
        ]
        amount = sum(ALLOCATION)

        def service_batch(tag: str, n: int) -> tuple[float, float]:
            start, cpu = time.perf_counter(), time.process_time()
            for i in range(n):
                student, allocations = plan[i % len(plan)]
                record_payment(
                    actor=cashier,
                    student=student,
                    amount=amount,
                    channel="cash",
                    allocations=allocations,
                    idempotency_key=f"bench-{tag}-{i}",
                )
            return time.perf_counter() - start, time.process_time() - cpu

        raw_conn = connect_sqlite(target) if database == "sqlite" else connect_postgres(target)
        writer = RawPaymentWriter(raw_conn, database, raw_org_state(raw_school))

        def raw_batch(tag: str, n: int) -> tuple[float, float]:
            students = writer.org.students
            start, cpu = time.perf_counter(), time.process_time()
            for i in range(n):
                writer.pay(student=students[i % len(students)], amounts=ALLOCATION, key=f"bench-{tag}-{i}")
            return time.perf_counter() - start, time.process_time() - cpu

        service_batch("warmup", args.warmup)
        raw_batch("warmup", args.warmup)
        with CaptureQueriesContext(connection) as captured:
            service_batch("count", 1)
        queries = [q["sql"] for q in captured.captured_queries]

        rounds = []
        for r in range(args.rounds):
            if r % 2 == 0:
                (service_s, service_cpu), (raw_s, raw_cpu) = (
                    service_batch(f"r{r}", args.n),
                    raw_batch(f"r{r}", args.n),
                )
            else:
                (raw_s, raw_cpu), (service_s, service_cpu) = (
                    raw_batch(f"r{r}", args.n),
                    service_batch(f"r{r}", args.n),
                )
            row = {
                "service_pps": round(args.n / service_s, 1),
                "raw_pps": round(args.n / raw_s, 1),
                "ratio": round(raw_s / service_s, 3),
                # CPU of this (client) process per payment: the cost without waiting for fsync.
                "service_cpu_us": round(service_cpu / args.n * 1e6),
                "raw_cpu_us": round(raw_cpu / args.n * 1e6),
                "loadavg_1m": round(os.getloadavg()[0], 2),
            }
            rounds.append(row)
            log(
                f"[{database}] round {r + 1}: service {row['service_pps']:.0f}/s, "
                f"raw {row['raw_pps']:.0f}/s, ratio {row['ratio']:.3f}; client CPU per payment "
                f"{row['service_cpu_us']} vs {row['raw_cpu_us']} us; load {row['loadavg_1m']}"
            )
        raw_conn.close()

        t0 = time.perf_counter()
        report = verify_ledger()
        log(
            f"[{database}] verify_ledger: ok={report.ok}, {report.entries_checked} entries, "
            f"{report.accounts_checked} accounts in {time.perf_counter() - t0:.1f}s"
        )
        for problem in report.problems[:10]:
            log(f"[{database}]   {problem['message']}")

        best_service = max(r["service_pps"] for r in rounds)
        best_raw = max(r["raw_pps"] for r in rounds)
        return {
            "service_pps": best_service,
            "raw_pps": best_raw,
            "ratio": round(best_service / best_raw, 3),
            "best_round_ratio": max(r["ratio"] for r in rounds),
            "rounds": rounds,
            "queries_per_payment": len(queries),
            "queries": queries if args.show_queries else None,
            "raw_statements_per_payment": RawPaymentWriter.statements_per_payment,
            "verify_ok": report.ok,
            "entries_checked": report.entries_checked,
            "problems": len(report.problems),
        }
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database(database, args.pg_url, target)


# Parent: every database, one JSON line -------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000, help="payments per timed batch")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per database (best is reported)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed payments before timing")
    parser.add_argument("--students", type=int, default=50, help="students per organization")
    parser.add_argument("--databases", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    parser.add_argument("--pg-url", default=server_url(), help="server, no db name")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument("--show-queries", action="store_true", help="include one payment's SQL")
    parser.add_argument("--only", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.only:
        print(json.dumps(run_one(args)), flush=True)
        return 0

    started = time.time()
    results: dict[str, Any] = {}
    for database in [d.strip() for d in args.databases.split(",") if d.strip()]:
        if database == "postgres" and not pg_answers(args.pg_url):
            log(f"PostgreSQL at {args.pg_url} does not answer; skipped")
            results[database] = None
            continue
        child = [sys.executable, __file__, "--only", database, *forwarded(args)]
        done = subprocess.run(child, stdout=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            log(f"[{database}] failed with exit code {done.returncode}")
            return done.returncode
        results[database] = json.loads(done.stdout.strip().splitlines()[-1])

    summary: dict[str, Any] = {
        "benchmark": "post_payments",
        "n": args.n,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
        "seconds": round(time.time() - started, 1),
    }
    for database, figures in results.items():
        if figures is not None and figures.get("queries") is not None:
            log(f"[{database}] one payment's queries:\n  " + "\n  ".join(figures["queries"]))
        if figures is not None:
            figures.pop("queries", None)
            log(
                f"[{database}] best service {figures['service_pps']:.0f}/s, best raw "
                f"{figures['raw_pps']:.0f}/s, ratio {figures['ratio']:.3f}, "
                f"{figures['queries_per_payment']} queries per payment, verify ok={figures['verify_ok']}"
            )
        summary[database] = figures
    ok = all(f is None or f["verify_ok"] for f in results.values())
    print(json.dumps(summary), flush=True)
    return 0 if ok else 1


def forwarded(args: argparse.Namespace) -> list[str]:
    out = ["--n", str(args.n), "--rounds", str(args.rounds), "--warmup", str(args.warmup)]
    out += ["--students", str(args.students), "--pg-url", args.pg_url]
    if args.keep:
        out.append("--keep")
    if args.show_queries:
        out.append("--show-queries")
    return out


def pg_answers(pg_url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(f"{pg_url}/postgres", connect_timeout=3):
            return True
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(main())
